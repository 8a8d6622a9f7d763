// sync.proto messages -> core values, with every check the protocol makes on
// what a peer sends. Outputs are overwritten completely, so reused arrays never
// carry a field over from an earlier frame.

#include <algorithm>
#include <cstring>

#include "statesync/wire/proto_convert.h"

#include <google/protobuf/unknown_field_set.h>

namespace hafw::statesync::wire_internal {
namespace {

tl::unexpected<WireDropReason> Drop(WireDropReason reason) {
  return tl::unexpected<WireDropReason>(reason);
}

constexpr uint32_t kMaxU8 = 0xff;
constexpr uint32_t kMaxU16 = 0xffff;

size_t AddressLength(IpFamily family) { return family == IpFamily::kV4 ? 4 : 16; }

Checked DecodeAddress(const std::string& bytes, IpFamily family, IpAddress& out) {
  if (bytes.size() != AddressLength(family)) {
    return Drop(bytes.size() == 4 || bytes.size() == 16 ? WireDropReason::kMixedFamilies
                                                        : WireDropReason::kBadAddressLength);
  }
  if (family == IpFamily::kV4) {
    std::array<uint8_t, 4> raw{};
    std::memcpy(raw.data(), bytes.data(), raw.size());
    out = IpAddress::V4(raw);
  } else {
    std::array<uint8_t, 16> raw{};
    std::memcpy(raw.data(), bytes.data(), raw.size());
    out = IpAddress::V6(raw);
  }
  return {};
}

Checked DecodeTuple(const pb::Tuple& in, IpFamily family, FlowTuple& out) {
  if (auto ok = DecodeAddress(in.src(), family, out.src); !ok) return ok;
  if (auto ok = DecodeAddress(in.dst(), family, out.dst); !ok) return ok;
  if (in.l4proto() > kMaxU8 || in.src_port() > kMaxU16 || in.dst_port() > kMaxU16 ||
      in.icmp_id() > kMaxU16 || in.icmp_type() > kMaxU8 || in.icmp_code() > kMaxU8) {
    return Drop(WireDropReason::kValueOutOfRange);
  }
  out.l4proto = static_cast<uint8_t>(in.l4proto());
  out.src_port = static_cast<uint16_t>(in.src_port());
  out.dst_port = static_cast<uint16_t>(in.dst_port());
  out.icmp_id = static_cast<uint16_t>(in.icmp_id());
  out.icmp_type = static_cast<uint8_t>(in.icmp_type());
  out.icmp_code = static_cast<uint8_t>(in.icmp_code());
  return {};
}

// A name copied into a NUL-padded array: it must leave room for the NUL and
// hold none itself (the kernel and the config would cut it there).
template <size_t N>
Checked DecodeName(const std::string& in, WireDropReason too_long, std::array<char, N>& out) {
  if (in.size() >= N) return Drop(too_long);
  if (in.find('\0') != std::string::npos) return Drop(WireDropReason::kBadName);
  out.fill('\0');
  std::copy(in.begin(), in.end(), out.begin());
  return {};
}

void DecodeSeqAdjust(const pb::SeqAdjust& in, SeqAdjust& out) {
  out.correction_pos = in.correction_pos();
  out.offset_before = in.offset_before();
  out.offset_after = in.offset_after();
}

}  // namespace

Checked DecodeHello(const pb::Hello& in, Hello& out) {
  out = Hello{};
  const std::optional<BulkState> bulk_state = FromProto(in.bulk_state());
  if (!bulk_state) return Drop(WireDropReason::kBadEnum);
  if (in.node().empty()) return Drop(WireDropReason::kBadName);
  if (auto ok = DecodeName(in.node(), WireDropReason::kNodeNameTooLong, out.node); !ok) return ok;
  if (in.node_index() == 0 || in.node_index() > kMaxNodeIndex) {
    return Drop(WireDropReason::kValueOutOfRange);
  }
  if (in.config_digest().size() != kConfigDigestBytes) {
    return Drop(WireDropReason::kBadDigestLength);
  }
  out.major = in.major();
  out.minor = in.minor();
  out.node_index = in.node_index();
  out.epoch = in.epoch();
  out.your_stream.epoch = in.your_stream().epoch();
  out.your_stream.seq = in.your_stream().applied_seq();
  std::memcpy(out.config_digest.data(), in.config_digest().data(), kConfigDigestBytes);
  out.bulk_state = *bulk_state;
  out.heartbeat_interval_ms = in.heartbeat_interval_ms();
  out.table_count = in.table_count();
  out.table_max = in.table_max();
  return {};
}

Checked DecodeHeartbeat(const pb::Heartbeat& in, Heartbeat& out) {
  const std::optional<BulkState> bulk_state = FromProto(in.bulk_state());
  if (!bulk_state) return Drop(WireDropReason::kBadEnum);
  out.applied_seq = in.applied_seq();
  out.queue_depth = in.queue_depth();
  out.table_count = in.table_count();
  out.bulk_state = *bulk_state;
  return {};
}

Checked DecodeBatchHeader(const pb::Batch& in, BatchHeader& out) {
  const std::optional<BatchKind> kind = FromProto(in.kind());
  if (!kind) return Drop(WireDropReason::kBadEnum);
  // Live and refresh batches are numbered in the sender's stream from 1; bulk
  // batches are outside it (messages.h, BatchHeader).
  if (*kind == BatchKind::kBulk ? in.seq() != 0 : (in.seq() == 0 || in.bulk_id() != 0)) {
    return Drop(WireDropReason::kBadBatchHeader);
  }
  out.seq = in.seq();
  out.kind = *kind;
  out.bulk_id = in.bulk_id();
  out.first_event_age_us = in.first_event_age_us();
  return {};
}

Checked DecodeFlow(const pb::Flow& in, FlowEntry& out) {
  out = FlowEntry{};
  FlowRecord& flow = out.flow;
  const std::optional<FlowEvent> event = FromProto(in.event());
  const std::optional<IpFamily> family = FromProto(in.family());
  if (!event || !family) return Drop(WireDropReason::kBadEnum);
  if (in.owner() > kMaxNodeIndex || in.zone() > kMaxU16) {
    return Drop(WireDropReason::kValueOutOfRange);
  }
  out.event = *event;
  out.owner = static_cast<uint8_t>(in.owner());
  flow.family = *family;
  if (auto ok = DecodeTuple(in.original(), *family, flow.original); !ok) return ok;
  if (auto ok = DecodeTuple(in.reply(), *family, flow.reply); !ok) return ok;
  flow.status = in.status();
  flow.timeout_s = in.timeout_s();
  flow.mark = in.mark();
  flow.zone = static_cast<uint16_t>(in.zone());
  if (in.has_tcp()) {
    const pb::TcpInfo& tcp = in.tcp();
    const std::optional<TcpState> state = FromProto(tcp.state());
    if (!state) return Drop(WireDropReason::kBadEnum);
    if (tcp.wscale_original() > kMaxU8 || tcp.wscale_reply() > kMaxU8 ||
        tcp.flags_original() > kMaxU8 || tcp.flags_reply() > kMaxU8) {
      return Drop(WireDropReason::kValueOutOfRange);
    }
    flow.tcp.state = *state;
    flow.tcp.wscale_original = static_cast<uint8_t>(tcp.wscale_original());
    flow.tcp.wscale_reply = static_cast<uint8_t>(tcp.wscale_reply());
    flow.tcp.flags_original = static_cast<uint8_t>(tcp.flags_original());
    flow.tcp.flags_reply = static_cast<uint8_t>(tcp.flags_reply());
  }
  if (!in.labels().empty()) {
    if (in.labels().size() != flow.labels.size()) return Drop(WireDropReason::kBadLabelsLength);
    std::memcpy(flow.labels.data(), in.labels().data(), flow.labels.size());
  }
  if (auto ok = DecodeName(in.helper(), WireDropReason::kHelperNameTooLong, flow.helper); !ok) {
    return ok;
  }
  if (in.has_seq_adjust_original()) {
    DecodeSeqAdjust(in.seq_adjust_original(), flow.seq_adjust_original);
  }
  if (in.has_seq_adjust_reply()) DecodeSeqAdjust(in.seq_adjust_reply(), flow.seq_adjust_reply);
  return {};
}

Checked DecodeExpectation(const pb::Expectation& in, ExpectEntry& out) {
  out = ExpectEntry{};
  ExpectRecord& expect = out.expect;
  const std::optional<IpFamily> family = FromProto(in.family());
  if (!family) return Drop(WireDropReason::kBadEnum);
  if (in.zone() > kMaxU16) return Drop(WireDropReason::kValueOutOfRange);
  out.destroyed = in.destroyed();
  expect.family = *family;
  if (auto ok = DecodeTuple(in.master(), *family, expect.master); !ok) return ok;
  if (auto ok = DecodeTuple(in.expected(), *family, expect.expected); !ok) return ok;
  if (auto ok = DecodeTuple(in.mask(), *family, expect.mask); !ok) return ok;
  expect.timeout_s = in.timeout_s();
  expect.flags = in.flags();
  expect.expect_class = in.expect_class();
  expect.zone = static_cast<uint16_t>(in.zone());
  if (auto ok = DecodeName(in.helper(), WireDropReason::kHelperNameTooLong, expect.helper); !ok) {
    return ok;
  }
  if (in.has_nat()) {
    switch (in.nat().dir()) {
      case pb::DIRECTION_ORIGINAL:
        expect.nat_dir = 0;
        break;
      case pb::DIRECTION_REPLY:
        expect.nat_dir = 1;
        break;
      default:
        return Drop(WireDropReason::kBadEnum);
    }
    if (auto ok = DecodeTuple(in.nat().tuple(), *family, expect.nat_tuple); !ok) return ok;
  }
  return {};
}

namespace {

// The per-record path asks each message for its unknown fields; the message's
// own GetReflection() goes through descriptor initialisation every time, so
// each type's Reflection is looked up once.
template <typename Message>
void ReleaseUnknown(Message& message) {
  static const google::protobuf::Reflection* const reflection = Message::GetReflection();
  if (reflection->GetUnknownFields(message).empty()) return;
  google::protobuf::UnknownFieldSet empty;
  reflection->MutableUnknownFields(&message)->Swap(&empty);
}

}  // namespace

void ReleaseUnknownFields(google::protobuf::Message& message) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  if (reflection->GetUnknownFields(message).empty()) return;
  google::protobuf::UnknownFieldSet empty;
  reflection->MutableUnknownFields(&message)->Swap(&empty);
}

void ReleaseUnknownFields(pb::Hello& hello) {
  ReleaseUnknown(hello);
  if (hello.has_your_stream()) ReleaseUnknown(*hello.mutable_your_stream());
}

// Only sub-messages that are set can hold unknown fields: parsing into one sets it.
void ReleaseUnknownFields(pb::Batch& batch) {
  ReleaseUnknown(batch);
  for (pb::Flow& flow : *batch.mutable_flows()) {
    ReleaseUnknown(flow);
    if (flow.has_original()) ReleaseUnknown(*flow.mutable_original());
    if (flow.has_reply()) ReleaseUnknown(*flow.mutable_reply());
    if (flow.has_tcp()) ReleaseUnknown(*flow.mutable_tcp());
    if (flow.has_seq_adjust_original()) ReleaseUnknown(*flow.mutable_seq_adjust_original());
    if (flow.has_seq_adjust_reply()) ReleaseUnknown(*flow.mutable_seq_adjust_reply());
  }
  for (pb::Expectation& expect : *batch.mutable_expectations()) {
    ReleaseUnknown(expect);
    if (expect.has_master()) ReleaseUnknown(*expect.mutable_master());
    if (expect.has_expected()) ReleaseUnknown(*expect.mutable_expected());
    if (expect.has_mask()) ReleaseUnknown(*expect.mutable_mask());
    if (expect.has_nat()) {
      ReleaseUnknown(*expect.mutable_nat());
      if (expect.nat().has_tuple()) ReleaseUnknown(*expect.mutable_nat()->mutable_tuple());
    }
  }
}

}  // namespace hafw::statesync::wire_internal
