#include "statesync/wire/frame_envelope.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "hafw/sync/v1/sync.pb.h"

namespace hafw::statesync::wire_internal {
namespace {

using google::protobuf::internal::WireFormatLite;
namespace pb = ::hafw::sync::v1;

bool IsBodyField(int field_number) {
  switch (field_number) {
    case pb::Frame::kHelloFieldNumber:
    case pb::Frame::kHeartbeatFieldNumber:
    case pb::Frame::kBatchFieldNumber:
    case pb::Frame::kAckFieldNumber:
    case pb::Frame::kBulkRequestFieldNumber:
    case pb::Frame::kBulkStartFieldNumber:
    case pb::Frame::kBulkEndFieldNumber:
      return true;
    default:
      return false;
  }
}

// Walks the top-level fields of a serialized message. For each field whose
// number satisfies `wanted`, calls on_field(number, wire_type, payload) with
// the payload of a length-delimited field (empty for other wire types) and
// stops early if it returns false; skips all other fields. Returns false on
// malformed input. Every step consumes at least one byte: no loops.
template <typename Wanted, typename OnField>
bool WalkFields(std::span<const uint8_t> message, Wanted wanted, OnField on_field) {
  google::protobuf::io::CodedInputStream in(message.data(), static_cast<int>(message.size()));
  while (static_cast<size_t>(in.CurrentPosition()) < message.size()) {
    const uint32_t tag = in.ReadTag();
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    if (number == 0) return false;
    const WireFormatLite::WireType type = WireFormatLite::GetTagWireType(tag);
    if (!wanted(number)) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    std::span<const uint8_t> payload;
    if (type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      if (!in.ReadVarint32(&length)) return false;
      const size_t at = static_cast<size_t>(in.CurrentPosition());
      if (length > message.size() - at) return false;
      payload = message.subspan(at, length);
      if (!in.Skip(static_cast<int>(length))) return false;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
    if (!on_field(number, type, payload)) return true;
  }
  return true;
}

}  // namespace

void WriteLengthPrefix(uint32_t length, uint8_t* out) {
  out[0] = static_cast<uint8_t>(length >> 24);
  out[1] = static_cast<uint8_t>(length >> 16);
  out[2] = static_cast<uint8_t>(length >> 8);
  out[3] = static_cast<uint8_t>(length);
}

uint32_t ReadLengthPrefix(const uint8_t* in) {
  return (static_cast<uint32_t>(in[0]) << 24) | (static_cast<uint32_t>(in[1]) << 16) |
         (static_cast<uint32_t>(in[2]) << 8) | static_cast<uint32_t>(in[3]);
}

size_t EnvelopeSize(int field_number, size_t body_size) {
  const uint32_t tag =
      WireFormatLite::MakeTag(field_number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  return google::protobuf::io::CodedOutputStream::VarintSize32(tag) +
         google::protobuf::io::CodedOutputStream::VarintSize32(static_cast<uint32_t>(body_size));
}

uint8_t* WriteEnvelope(int field_number, size_t body_size, uint8_t* out) {
  const uint32_t tag =
      WireFormatLite::MakeTag(field_number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  out = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(tag, out);
  return google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(body_size), out);
}

tl::expected<FrameBody, WireDropReason> FindFrameBody(std::span<const uint8_t> frame) {
  FrameBody body;
  bool found = false;
  bool multiple = false;
  bool bad_type = false;
  const bool ok =
      WalkFields(frame, IsBodyField,
                 [&](int number, WireFormatLite::WireType type, std::span<const uint8_t> payload) {
                   if (type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
                     bad_type = true;
                     return false;
                   }
                   if (found) {
                     multiple = true;
                     return false;
                   }
                   found = true;
                   body = FrameBody{number, payload};
                   return true;
                 });
  if (!ok || bad_type) return tl::unexpected(WireDropReason::kParseError);
  if (multiple) return tl::unexpected(WireDropReason::kMultipleBodies);
  if (!found) return tl::unexpected(WireDropReason::kNoBody);
  return body;
}

tl::expected<size_t, WireDropReason> CountBatchRecords(std::span<const uint8_t> batch) {
  size_t count = 0;
  const auto is_record = [](int number) {
    return number == pb::Batch::kFlowsFieldNumber || number == pb::Batch::kExpectationsFieldNumber;
  };
  const bool ok = WalkFields(batch, is_record,
                             [&](int, WireFormatLite::WireType type, std::span<const uint8_t>) {
                               if (type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) ++count;
                               return true;
                             });
  if (!ok) return tl::unexpected(WireDropReason::kParseError);
  return count;
}

}  // namespace hafw::statesync::wire_internal
