#include "statesync/wire/frame_encoder.h"

#include "hafw/sync/v1/sync.pb.h"
#include "statesync/wire/frame_envelope.h"
#include "statesync/wire/proto_convert.h"

namespace hafw::statesync {
namespace {

namespace pb = ::hafw::sync::v1;
using wire_internal::EnvelopeSize;
using wire_internal::WriteEnvelope;
using wire_internal::WriteLengthPrefix;

// Serializes a filled body message as one frame at the end of `out`.
Result<size_t> AppendFrame(int field_number, const google::protobuf::MessageLite& body,
                           std::vector<uint8_t>& out) {
  const size_t body_size = body.ByteSizeLong();  // caches the sizes for the write below
  const size_t frame_size = EnvelopeSize(field_number, body_size) + body_size;
  if (frame_size > kMaxFrameBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "sync encode: frame of " + std::to_string(frame_size) +
                         " bytes exceeds the maximum of " + std::to_string(kMaxFrameBytes));
  }
  const size_t start = out.size();
  out.resize(start + kFrameHeaderBytes + frame_size);
  uint8_t* at = out.data() + start;
  WriteLengthPrefix(static_cast<uint32_t>(frame_size), at);
  at = WriteEnvelope(field_number, body_size, at + kFrameHeaderBytes);
  body.SerializeWithCachedSizesToArray(at);
  return kFrameHeaderBytes + frame_size;
}

}  // namespace

struct FrameEncoder::Messages : wire_internal::BodyMessages {};

FrameEncoder::FrameEncoder() : messages_(std::make_unique<Messages>()) {}
FrameEncoder::~FrameEncoder() = default;

Result<size_t> FrameEncoder::Encode(const BatchHeader& header, std::span<const FlowEntry> flows,
                                    std::span<const ExpectEntry> expectations,
                                    std::vector<uint8_t>& out) {
  if (flows.size() + expectations.size() > kMaxRecordsPerBatch) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "sync encode: " + std::to_string(flows.size() + expectations.size()) +
                         " records in one batch, at most " + std::to_string(kMaxRecordsPerBatch));
  }
  pb::Batch& batch = messages_->batch;
  batch.Clear();  // keeps the Flow and Expectation objects for Add() below
  if (auto ok = wire_internal::EncodeBatchHeader(header, batch); !ok) {
    return tl::unexpected(ok.error());
  }
  for (const FlowEntry& flow : flows) {
    if (auto ok = wire_internal::EncodeFlow(flow, *batch.add_flows()); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  for (const ExpectEntry& expect : expectations) {
    if (auto ok = wire_internal::EncodeExpectation(expect, *batch.add_expectations()); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return AppendFrame(pb::Frame::kBatchFieldNumber, batch, out);
}

Result<size_t> FrameEncoder::Encode(const Hello& hello, std::vector<uint8_t>& out) {
  pb::Hello& message = messages_->hello;
  message.Clear();
  if (auto ok = wire_internal::EncodeHello(hello, message); !ok) return tl::unexpected(ok.error());
  return AppendFrame(pb::Frame::kHelloFieldNumber, message, out);
}

Result<size_t> FrameEncoder::Encode(const Heartbeat& heartbeat, std::vector<uint8_t>& out) {
  pb::Heartbeat& message = messages_->heartbeat;
  message.Clear();
  if (auto ok = wire_internal::EncodeHeartbeat(heartbeat, message); !ok) {
    return tl::unexpected(ok.error());
  }
  return AppendFrame(pb::Frame::kHeartbeatFieldNumber, message, out);
}

Result<size_t> FrameEncoder::Encode(const Ack& ack, std::vector<uint8_t>& out) {
  pb::Ack& message = messages_->ack;
  message.Clear();
  message.set_applied_seq(ack.applied_seq);
  return AppendFrame(pb::Frame::kAckFieldNumber, message, out);
}

Result<size_t> FrameEncoder::Encode(const BulkRequest& request, std::vector<uint8_t>& out) {
  pb::BulkRequest& message = messages_->bulk_request;
  message.Clear();
  message.set_bulk_id(request.bulk_id);
  return AppendFrame(pb::Frame::kBulkRequestFieldNumber, message, out);
}

Result<size_t> FrameEncoder::Encode(const BulkStart& start, std::vector<uint8_t>& out) {
  pb::BulkStart& message = messages_->bulk_start;
  message.Clear();
  message.set_bulk_id(start.bulk_id);
  message.set_estimated_count(start.estimated_count);
  return AppendFrame(pb::Frame::kBulkStartFieldNumber, message, out);
}

Result<size_t> FrameEncoder::Encode(const BulkEnd& end, std::vector<uint8_t>& out) {
  pb::BulkEnd& message = messages_->bulk_end;
  message.Clear();
  message.set_bulk_id(end.bulk_id);
  message.set_count(end.count);
  return AppendFrame(pb::Frame::kBulkEndFieldNumber, message, out);
}

}  // namespace hafw::statesync
