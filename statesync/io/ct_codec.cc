#include "statesync/io/ct_codec.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "statesync/io/ct_codec_internal.h"

namespace hafw::statesync::io {
namespace {

using internal::kLabelBits;
using internal::PutHeader;
using internal::ReadTuple;
using internal::WriteTuple;

// libnetfilter_conntrack keeps a tuple's L4 keys in unions: the ICMP id shares
// storage with the source port, the ICMP type and code with the destination
// port. The reply tuple's ICMP fields have no attribute of their own, so they
// are read and written through the port attributes (host byte order here).
bool IsIcmp(uint8_t l4proto) { return l4proto == kProtoIcmp || l4proto == kProtoIcmpV6; }

uint16_t IcmpTypeCodeWord(uint8_t type, uint8_t code) {
  uint16_t word = 0;
  const uint8_t bytes[2] = {type, code};
  std::memcpy(&word, bytes, sizeof(word));
  return word;
}

}  // namespace

namespace internal {

IpAddress GetAddress(const nf_conntrack* ct, nf_conntrack_attr v4, nf_conntrack_attr v6) {
  if (nfct_attr_is_set(ct, v4) > 0) {
    std::array<uint8_t, 4> bytes{};
    std::memcpy(bytes.data(), nfct_get_attr(ct, v4), bytes.size());
    return IpAddress::V4(bytes);
  }
  if (nfct_attr_is_set(ct, v6) > 0) {
    std::array<uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), nfct_get_attr(ct, v6), bytes.size());
    return IpAddress::V6(bytes);
  }
  return {};
}

void SetAddress(nf_conntrack* ct, const IpAddress& address, nf_conntrack_attr v4,
                nf_conntrack_attr v6) {
  nfct_set_attr(ct, address.IsV4() ? v4 : v6, address.Bytes().data());
}

void ReadTuple(const nf_conntrack* ct, bool reply, uint8_t l4proto, FlowTuple& out) {
  out.src = GetAddress(ct, reply ? ATTR_REPL_IPV4_SRC : ATTR_ORIG_IPV4_SRC,
                       reply ? ATTR_REPL_IPV6_SRC : ATTR_ORIG_IPV6_SRC);
  out.dst = GetAddress(ct, reply ? ATTR_REPL_IPV4_DST : ATTR_ORIG_IPV4_DST,
                       reply ? ATTR_REPL_IPV6_DST : ATTR_ORIG_IPV6_DST);
  out.l4proto = nfct_get_attr_u8(ct, reply ? ATTR_REPL_L4PROTO : ATTR_ORIG_L4PROTO);
  if (out.l4proto == 0) out.l4proto = l4proto;
  if (IsIcmp(l4proto)) {
    if (!reply) {
      out.icmp_id = ntohs(nfct_get_attr_u16(ct, ATTR_ICMP_ID));
      out.icmp_type = nfct_get_attr_u8(ct, ATTR_ICMP_TYPE);
      out.icmp_code = nfct_get_attr_u8(ct, ATTR_ICMP_CODE);
    }
    return;
  }
  out.src_port = ntohs(nfct_get_attr_u16(ct, reply ? ATTR_REPL_PORT_SRC : ATTR_ORIG_PORT_SRC));
  out.dst_port = ntohs(nfct_get_attr_u16(ct, reply ? ATTR_REPL_PORT_DST : ATTR_ORIG_PORT_DST));
}

void WriteTuple(nf_conntrack* ct, bool reply, const FlowTuple& t) {
  SetAddress(ct, t.src, reply ? ATTR_REPL_IPV4_SRC : ATTR_ORIG_IPV4_SRC,
             reply ? ATTR_REPL_IPV6_SRC : ATTR_ORIG_IPV6_SRC);
  SetAddress(ct, t.dst, reply ? ATTR_REPL_IPV4_DST : ATTR_ORIG_IPV4_DST,
             reply ? ATTR_REPL_IPV6_DST : ATTR_ORIG_IPV6_DST);
  nfct_set_attr_u8(ct, reply ? ATTR_REPL_L4PROTO : ATTR_ORIG_L4PROTO, t.l4proto);
  if (IsIcmp(t.l4proto)) {
    if (reply) {
      nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(t.icmp_id));
      nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, IcmpTypeCodeWord(t.icmp_type, t.icmp_code));
    } else {
      nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, t.icmp_type);
      nfct_set_attr_u8(ct, ATTR_ICMP_CODE, t.icmp_code);
      nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(t.icmp_id));
    }
    return;
  }
  nfct_set_attr_u16(ct, reply ? ATTR_REPL_PORT_SRC : ATTR_ORIG_PORT_SRC, htons(t.src_port));
  nfct_set_attr_u16(ct, reply ? ATTR_REPL_PORT_DST : ATTR_ORIG_PORT_DST, htons(t.dst_port));
}

void ReadIcmpReply(const nlmsghdr& msg, FlowTuple& reply) {
  ForEachTopAttr(msg, [&](const nlattr& attr) {
    if (mnl_attr_get_type(&attr) != CTA_TUPLE_REPLY) return;
    ForEachNestedAttr(attr, [&](const nlattr& part) {
      if (mnl_attr_get_type(&part) != CTA_TUPLE_PROTO) return;
      ForEachNestedAttr(part, [&](const nlattr& key) {
        switch (mnl_attr_get_type(&key)) {
          case CTA_PROTO_ICMP_ID:
          case CTA_PROTO_ICMPV6_ID:
            if (mnl_attr_validate(&key, MNL_TYPE_U16) == 0) {
              reply.icmp_id = ntohs(mnl_attr_get_u16(&key));
            }
            break;
          case CTA_PROTO_ICMP_TYPE:
          case CTA_PROTO_ICMPV6_TYPE:
            if (mnl_attr_validate(&key, MNL_TYPE_U8) == 0) reply.icmp_type = mnl_attr_get_u8(&key);
            break;
          case CTA_PROTO_ICMP_CODE:
          case CTA_PROTO_ICMPV6_CODE:
            if (mnl_attr_validate(&key, MNL_TYPE_U8) == 0) reply.icmp_code = mnl_attr_get_u8(&key);
            break;
          default:
            break;
        }
      });
    });
  });
}

void BitmaskToLabels(const nfct_bitmask* bits, Labels& out) {
  out.fill(0);
  const unsigned max = std::min(nfct_bitmask_maxbit(bits), kLabelBits - 1);
  for (unsigned bit = 0; bit <= max; ++bit) {
    if (nfct_bitmask_test_bit(bits, bit) != 0) {
      out[bit / 8] = static_cast<uint8_t>(out[bit / 8] | (1U << (bit % 8)));
    }
  }
}

void LabelsToBitmask(const Labels& labels, nfct_bitmask* out) {
  nfct_bitmask_clear(out);
  for (unsigned bit = 0; bit < kLabelBits; ++bit) {
    if ((labels[bit / 8] & (1U << (bit % 8))) != 0) nfct_bitmask_set_bit(out, bit);
  }
}

nlmsghdr* PutHeader(uint8_t* buf, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return nlh;
}

}  // namespace internal

namespace {

uint16_t TupleKeyPort(const FlowTuple& t, bool source) {
  if (IsIcmp(t.l4proto)) return t.icmp_id;
  return source ? t.src_port : t.dst_port;
}

// CTA_NAT_SRC / CTA_NAT_DST with min = max = the translated address and port.
// Built here rather than through ATTR_SNAT_*: libnetfilter_conntrack only
// emits the port range for TCP and UDP, and the kernel needs it for every
// protocol whose key it rewrites (SCTP ports, the ICMP id).
void PutNat(nlmsghdr* nlh, uint16_t type, const NatBinding& nat, uint8_t l4proto) {
  nlattr* nest = mnl_attr_nest_start(nlh, type);
  if (nat.address.IsV4()) {
    mnl_attr_put(nlh, CTA_NAT_V4_MINIP, 4, nat.address.Bytes().data());
    mnl_attr_put(nlh, CTA_NAT_V4_MAXIP, 4, nat.address.Bytes().data());
  } else {
    mnl_attr_put(nlh, CTA_NAT_V6_MINIP, 16, nat.address.Bytes().data());
    mnl_attr_put(nlh, CTA_NAT_V6_MAXIP, 16, nat.address.Bytes().data());
  }
  const bool has_key = l4proto == kProtoTcp || l4proto == kProtoUdp || l4proto == kProtoSctp ||
                       IsIcmp(l4proto) || l4proto == 33 /* DCCP */ || l4proto == 136 /* UDPLite */;
  if (has_key) {
    nlattr* proto = mnl_attr_nest_start(nlh, CTA_NAT_PROTO);
    mnl_attr_put_u16(nlh, CTA_PROTONAT_PORT_MIN, htons(nat.port));
    mnl_attr_put_u16(nlh, CTA_PROTONAT_PORT_MAX, htons(nat.port));
    mnl_attr_nest_end(nlh, proto);
  }
  mnl_attr_nest_end(nlh, nest);
}

// The reply tuple of the flow without NAT: the original tuple turned around
// (ICMP keeps the reply's type and code, which NAT never changes).
FlowTuple InvertedOriginal(const FlowRecord& flow) {
  FlowTuple t;
  t.src = flow.original.dst;
  t.dst = flow.original.src;
  t.l4proto = flow.original.l4proto;
  t.src_port = flow.original.dst_port;
  t.dst_port = flow.original.src_port;
  t.icmp_id = flow.original.icmp_id;
  t.icmp_type = flow.reply.icmp_type;
  t.icmp_code = flow.reply.icmp_code;
  return t;
}

}  // namespace

NatBinding SourceNat(const FlowRecord& flow) {
  NatBinding nat;
  const uint16_t orig_port = TupleKeyPort(flow.original, true);
  const uint16_t mapped_port = TupleKeyPort(flow.reply, false);
  if (flow.reply.dst != flow.original.src || mapped_port != orig_port) {
    nat.present = true;
    nat.address = flow.reply.dst;
    nat.port = mapped_port;
  }
  return nat;
}

NatBinding DestinationNat(const FlowRecord& flow) {
  NatBinding nat;
  const uint16_t orig_port = TupleKeyPort(flow.original, false);
  const uint16_t mapped_port = TupleKeyPort(flow.reply, true);
  // ICMP has one key (the id) for both ends: an id change is source NAT's.
  const bool port_changed = !IsIcmp(flow.original.l4proto) && mapped_port != orig_port;
  if (flow.reply.src != flow.original.dst || port_changed) {
    nat.present = true;
    nat.address = flow.reply.src;
    nat.port = IsIcmp(flow.original.l4proto) ? flow.original.icmp_id : mapped_port;
  }
  return nat;
}

std::string_view CtWriteName(CtWrite write) {
  switch (write) {
    case CtWrite::kCreate:
      return "create";
    case CtWrite::kUpdate:
      return "update";
    case CtWrite::kLabelsOnly:
      return "labels";
    case CtWrite::kDelete:
      return "delete";
    case CtWrite::kGet:
      return "get";
  }
  return "?";
}

std::string_view CtParseStatusName(CtParseStatus status) {
  switch (status) {
    case CtParseStatus::kOk:
      return "ok";
    case CtParseStatus::kNotConntrack:
      return "not-conntrack";
    case CtParseStatus::kTruncated:
      return "truncated";
    case CtParseStatus::kMalformed:
      return "malformed";
    case CtParseStatus::kUnsupportedFamily:
      return "unsupported-family";
    case CtParseStatus::kMissingTuple:
      return "missing-tuple";
  }
  return "?";
}

CtMessageKind ClassifyCtMessage(const nlmsghdr& msg) {
  const unsigned subsys = NFNL_SUBSYS_ID(msg.nlmsg_type);
  const unsigned type = NFNL_MSG_TYPE(msg.nlmsg_type);
  if (subsys == NFNL_SUBSYS_CTNETLINK) {
    if (type == IPCTNL_MSG_CT_NEW) {
      return (msg.nlmsg_flags & NLM_F_CREATE) != 0 ? CtMessageKind::kFlowNew
                                                   : CtMessageKind::kFlowUpdate;
    }
    if (type == IPCTNL_MSG_CT_DELETE) return CtMessageKind::kFlowDestroy;
  } else if (subsys == NFNL_SUBSYS_CTNETLINK_EXP) {
    if (type == IPCTNL_MSG_EXP_NEW) return CtMessageKind::kExpectNew;
    if (type == IPCTNL_MSG_EXP_DELETE) return CtMessageKind::kExpectDestroy;
  }
  return CtMessageKind::kOther;
}

Result<CtCodec> CtCodec::Create() {
  CtCodec codec;
  codec.parse_ct_ = nfct_new();
  codec.build_ct_ = nfct_new();
  codec.blank_ = nfct_new();
  codec.parse_exp_ = nfexp_new();
  codec.build_exp_ = nfexp_new();
  codec.blank_exp_ = nfexp_new();
  codec.exp_part_ = nfct_new();
  codec.labels_ = nfct_bitmask_new(kLabelBits - 1);
  codec.labels_mask_ = nfct_bitmask_new(kLabelBits - 1);
  if (codec.parse_ct_ == nullptr || codec.build_ct_ == nullptr || codec.blank_ == nullptr ||
      codec.parse_exp_ == nullptr || codec.build_exp_ == nullptr || codec.blank_exp_ == nullptr ||
      codec.exp_part_ == nullptr || codec.labels_ == nullptr || codec.labels_mask_ == nullptr) {
    return MakeError(ErrorCode::kInternal, "libnetfilter_conntrack: out of memory");
  }
  return codec;
}

CtCodec::CtCodec(CtCodec&& other) noexcept { *this = std::move(other); }

CtCodec& CtCodec::operator=(CtCodec&& other) noexcept {
  if (this != &other) {
    std::swap(parse_ct_, other.parse_ct_);
    std::swap(build_ct_, other.build_ct_);
    std::swap(blank_, other.blank_);
    std::swap(parse_exp_, other.parse_exp_);
    std::swap(build_exp_, other.build_exp_);
    std::swap(blank_exp_, other.blank_exp_);
    std::swap(exp_part_, other.exp_part_);
    std::swap(labels_, other.labels_);
    std::swap(labels_mask_, other.labels_mask_);
  }
  return *this;
}

CtCodec::~CtCodec() {
  if (build_ct_ != nullptr) {
    // Drop the pointers to our bitmasks unfreed before destroying the object.
    nfct_copy(build_ct_, blank_, NFCT_CP_OVERRIDE);
    nfct_destroy(build_ct_);
  }
  for (nf_conntrack* ct : {parse_ct_, blank_, exp_part_}) {
    if (ct != nullptr) nfct_destroy(ct);
  }
  for (nf_expect* exp : {parse_exp_, build_exp_, blank_exp_}) {
    if (exp != nullptr) nfexp_destroy(exp);
  }
  if (labels_ != nullptr) nfct_bitmask_destroy(labels_);
  if (labels_mask_ != nullptr) nfct_bitmask_destroy(labels_mask_);
}

void CtCodec::ResetParseObject() {
  // A previous parse may have left a library-owned label bitmask (or helper
  // info) in parse_ct_: keep the pointers, so the next parse frees them when
  // it replaces them, and clear every attribute bit so nothing survives.
  for (int attr = 0; attr < ATTR_MAX; ++attr) {
    nfct_attr_unset(parse_ct_, static_cast<nf_conntrack_attr>(attr));
  }
}

CtParseStatus CtCodec::ParseFlow(const nlmsghdr& msg, FlowRecord& out) {
  if (msg.nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg)) return CtParseStatus::kTruncated;
  if (NFNL_SUBSYS_ID(msg.nlmsg_type) != NFNL_SUBSYS_CTNETLINK) return CtParseStatus::kNotConntrack;
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(&msg));
  if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6) {
    return CtParseStatus::kUnsupportedFamily;
  }
  ResetParseObject();
  nf_conntrack* ct = parse_ct_;
  if (nfct_nlmsg_parse(&msg, ct) < 0) return CtParseStatus::kMalformed;
  if (!nfct_attr_is_set(ct, ATTR_ORIG_L4PROTO)) return CtParseStatus::kMissingTuple;

  out = FlowRecord{};
  out.family = nfg->nfgen_family == AF_INET ? IpFamily::kV4 : IpFamily::kV6;
  const uint8_t l4proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
  ReadTuple(ct, false, l4proto, out.original);
  if (nfct_attr_is_set(ct, ATTR_REPL_L4PROTO) > 0) {
    ReadTuple(ct, true, l4proto, out.reply);
    if (out.reply.l4proto == kProtoIcmp || out.reply.l4proto == kProtoIcmpV6) {
      internal::ReadIcmpReply(msg, out.reply);
    }
  }
  out.status = nfct_get_attr_u32(ct, ATTR_STATUS) & ~kStatusOffloadMask;
  out.timeout_s = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
  out.mark = nfct_get_attr_u32(ct, ATTR_MARK);
  out.zone = nfct_get_attr_u16(ct, ATTR_ZONE);
  if (l4proto == kProtoTcp) {
    out.tcp.state = static_cast<TcpState>(nfct_get_attr_u8(ct, ATTR_TCP_STATE));
    out.tcp.wscale_original = nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_ORIG);
    out.tcp.wscale_reply = nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_REPL);
    out.tcp.flags_original = nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_ORIG);
    out.tcp.flags_reply = nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_REPL);
  }
  if (nfct_attr_is_set(ct, ATTR_CONNLABELS)) {
    const auto* bits = static_cast<const nfct_bitmask*>(nfct_get_attr(ct, ATTR_CONNLABELS));
    internal::BitmaskToLabels(bits, out.labels);
  }
  if (nfct_attr_is_set(ct, ATTR_HELPER_NAME)) {
    const char* name = nfct_get_attr(ct, ATTR_HELPER_NAME) != nullptr
                           ? static_cast<const char*>(nfct_get_attr(ct, ATTR_HELPER_NAME))
                           : "";
    std::strncpy(out.helper.data(), name, out.helper.size() - 1);
  }
  if (nfct_attr_is_set(ct, ATTR_ORIG_NAT_SEQ_CORRECTION_POS)) {
    out.seq_adjust_original.correction_pos =
        nfct_get_attr_u32(ct, ATTR_ORIG_NAT_SEQ_CORRECTION_POS);
    out.seq_adjust_original.offset_before =
        static_cast<int32_t>(nfct_get_attr_u32(ct, ATTR_ORIG_NAT_SEQ_OFFSET_BEFORE));
    out.seq_adjust_original.offset_after =
        static_cast<int32_t>(nfct_get_attr_u32(ct, ATTR_ORIG_NAT_SEQ_OFFSET_AFTER));
  }
  if (nfct_attr_is_set(ct, ATTR_REPL_NAT_SEQ_CORRECTION_POS)) {
    out.seq_adjust_reply.correction_pos = nfct_get_attr_u32(ct, ATTR_REPL_NAT_SEQ_CORRECTION_POS);
    out.seq_adjust_reply.offset_before =
        static_cast<int32_t>(nfct_get_attr_u32(ct, ATTR_REPL_NAT_SEQ_OFFSET_BEFORE));
    out.seq_adjust_reply.offset_after =
        static_cast<int32_t>(nfct_get_attr_u32(ct, ATTR_REPL_NAT_SEQ_OFFSET_AFTER));
  }
  return CtParseStatus::kOk;
}

bool CtCodec::FillBuildObject(const FlowRecord& flow, CtWrite write, const LabelWrite* labels) {
  // Our bitmasks are lent to build_ct_, never owned by it: the copy drops
  // the pointers unfreed.
  nfct_copy(build_ct_, blank_, NFCT_CP_OVERRIDE);
  nf_conntrack* ct = build_ct_;
  const uint8_t family = flow.family == IpFamily::kV4 ? AF_INET : AF_INET6;
  nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, family);
  WriteTuple(ct, false, flow.original);
  nfct_set_attr_u16(ct, ATTR_ZONE, flow.zone);
  if (write == CtWrite::kDelete || write == CtWrite::kGet) return true;

  if (write == CtWrite::kCreate) {
    nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, family);
    // With NAT the kernel must do the translation itself: given the reply
    // tuple already translated, it sees a null binding and leaves
    // IPS_SRC_NAT/IPS_DST_NAT clear, so packets would not be rewritten. The
    // un-NAT'ed reply plus CTA_NAT_* make it derive the same reply tuple and
    // set the bits (docs/statesync-kernel.md, "NAT").
    const bool natted = SourceNat(flow).present || DestinationNat(flow).present;
    WriteTuple(ct, true, natted ? InvertedOriginal(flow) : flow.reply);
    if (flow.helper[0] != '\0') {
      char name[kHelperNameMax + 1] = {};
      std::memcpy(name, flow.helper.data(), flow.helper.size());
      nfct_set_attr(ct, ATTR_HELPER_NAME, name);
    }
  }
  if (labels != nullptr) {
    internal::LabelsToBitmask(labels->bits, labels_);
    nfct_set_attr(ct, ATTR_CONNLABELS, labels_);
    if (write != CtWrite::kCreate) {
      internal::LabelsToBitmask(labels->mask, labels_mask_);
      nfct_set_attr(ct, ATTR_CONNLABELS_MASK, labels_mask_);
    }
  }
  if (write == CtWrite::kLabelsOnly) return labels != nullptr;

  nfct_set_attr_u32(ct, ATTR_STATUS, flow.status & ~kStatusNeverWritten);
  // A fixed-timeout entry refuses CTA_TIMEOUT on update (EPERM).
  if (write == CtWrite::kCreate || (flow.status & kStatusFixedTimeout) == 0) {
    nfct_set_attr_u32(ct, ATTR_TIMEOUT, flow.timeout_s);
  }
  nfct_set_attr_u32(ct, ATTR_MARK, flow.mark);
  if (flow.IsTcp()) {
    nfct_set_attr_u8(ct, ATTR_TCP_STATE, static_cast<uint8_t>(flow.tcp.state));
    // Window-tracking flags describe td_* state that does not cross ctnetlink:
    // a create leaves them clear, an update leaves the peer kernel's own.
    const uint8_t mask =
        write == CtWrite::kCreate ? 0xff : static_cast<uint8_t>(~kTcpFlagsNotWritten);
    nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, flow.tcp.flags_original & ~kTcpFlagsNotWritten);
    nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, mask);
    nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, flow.tcp.flags_reply & ~kTcpFlagsNotWritten);
    nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, mask);
    nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_ORIG, flow.tcp.wscale_original);
    nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_REPL, flow.tcp.wscale_reply);
  }
  if ((flow.status & kStatusSeqAdjust) != 0) {
    nfct_set_attr_u32(ct, ATTR_ORIG_NAT_SEQ_CORRECTION_POS,
                      flow.seq_adjust_original.correction_pos);
    nfct_set_attr_u32(ct, ATTR_ORIG_NAT_SEQ_OFFSET_BEFORE,
                      static_cast<uint32_t>(flow.seq_adjust_original.offset_before));
    nfct_set_attr_u32(ct, ATTR_ORIG_NAT_SEQ_OFFSET_AFTER,
                      static_cast<uint32_t>(flow.seq_adjust_original.offset_after));
    nfct_set_attr_u32(ct, ATTR_REPL_NAT_SEQ_CORRECTION_POS, flow.seq_adjust_reply.correction_pos);
    nfct_set_attr_u32(ct, ATTR_REPL_NAT_SEQ_OFFSET_BEFORE,
                      static_cast<uint32_t>(flow.seq_adjust_reply.offset_before));
    nfct_set_attr_u32(ct, ATTR_REPL_NAT_SEQ_OFFSET_AFTER,
                      static_cast<uint32_t>(flow.seq_adjust_reply.offset_after));
  }
  return true;
}

Result<size_t> CtCodec::BuildFlow(CtWrite write, const FlowRecord& flow, const LabelWrite* labels,
                                  uint32_t seq, std::span<uint8_t> out) {
  if (out.size() < kMaxCtMessageBytes) {
    return MakeError(ErrorCode::kInternal, "ct codec: output buffer too small");
  }
  if (flow.original.src.Family() != flow.family || flow.original.dst.Family() != flow.family) {
    return MakeError(ErrorCode::kInvalidArgument, "ct codec: tuple family mismatch");
  }
  if (!FillBuildObject(flow, write, labels)) {
    return MakeError(ErrorCode::kInvalidArgument, "ct codec: labels-only write without labels");
  }
  uint16_t type = IPCTNL_MSG_CT_NEW;
  uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
  if (write == CtWrite::kCreate) flags |= NLM_F_CREATE | NLM_F_EXCL;
  if (write == CtWrite::kDelete) type = IPCTNL_MSG_CT_DELETE;
  if (write == CtWrite::kGet) type = IPCTNL_MSG_CT_GET;
  const uint8_t family = flow.family == IpFamily::kV4 ? AF_INET : AF_INET6;
  nlmsghdr* nlh = PutHeader(out.data(), static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | type),
                            flags, seq, family);
  if (nfct_nlmsg_build(nlh, build_ct_) < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "ct codec: nfct_nlmsg_build failed");
  }
  if (write == CtWrite::kCreate) {
    if (const NatBinding snat = SourceNat(flow); snat.present) {
      PutNat(nlh, CTA_NAT_SRC, snat, flow.original.l4proto);
    }
    if (const NatBinding dnat = DestinationNat(flow); dnat.present) {
      PutNat(nlh, CTA_NAT_DST, dnat, flow.original.l4proto);
    }
  }
  return static_cast<size_t>(nlh->nlmsg_len);
}

size_t BuildFlowDumpRequest(uint32_t seq, std::span<uint8_t> out) {
  nlmsghdr* nlh = PutHeader(out.data(), (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
                            NLM_F_REQUEST | NLM_F_DUMP, seq, AF_UNSPEC);
  return nlh->nlmsg_len;
}

size_t BuildExpectDumpRequest(uint32_t seq, std::span<uint8_t> out) {
  nlmsghdr* nlh = PutHeader(out.data(), (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET,
                            NLM_F_REQUEST | NLM_F_DUMP, seq, AF_UNSPEC);
  return nlh->nlmsg_len;
}

size_t BuildFlowStatsRequest(uint32_t seq, std::span<uint8_t> out) {
  nlmsghdr* nlh = PutHeader(out.data(), (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS,
                            NLM_F_REQUEST, seq, AF_UNSPEC);
  return nlh->nlmsg_len;
}

int64_t ParseFlowStatsEntries(const nlmsghdr& msg) {
  if (NFNL_SUBSYS_ID(msg.nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
      NFNL_MSG_TYPE(msg.nlmsg_type) != IPCTNL_MSG_CT_GET_STATS ||
      msg.nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg)) {
    return -1;
  }
  int64_t entries = -1;
  internal::ForEachTopAttr(msg, [&](const nlattr& attr) {
    if (mnl_attr_get_type(&attr) == CTA_STATS_GLOBAL_ENTRIES &&
        mnl_attr_validate(&attr, MNL_TYPE_U32) == 0) {
      entries = ntohl(mnl_attr_get_u32(&attr));
    }
  });
  return entries;
}

}  // namespace hafw::statesync::io
