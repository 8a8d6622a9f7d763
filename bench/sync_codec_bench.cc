// Sync wire codec microbenchmark: encode and decode of a 64-record batch of
// mixed flows (statesync/wire/wire_samples.h: both families, TCP with NAT,
// helper and sequence adjustment, UDP, ICMP, SCTP, GRE, destroys), with the
// reused encoder/decoder and output buffer of the real send and receive paths.
// Reported per record ("ns_per_record") and as records per second.
//   build/bench/sync_codec_bench --benchmark_min_time=2

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "statesync/wire/frame_decoder.h"
#include "statesync/wire/frame_encoder.h"
#include "statesync/wire/wire_samples.h"

namespace hafw::statesync {
namespace {

constexpr size_t kRecords = 64;

void SetPerRecordCounters(benchmark::State& state, size_t frame_bytes) {
  const auto records = static_cast<int64_t>(state.iterations() * kRecords);
  state.SetItemsProcessed(records);
  state.counters["ns_per_record"] = benchmark::Counter(
      static_cast<double>(records), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["frame_bytes"] = static_cast<double>(frame_bytes);
}

void BM_EncodeBatch64(benchmark::State& state) {
  const std::vector<FlowEntry> flows = SampleFlowBatch(kRecords, 1);
  FrameEncoder encoder;
  std::vector<uint8_t> out;
  out.reserve(1 << 16);
  uint64_t seq = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): benchmark idiom
    out.clear();
    const auto size = encoder.Encode(BatchHeader{++seq, BatchKind::kLive, 0, 0}, flows, {}, out);
    benchmark::DoNotOptimize(size);
    benchmark::DoNotOptimize(out.data());
  }
  SetPerRecordCounters(state, out.size());
}
BENCHMARK(BM_EncodeBatch64);

// Distinct seqs per frame (the decoder rejects replays): a ring of frames
// encoded up front, decoded by a fresh decoder per ring pass (Reset, as a new
// connection; cheap and outside the per-frame path).
void BM_DecodeBatch64(benchmark::State& state) {
  constexpr size_t kFrames = 256;
  const std::vector<FlowEntry> flows = SampleFlowBatch(kRecords, 1);
  FrameEncoder encoder;
  std::vector<std::vector<uint8_t>> frames(kFrames);
  for (size_t i = 0; i < kFrames; ++i) {
    if (!encoder.Encode(BatchHeader{i + 1, BatchKind::kLive, 0, 0}, flows, {}, frames[i])) {
      state.SkipWithError("encode failed");
      return;
    }
  }
  FrameDecoder decoder;
  size_t next = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): benchmark idiom
    if (next == kFrames) {
      decoder.Reset();
      next = 0;
    }
    std::span<const uint8_t> input(frames[next++]);
    if (decoder.Decode(input) != DecodeStatus::kFrame) {
      state.SkipWithError("decode failed");
      return;
    }
    benchmark::DoNotOptimize(std::get<BatchView>(decoder.Message()).flows.data());
  }
  SetPerRecordCounters(state, frames[0].size());
}
BENCHMARK(BM_DecodeBatch64);

}  // namespace
}  // namespace hafw::statesync

BENCHMARK_MAIN();
