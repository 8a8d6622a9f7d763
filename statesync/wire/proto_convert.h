#pragma once

// Internal to statesync/wire: the mapping between the core's values
// (statesync/core/messages.h, flow.h) and the generated protobuf messages of
// proto/hafw/sync/v1/sync.proto. Kept out of the public headers so that users
// of the codec never see protobuf types.
//
// To proto: the output message is Clear()ed by the caller and filled in place,
// so reused messages keep their sub-messages and string capacity. Values the
// wire cannot carry (an enum out of range, an address of the wrong family, a
// helper name without room for its NUL) are errors: a frame the peer would
// reject is never sent.
//
// From proto: every check the protocol makes on untrusted input; the first
// failing check names the drop reason. The output is fully overwritten.

#include <optional>

#include <tl/expected.hpp>

#include "common/result.h"
#include "hafw/sync/v1/sync.pb.h"
#include "statesync/core/messages.h"
#include "statesync/wire/wire_drop_reason.h"

namespace hafw::statesync::wire_internal {

namespace pb = ::hafw::sync::v1;

// The owner label bits are 4 wide (design §4: at most 15 nodes), so node
// indexes on the wire are 0..15 (owner) and 1..15 (Hello.node_index).
inline constexpr uint32_t kMaxNodeIndex = 15;

using Checked = tl::expected<void, WireDropReason>;

// One reused message per Frame body, as the encoder and the decoder keep them.
struct BodyMessages {
  pb::Hello hello;
  pb::Heartbeat heartbeat;
  pb::Batch batch;
  pb::Ack ack;
  pb::BulkRequest bulk_request;
  pb::BulkStart bulk_start;
  pb::BulkEnd bulk_end;
};

// Enums, both ways, in one place. FromProto returns nullopt for UNSPECIFIED and
// for values this version does not know.
pb::FlowEvent ToProto(FlowEvent value);
pb::IpFamily ToProto(IpFamily value);
pb::TcpState ToProto(TcpState value);
pb::BatchKind ToProto(BatchKind value);
pb::BulkState ToProto(BulkState value);
std::optional<FlowEvent> FromProto(pb::FlowEvent value);
std::optional<IpFamily> FromProto(pb::IpFamily value);
std::optional<TcpState> FromProto(pb::TcpState value);
std::optional<BatchKind> FromProto(pb::BatchKind value);
std::optional<BulkState> FromProto(pb::BulkState value);
// Each core enum's values are checked by the encoder: a value cast from a
// number out of range (a bug upstream) must not reach the wire.
bool IsValid(FlowEvent value);
bool IsValid(IpFamily value);
bool IsValid(TcpState value);
bool IsValid(BatchKind value);
bool IsValid(BulkState value);

// Core values -> protobuf (proto_encode.cc).
Result<void> EncodeHello(const Hello& in, pb::Hello& out);
Result<void> EncodeHeartbeat(const Heartbeat& in, pb::Heartbeat& out);
Result<void> EncodeBatchHeader(const BatchHeader& in, pb::Batch& out);
Result<void> EncodeFlow(const FlowEntry& in, pb::Flow& out);
Result<void> EncodeExpectation(const ExpectEntry& in, pb::Expectation& out);

// Protobuf -> core values, validated (proto_decode.cc).
Checked DecodeHello(const pb::Hello& in, Hello& out);
Checked DecodeHeartbeat(const pb::Heartbeat& in, Heartbeat& out);
// Kind and its seq/bulk_id rules; the sequence order across batches is the
// stream decoder's (it has the state).
Checked DecodeBatchHeader(const pb::Batch& in, BatchHeader& out);
Checked DecodeFlow(const pb::Flow& in, FlowEntry& out);
Checked DecodeExpectation(const pb::Expectation& in, ExpectEntry& out);

// Unknown fields (a newer minor's) are skipped by the decoder but kept by
// protobuf in the message, and Clear() keeps their storage: over many frames a
// peer could make each reused message object hold a frame's worth. Called right
// after parsing, these free them; a message without any costs a check.
void ReleaseUnknownFields(google::protobuf::Message& message);
void ReleaseUnknownFields(pb::Hello& hello);
void ReleaseUnknownFields(pb::Batch& batch);

}  // namespace hafw::statesync::wire_internal
