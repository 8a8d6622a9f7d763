#include "statesync/wire/frame_decoder.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "hafw/sync/v1/sync.pb.h"
#include "statesync/wire/frame_envelope.h"
#include "statesync/wire/proto_convert.h"

namespace hafw::statesync {
namespace {

namespace pb = ::hafw::sync::v1;

constexpr size_t kMinReassemblyBytes = 4096;

// Parses `bytes` into a reused message (ParseFromArray clears it first, which
// keeps its sub-messages and repeated elements for reuse), then frees any
// unknown fields it picked up.
template <typename Message>
bool Parse(std::span<const uint8_t> bytes, Message& message) {
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  wire_internal::ReleaseUnknownFields(message);
  return true;
}

}  // namespace

struct FrameDecoder::Messages : wire_internal::BodyMessages {};

FrameDecoder::FrameDecoder() : messages_(std::make_unique<Messages>()) {}
FrameDecoder::~FrameDecoder() = default;

void FrameDecoder::Reset() {
  header_have_ = 0;
  frame_length_ = 0;
  body_have_ = 0;
  last_stream_seq_ = 0;
  failure_.reset();
  message_ = SyncMessage{};
}

DecodeStatus FrameDecoder::Fail(WireDropReason reason, std::span<const uint8_t>& input) {
  failure_ = reason;
  drops_.Count(reason);
  // Accepted frames only ever leave small values in the reused messages (every
  // string's length is checked); a rejected one may have left a huge string in
  // one of them, so they are replaced rather than kept at that capacity.
  messages_ = std::make_unique<Messages>();
  input = input.subspan(input.size());
  return DecodeStatus::kError;
}

DecodeStatus FrameDecoder::Decode(std::span<const uint8_t>& input) {
  if (failure_) {
    input = input.subspan(input.size());
    return DecodeStatus::kError;
  }
  if (input.empty()) return DecodeStatus::kNeedMore;

  if (header_have_ < kFrameHeaderBytes) {
    const size_t take = std::min(kFrameHeaderBytes - header_have_, input.size());
    std::memcpy(header_.data() + header_have_, input.data(), take);
    header_have_ += take;
    input = input.subspan(take);
    if (header_have_ < kFrameHeaderBytes) return DecodeStatus::kNeedMore;
    frame_length_ = wire_internal::ReadLengthPrefix(header_.data());
    if (frame_length_ == 0) return Fail(WireDropReason::kZeroLength, input);
    if (frame_length_ > kMaxFrameBytes) return Fail(WireDropReason::kOversizeFrame, input);
    body_have_ = 0;
  }

  // The usual case: the whole frame is in this read; decode it in place.
  if (body_have_ == 0 && input.size() >= frame_length_) {
    const std::span<const uint8_t> frame = input.first(frame_length_);
    input = input.subspan(frame_length_);
    header_have_ = 0;
    return DecodeFrame(frame, input);
  }

  // Otherwise assemble it. The buffer grows in powers of two up to the largest
  // frame, so a stream of similar frames settles after one or two sizes.
  if (body_.size() < frame_length_) {
    body_.resize(std::clamp(std::bit_ceil(frame_length_), kMinReassemblyBytes, kMaxFrameBytes));
  }
  const size_t take = std::min(frame_length_ - body_have_, input.size());
  std::memcpy(body_.data() + body_have_, input.data(), take);
  body_have_ += take;
  input = input.subspan(take);
  if (body_have_ < frame_length_) return DecodeStatus::kNeedMore;
  header_have_ = 0;
  body_have_ = 0;
  return DecodeFrame(std::span<const uint8_t>(body_.data(), frame_length_), input);
}

DecodeStatus FrameDecoder::DecodeFrame(std::span<const uint8_t> frame,
                                       std::span<const uint8_t>& input) {
  const auto body = wire_internal::FindFrameBody(frame);
  if (!body) return Fail(body.error(), input);
  Messages& m = *messages_;
  wire_internal::Checked checked;
  switch (body->field_number) {
    case pb::Frame::kHelloFieldNumber:
      if (!Parse(body->bytes, m.hello)) return Fail(WireDropReason::kParseError, input);
      checked = wire_internal::DecodeHello(m.hello, message_.emplace<Hello>());
      break;
    case pb::Frame::kHeartbeatFieldNumber:
      if (!Parse(body->bytes, m.heartbeat)) return Fail(WireDropReason::kParseError, input);
      checked = wire_internal::DecodeHeartbeat(m.heartbeat, message_.emplace<Heartbeat>());
      break;
    case pb::Frame::kBatchFieldNumber:
      if (const auto reason = DecodeBatch(body->bytes)) return Fail(*reason, input);
      break;
    case pb::Frame::kAckFieldNumber:
      if (!Parse(body->bytes, m.ack)) return Fail(WireDropReason::kParseError, input);
      message_.emplace<Ack>().applied_seq = m.ack.applied_seq();
      break;
    case pb::Frame::kBulkRequestFieldNumber:
      if (!Parse(body->bytes, m.bulk_request)) return Fail(WireDropReason::kParseError, input);
      message_.emplace<BulkRequest>().bulk_id = m.bulk_request.bulk_id();
      break;
    case pb::Frame::kBulkStartFieldNumber:
      if (!Parse(body->bytes, m.bulk_start)) return Fail(WireDropReason::kParseError, input);
      message_ = BulkStart{m.bulk_start.bulk_id(), m.bulk_start.estimated_count()};
      break;
    case pb::Frame::kBulkEndFieldNumber:
      if (!Parse(body->bytes, m.bulk_end)) return Fail(WireDropReason::kParseError, input);
      message_ = BulkEnd{m.bulk_end.bulk_id(), m.bulk_end.count()};
      break;
    default:  // FindFrameBody returns known bodies only
      return Fail(WireDropReason::kNoBody, input);
  }
  if (!checked) return Fail(checked.error(), input);
  ++frames_decoded_;
  return DecodeStatus::kFrame;
}

std::optional<WireDropReason> FrameDecoder::DecodeBatch(std::span<const uint8_t> bytes) {
  // Counted first, so that protobuf never builds more message objects than a
  // batch may hold (they are kept for reuse).
  const auto count = wire_internal::CountBatchRecords(bytes);
  if (!count) return count.error();
  if (*count > kMaxRecordsPerBatch) return WireDropReason::kTooManyRecords;
  pb::Batch& batch = messages_->batch;
  if (!Parse(bytes, batch)) return WireDropReason::kParseError;

  BatchView& view = message_.emplace<BatchView>();
  if (auto ok = wire_internal::DecodeBatchHeader(batch, view.header); !ok) return ok.error();
  const auto flow_count = static_cast<size_t>(batch.flows_size());
  const auto expect_count = static_cast<size_t>(batch.expectations_size());
  if (flows_.size() < flow_count) flows_.resize(flow_count);
  if (expectations_.size() < expect_count) expectations_.resize(expect_count);
  for (size_t i = 0; i < flow_count; ++i) {
    if (auto ok = wire_internal::DecodeFlow(batch.flows(static_cast<int>(i)), flows_[i]); !ok) {
      return ok.error();
    }
  }
  for (size_t i = 0; i < expect_count; ++i) {
    const pb::Expectation& expect = batch.expectations(static_cast<int>(i));
    if (auto ok = wire_internal::DecodeExpectation(expect, expectations_[i]); !ok) {
      return ok.error();
    }
  }
  if (const auto reason = CheckSeqOrder(view.header)) return reason;
  view.flows = std::span<const FlowEntry>(flows_.data(), flow_count);
  view.expectations = std::span<const ExpectEntry>(expectations_.data(), expect_count);
  return std::nullopt;
}

std::optional<WireDropReason> FrameDecoder::CheckSeqOrder(const BatchHeader& header) {
  if (header.kind == BatchKind::kBulk) return std::nullopt;  // outside the stream
  if (header.seq == last_stream_seq_) return WireDropReason::kDuplicateSeq;
  if (header.seq < last_stream_seq_) return WireDropReason::kSeqRegression;
  last_stream_seq_ = header.seq;
  return std::nullopt;
}

}  // namespace hafw::statesync
