// Steady state allocates nothing: once an encoder or decoder has seen a batch
// of a given shape, encoding and decoding other batches of that shape (other
// addresses, ports, marks; whole or split across reads) makes no heap
// allocation. Measured with a counting global operator new in this binary.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "statesync/wire/frame_decoder.h"
#include "statesync/wire/frame_encoder.h"
#include "statesync/wire/wire_samples.h"

namespace {

std::atomic<uint64_t> g_allocations{0};

void* CountedAllocate(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t size) { return CountedAllocate(size); }
void* operator new[](std::size_t size) { return CountedAllocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace hafw::statesync {
namespace {

constexpr size_t kBatchRecords = 64;

// Allocations made by `work`.
template <typename Work>
uint64_t AllocationsOf(Work work) {
  const uint64_t before = g_allocations.load();
  work();
  return g_allocations.load() - before;
}

void* volatile g_sink = nullptr;  // keeps the probe allocation from being elided

TEST(FrameAllocTest, CounterSeesAllocations) {
  EXPECT_GE(AllocationsOf([] {
              std::vector<int> probe(1000);
              g_sink = probe.data();
            }),
            1U);
}

TEST(FrameAllocTest, SteadyStateEncodeAllocatesNothing) {
  FrameEncoder encoder;
  std::vector<uint8_t> out;
  out.reserve(1 << 20);
  const std::vector<ExpectEntry> expectations = SampleExpectations();
  // Warm: the first batch creates the reused message objects.
  ASSERT_TRUE(encoder
                  .Encode(BatchHeader{1, BatchKind::kLive, 0, 0}, SampleFlowBatch(kBatchRecords, 0),
                          expectations, out)
                  .has_value());
  for (uint32_t salt = 1; salt <= 20; ++salt) {
    const std::vector<FlowEntry> flows = SampleFlowBatch(kBatchRecords, salt);
    const BatchHeader header{salt + 1, salt % 2 ? BatchKind::kLive : BatchKind::kRefresh, 0, salt};
    bool ok = false;
    const uint64_t allocations = AllocationsOf([&] {
      out.clear();
      ok = encoder.Encode(header, flows, expectations, out).has_value();
    });
    ASSERT_TRUE(ok);
    EXPECT_EQ(allocations, 0U) << "salt " << salt;
  }
  // Control frames too, after their first use.
  const Hello hello = SampleHello();
  const Heartbeat heartbeat = SampleHeartbeat();
  for (int round = 0; round < 3; ++round) {
    const uint64_t allocations = AllocationsOf([&] {
      out.clear();
      (void)encoder.Encode(hello, out);
      (void)encoder.Encode(heartbeat, out);
      (void)encoder.Encode(SampleAck(), out);
      (void)encoder.Encode(SampleBulkRequest(), out);
      (void)encoder.Encode(SampleBulkStart(), out);
      (void)encoder.Encode(SampleBulkEnd(), out);
    });
    if (round > 0) {
      EXPECT_EQ(allocations, 0U) << "round " << round;
    }
  }
}

TEST(FrameAllocTest, SteadyStateDecodeAllocatesNothing) {
  FrameEncoder encoder;
  const std::vector<ExpectEntry> expectations = SampleExpectations();
  // Streams prepared up front: each a batch, a heartbeat and an ack.
  std::vector<std::vector<uint8_t>> streams;
  for (uint32_t salt = 0; salt <= 20; ++salt) {
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(encoder
                    .Encode(BatchHeader{salt + 1, BatchKind::kLive, 0, 0},
                            SampleFlowBatch(kBatchRecords, salt), expectations, bytes)
                    .has_value());
    ASSERT_TRUE(encoder.Encode(SampleHeartbeat(), bytes).has_value());
    ASSERT_TRUE(encoder.Encode(SampleAck(), bytes).has_value());
    streams.push_back(std::move(bytes));
  }
  FrameDecoder decoder;
  size_t frames = 0;
  const auto decode = [&](const std::vector<uint8_t>& bytes, size_t chunk) {
    for (size_t at = 0; at < bytes.size(); at += chunk) {
      std::span<const uint8_t> input =
          std::span(bytes).subspan(at, std::min(chunk, bytes.size() - at));
      DecodeStatus status;
      while ((status = decoder.Decode(input)) == DecodeStatus::kFrame) ++frames;
      if (status == DecodeStatus::kError) return false;
    }
    return true;
  };
  // Warm: one whole stream and one split (the reassembly buffer).
  ASSERT_TRUE(decode(streams[0], streams[0].size()));
  ASSERT_TRUE(decode(streams[1], 7));
  for (size_t i = 2; i < streams.size(); ++i) {
    const size_t chunk = i % 2 ? streams[i].size() : 1 + i * 13;
    bool ok = false;
    const uint64_t allocations = AllocationsOf([&] { ok = decode(streams[i], chunk); });
    ASSERT_TRUE(ok) << WireDropReasonName(decoder.Failure().value_or(WireDropReason::kCount));
    EXPECT_EQ(allocations, 0U) << "stream " << i << " in chunks of " << chunk;
  }
  EXPECT_EQ(frames, 3 * streams.size());
}

}  // namespace
}  // namespace hafw::statesync
