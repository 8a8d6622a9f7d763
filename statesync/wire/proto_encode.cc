// Core values -> sync.proto messages. Every check here mirrors one of
// proto_decode.cc, so that whatever the encoder emits, a peer accepts.

#include <cstring>

#include "statesync/wire/proto_convert.h"

namespace hafw::statesync::wire_internal {
namespace {

Result<void> Invalid(const char* what) {
  return MakeError(ErrorCode::kInvalidArgument, std::string("sync encode: ") + what);
}

// Length of a NUL-padded name, or nullopt when it fills the array (no room for
// the NUL the peer requires).
template <size_t N>
std::optional<size_t> NameLength(const std::array<char, N>& name) {
  const size_t length = strnlen(name.data(), N);
  if (length == N) return std::nullopt;
  return length;
}

void SetAddress(const IpAddress& address, std::string* out) {
  const std::span<const uint8_t> bytes = address.Bytes();
  out->assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Result<void> EncodeTuple(const FlowTuple& in, IpFamily family, pb::Tuple& out) {
  if (in.src.Family() != family || in.dst.Family() != family) {
    return Invalid("tuple address of the other family");
  }
  SetAddress(in.src, out.mutable_src());
  SetAddress(in.dst, out.mutable_dst());
  out.set_l4proto(in.l4proto);
  out.set_src_port(in.src_port);
  out.set_dst_port(in.dst_port);
  out.set_icmp_id(in.icmp_id);
  out.set_icmp_type(in.icmp_type);
  out.set_icmp_code(in.icmp_code);
  return {};
}

void EncodeSeqAdjust(const SeqAdjust& in, pb::SeqAdjust& out) {
  out.set_correction_pos(in.correction_pos);
  out.set_offset_before(in.offset_before);
  out.set_offset_after(in.offset_after);
}

}  // namespace

Result<void> EncodeHello(const Hello& in, pb::Hello& out) {
  const std::optional<size_t> node_length = NameLength(in.node);
  if (!node_length) return Invalid("node name without room for its NUL");
  if (*node_length == 0) return Invalid("empty node name");
  if (in.node_index == 0 || in.node_index > kMaxNodeIndex) return Invalid("node index not 1..15");
  if (!IsValid(in.bulk_state)) return Invalid("bulk state out of range");
  out.set_major(in.major);
  out.set_minor(in.minor);
  out.mutable_node()->assign(in.node.data(), *node_length);
  out.set_node_index(in.node_index);
  out.set_epoch(in.epoch);
  pb::StreamPosition& your = *out.mutable_your_stream();
  your.set_epoch(in.your_stream.epoch);
  your.set_applied_seq(in.your_stream.seq);
  out.mutable_config_digest()->assign(reinterpret_cast<const char*>(in.config_digest.data()),
                                      in.config_digest.size());
  out.set_bulk_state(ToProto(in.bulk_state));
  out.set_heartbeat_interval_ms(in.heartbeat_interval_ms);
  out.set_table_count(in.table_count);
  out.set_table_max(in.table_max);
  return {};
}

Result<void> EncodeHeartbeat(const Heartbeat& in, pb::Heartbeat& out) {
  if (!IsValid(in.bulk_state)) return Invalid("bulk state out of range");
  out.set_applied_seq(in.applied_seq);
  out.set_queue_depth(in.queue_depth);
  out.set_table_count(in.table_count);
  out.set_bulk_state(ToProto(in.bulk_state));
  return {};
}

Result<void> EncodeBatchHeader(const BatchHeader& in, pb::Batch& out) {
  if (!IsValid(in.kind)) return Invalid("batch kind out of range");
  if (in.kind == BatchKind::kBulk ? in.seq != 0 : (in.seq == 0 || in.bulk_id != 0)) {
    return Invalid("batch seq/bulk_id do not fit its kind");
  }
  out.set_seq(in.seq);
  out.set_kind(ToProto(in.kind));
  out.set_bulk_id(in.bulk_id);
  out.set_first_event_age_us(in.first_event_age_us);
  return {};
}

Result<void> EncodeFlow(const FlowEntry& in, pb::Flow& out) {
  const FlowRecord& flow = in.flow;
  if (!IsValid(in.event)) return Invalid("flow event out of range");
  if (!IsValid(flow.family)) return Invalid("flow family out of range");
  if (!IsValid(flow.tcp.state)) return Invalid("TCP state out of range");
  if (in.owner > kMaxNodeIndex) return Invalid("owner index above 15");
  const std::optional<size_t> helper_length = NameLength(flow.helper);
  if (!helper_length) return Invalid("helper name without room for its NUL");

  out.set_event(ToProto(in.event));
  out.set_owner(in.owner);
  out.set_family(ToProto(flow.family));
  if (auto ok = EncodeTuple(flow.original, flow.family, *out.mutable_original()); !ok) return ok;
  if (auto ok = EncodeTuple(flow.reply, flow.family, *out.mutable_reply()); !ok) return ok;
  out.set_status(flow.status);
  out.set_timeout_s(flow.timeout_s);
  out.set_mark(flow.mark);
  out.set_zone(flow.zone);
  if (flow.tcp != TcpInfo{}) {
    pb::TcpInfo& tcp = *out.mutable_tcp();
    tcp.set_state(ToProto(flow.tcp.state));
    tcp.set_wscale_original(flow.tcp.wscale_original);
    tcp.set_wscale_reply(flow.tcp.wscale_reply);
    tcp.set_flags_original(flow.tcp.flags_original);
    tcp.set_flags_reply(flow.tcp.flags_reply);
  }
  if (flow.labels != Labels{}) {
    out.mutable_labels()->assign(reinterpret_cast<const char*>(flow.labels.data()),
                                 flow.labels.size());
  }
  if (*helper_length != 0) out.mutable_helper()->assign(flow.helper.data(), *helper_length);
  if (flow.seq_adjust_original != SeqAdjust{}) {
    EncodeSeqAdjust(flow.seq_adjust_original, *out.mutable_seq_adjust_original());
  }
  if (flow.seq_adjust_reply != SeqAdjust{}) {
    EncodeSeqAdjust(flow.seq_adjust_reply, *out.mutable_seq_adjust_reply());
  }
  return {};
}

Result<void> EncodeExpectation(const ExpectEntry& in, pb::Expectation& out) {
  const ExpectRecord& expect = in.expect;
  if (!IsValid(expect.family)) return Invalid("expectation family out of range");
  const std::optional<size_t> helper_length = NameLength(expect.helper);
  if (!helper_length) return Invalid("helper name without room for its NUL");
  pb::Direction nat_dir = pb::DIRECTION_UNSPECIFIED;
  switch (expect.nat_dir) {
    case 0:
      nat_dir = pb::DIRECTION_ORIGINAL;
      break;
    case 1:
      nat_dir = pb::DIRECTION_REPLY;
      break;
    case 0xff:  // no NAT: nat_tuple is meaningless and not sent
      break;
    default:
      return Invalid("expectation NAT direction not 0, 1 or 0xff");
  }

  out.set_destroyed(in.destroyed);
  out.set_family(ToProto(expect.family));
  if (auto ok = EncodeTuple(expect.master, expect.family, *out.mutable_master()); !ok) return ok;
  if (auto ok = EncodeTuple(expect.expected, expect.family, *out.mutable_expected()); !ok) {
    return ok;
  }
  if (auto ok = EncodeTuple(expect.mask, expect.family, *out.mutable_mask()); !ok) return ok;
  out.set_timeout_s(expect.timeout_s);
  out.set_flags(expect.flags);
  out.set_expect_class(expect.expect_class);
  out.set_zone(expect.zone);
  if (*helper_length != 0) out.mutable_helper()->assign(expect.helper.data(), *helper_length);
  if (nat_dir != pb::DIRECTION_UNSPECIFIED) {
    pb::ExpectNat& nat = *out.mutable_nat();
    nat.set_dir(nat_dir);
    if (auto ok = EncodeTuple(expect.nat_tuple, expect.family, *nat.mutable_tuple()); !ok) {
      return ok;
    }
  }
  return {};
}

}  // namespace hafw::statesync::wire_internal
