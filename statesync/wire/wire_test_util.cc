#include "statesync/wire/wire_test_util.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

namespace hafw::statesync {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

std::string Describe(const FlowTuple& t) {
  return t.src.ToString() + ":" + std::to_string(t.src_port) + " > " + t.dst.ToString() + ":" +
         std::to_string(t.dst_port) + " proto " + std::to_string(t.l4proto) + " icmp " +
         std::to_string(t.icmp_id) + "/" + std::to_string(t.icmp_type) + "/" +
         std::to_string(t.icmp_code);
}

#define HAFW_SAME_FIELD(a, b, field)                                    \
  do {                                                                  \
    if (!((a).field == (b).field)) return AssertionFailure() << #field; \
  } while (false)

#define HAFW_SAME_TUPLE(a, b, field)                                               \
  do {                                                                             \
    if (!((a).field == (b).field)) {                                               \
      return AssertionFailure() << #field << ": " << Describe((a).field) << " vs " \
                                << Describe((b).field);                            \
    }                                                                              \
  } while (false)

}  // namespace

OwnedMessage Own(const SyncMessage& message) {
  return std::visit(
      [](const auto& value) -> OwnedMessage {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, BatchView>) {
          return OwnedBatch{value.header,
                            {value.flows.begin(), value.flows.end()},
                            {value.expectations.begin(), value.expectations.end()}};
        } else {
          return value;
        }
      },
      message);
}

std::vector<uint8_t> Prefix(const std::string& frame) {
  const auto size = static_cast<uint32_t>(frame.size());
  std::vector<uint8_t> out(kFrameHeaderBytes + frame.size());
  out[0] = static_cast<uint8_t>(size >> 24);
  out[1] = static_cast<uint8_t>(size >> 16);
  out[2] = static_cast<uint8_t>(size >> 8);
  out[3] = static_cast<uint8_t>(size);
  std::memcpy(out.data() + kFrameHeaderBytes, frame.data(), frame.size());
  return out;
}

AssertionResult Same(const FlowEntry& a, const FlowEntry& b) {
  HAFW_SAME_FIELD(a, b, event);
  HAFW_SAME_FIELD(a, b, owner);
  HAFW_SAME_FIELD(a, b, flow.family);
  HAFW_SAME_TUPLE(a, b, flow.original);
  HAFW_SAME_TUPLE(a, b, flow.reply);
  HAFW_SAME_FIELD(a, b, flow.status);
  HAFW_SAME_FIELD(a, b, flow.timeout_s);
  HAFW_SAME_FIELD(a, b, flow.mark);
  HAFW_SAME_FIELD(a, b, flow.zone);
  HAFW_SAME_FIELD(a, b, flow.tcp);
  HAFW_SAME_FIELD(a, b, flow.labels);
  HAFW_SAME_FIELD(a, b, flow.helper);
  HAFW_SAME_FIELD(a, b, flow.seq_adjust_original);
  HAFW_SAME_FIELD(a, b, flow.seq_adjust_reply);
  if (!(a.flow == b.flow)) return AssertionFailure() << "flow (a field not listed here)";
  return AssertionSuccess();
}

AssertionResult Same(const ExpectEntry& a, const ExpectEntry& b) {
  HAFW_SAME_FIELD(a, b, destroyed);
  HAFW_SAME_FIELD(a, b, expect.family);
  HAFW_SAME_TUPLE(a, b, expect.master);
  HAFW_SAME_TUPLE(a, b, expect.expected);
  HAFW_SAME_TUPLE(a, b, expect.mask);
  HAFW_SAME_FIELD(a, b, expect.timeout_s);
  HAFW_SAME_FIELD(a, b, expect.flags);
  HAFW_SAME_FIELD(a, b, expect.expect_class);
  HAFW_SAME_FIELD(a, b, expect.zone);
  HAFW_SAME_FIELD(a, b, expect.helper);
  HAFW_SAME_FIELD(a, b, expect.nat_dir);
  HAFW_SAME_TUPLE(a, b, expect.nat_tuple);
  if (!(a.expect == b.expect)) return AssertionFailure() << "expect (a field not listed here)";
  return AssertionSuccess();
}

AssertionResult Same(const Hello& a, const Hello& b) {
  HAFW_SAME_FIELD(a, b, major);
  HAFW_SAME_FIELD(a, b, minor);
  HAFW_SAME_FIELD(a, b, node);
  HAFW_SAME_FIELD(a, b, node_index);
  HAFW_SAME_FIELD(a, b, epoch);
  HAFW_SAME_FIELD(a, b, your_stream);
  HAFW_SAME_FIELD(a, b, config_digest);
  HAFW_SAME_FIELD(a, b, bulk_state);
  HAFW_SAME_FIELD(a, b, heartbeat_interval_ms);
  HAFW_SAME_FIELD(a, b, table_count);
  HAFW_SAME_FIELD(a, b, table_max);
  return AssertionSuccess();
}

AssertionResult Same(const Heartbeat& a, const Heartbeat& b) {
  HAFW_SAME_FIELD(a, b, applied_seq);
  HAFW_SAME_FIELD(a, b, queue_depth);
  HAFW_SAME_FIELD(a, b, table_count);
  HAFW_SAME_FIELD(a, b, bulk_state);
  return AssertionSuccess();
}

AssertionResult Same(const OwnedBatch& a, const OwnedBatch& b) {
  HAFW_SAME_FIELD(a, b, header.seq);
  HAFW_SAME_FIELD(a, b, header.kind);
  HAFW_SAME_FIELD(a, b, header.bulk_id);
  HAFW_SAME_FIELD(a, b, header.first_event_age_us);
  HAFW_SAME_FIELD(a, b, flows.size());
  HAFW_SAME_FIELD(a, b, expectations.size());
  for (size_t i = 0; i < a.flows.size(); ++i) {
    if (auto same = Same(a.flows[i], b.flows[i]); !same) return same << " of flow " << i;
  }
  for (size_t i = 0; i < a.expectations.size(); ++i) {
    if (auto same = Same(a.expectations[i], b.expectations[i]); !same) {
      return same << " of expectation " << i;
    }
  }
  return AssertionSuccess();
}

AssertionResult Same(const OwnedMessage& a, const OwnedMessage& b) {
  if (a.index() != b.index()) {
    return AssertionFailure() << "message types " << a.index() << " vs " << b.index();
  }
  return std::visit(
      [&](const auto& value) -> AssertionResult {
        using T = std::decay_t<decltype(value)>;
        const T& other = std::get<T>(b);
        if constexpr (std::is_same_v<T, Ack>) {
          HAFW_SAME_FIELD(value, other, applied_seq);
        } else if constexpr (std::is_same_v<T, BulkRequest>) {
          HAFW_SAME_FIELD(value, other, bulk_id);
        } else if constexpr (std::is_same_v<T, BulkStart>) {
          HAFW_SAME_FIELD(value, other, bulk_id);
          HAFW_SAME_FIELD(value, other, estimated_count);
        } else if constexpr (std::is_same_v<T, BulkEnd>) {
          HAFW_SAME_FIELD(value, other, bulk_id);
          HAFW_SAME_FIELD(value, other, count);
        } else {
          return Same(value, other);
        }
        return AssertionSuccess();
      },
      a);
}

AssertionResult Same(const std::vector<OwnedMessage>& a, const std::vector<OwnedMessage>& b) {
  if (a.size() != b.size()) {
    return AssertionFailure() << a.size() << " messages vs " << b.size();
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (auto same = Same(a[i], b[i]); !same) return same << " in message " << i;
  }
  return AssertionSuccess();
}

DecodeRun DecodeStream(FrameDecoder& decoder, std::span<const uint8_t> bytes, size_t chunk) {
  DecodeRun run;
  if (chunk == 0) chunk = std::max<size_t>(bytes.size(), 1);
  // Bounded: every chunk is consumed by finitely many Decode calls, each of
  // which returns a frame (at least 5 bytes of the stream) or needs more.
  for (size_t at = 0; at < bytes.size() && !run.failure; at += chunk) {
    std::span<const uint8_t> input = bytes.subspan(at, std::min(chunk, bytes.size() - at));
    while (true) {
      const DecodeStatus status = decoder.Decode(input);
      if (status == DecodeStatus::kNeedMore) break;
      if (status == DecodeStatus::kError) {
        run.failure = decoder.Failure();
        break;
      }
      run.messages.push_back(Own(decoder.Message()));
    }
  }
  run.buffered = decoder.Buffered();
  return run;
}

DecodeRun DecodeStream(std::span<const uint8_t> bytes, size_t chunk) {
  FrameDecoder decoder;
  return DecodeStream(decoder, bytes, chunk);
}

}  // namespace hafw::statesync
