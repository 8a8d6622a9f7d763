#pragma once

// The sync protocol's messages as plain values (design: docs/statesync.md). The
// wire codec (statesync/wire) maps them to and from proto/hafw/sync/v1; the core
// (SyncEngine and its parts) only ever sees these. Batches carry their records
// as spans into buffers the caller owns, so nothing here allocates per record.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "statesync/core/flow.h"

namespace hafw::statesync {

// Protocol version spoken by this build. Peers must agree on the major; the
// lower minor of the two is used, and fields of a newer minor are ignored.
inline constexpr uint32_t kProtocolMajor = 1;
inline constexpr uint32_t kProtocolMinor = 0;

// Limits every decoder enforces (a peer exceeding them is a protocol error).
inline constexpr size_t kMaxFrameBytes = 1U << 20;
inline constexpr size_t kMaxRecordsPerBatch = 4096;
inline constexpr size_t kNodeNameMax = 64;
inline constexpr size_t kConfigDigestBytes = 32;  // SHA-256

// A position in one node's outgoing stream. Epochs are random per agent start,
// so a restarted sender is never confused with its predecessor.
struct StreamPosition {
  uint64_t epoch = 0;
  uint64_t seq = 0;  // last batch seq applied (receiver) or sent (sender); 0: none
  friend bool operator==(const StreamPosition&, const StreamPosition&) = default;
};

enum class BulkState : uint8_t { kNone, kReceiving, kDone, kGivenUp };
std::string_view BulkStateName(BulkState state);  // "none", "receiving", "done", "given-up"

struct Hello {
  uint32_t major = kProtocolMajor;
  uint32_t minor = kProtocolMinor;
  std::array<char, kNodeNameMax> node{};                    // NUL-padded
  uint32_t node_index = 0;                                  // 1-based, nodes sorted by name
  uint64_t epoch = 0;                                       // the sender's stream epoch
  StreamPosition your_stream;                               // what I applied of *your* stream
  std::array<uint8_t, kConfigDigestBytes> config_digest{};  // vhids, VIPs, nodes
  BulkState bulk_state = BulkState::kNone;  // my start-up bulk round, for pre-flight checks
  uint32_t heartbeat_interval_ms = 25;
  uint64_t table_count = 0;  // my kernel table: entries now, and the namespace limit
  uint64_t table_max = 0;

  std::string_view NodeName() const;
};

struct Heartbeat {
  uint64_t applied_seq = 0;  // cumulative ack of the peer's stream (this epoch)
  uint64_t queue_depth = 0;  // batches I still have to write to the peer
  uint64_t table_count = 0;
  BulkState bulk_state = BulkState::kNone;  // my start-up bulk round, as in Hello
};

struct Ack {
  uint64_t applied_seq = 0;  // every batch <= this seq is written to my kernel
};

struct BulkRequest {
  uint64_t bulk_id = 0;
};

struct BulkStart {
  uint64_t bulk_id = 0;
  uint64_t estimated_count = 0;  // flows the sender expects to send (progress)
};

struct BulkEnd {
  uint64_t bulk_id = 0;
  uint64_t count = 0;  // flows actually sent
};

enum class BatchKind : uint8_t {
  kLive,     // captured events, in capture order
  kBulk,     // a bulk transfer's dump records (bulk_id set)
  kRefresh,  // periodic refresh of long-lived flows
};
std::string_view BatchKindName(BatchKind kind);

// One replicated flow and who owns it as the sender knows it.
struct FlowEntry {
  FlowEvent event = FlowEvent::kNew;
  uint8_t owner = 0;  // node index of the flow's owner; 0: the sender itself
  FlowRecord flow;
};

struct ExpectEntry {
  bool destroyed = false;
  ExpectRecord expect;
};

struct BatchHeader {
  // Sender's stream, +1 per live or refresh batch (they go to every peer through
  // the send log). Bulk batches are per peer and outside the stream: seq 0.
  uint64_t seq = 0;
  BatchKind kind = BatchKind::kLive;
  uint64_t bulk_id = 0;             // kBulk only
  uint64_t first_event_age_us = 0;  // capture to send of the oldest record, for lag
};

struct BatchView {
  BatchHeader header;
  std::span<const FlowEntry> flows;
  std::span<const ExpectEntry> expectations;
};

}  // namespace hafw::statesync
