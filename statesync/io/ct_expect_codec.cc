// The expectation half of CtCodec: ExpectRecord <-> IPCTNL_MSG_EXP_* messages.
// Tuples, timeout, flags, zone and helper go through libnetfilter_conntrack's
// nf_expect; class, NAT and the expectation function are read and written
// here, because libnetfilter_conntrack's support for them differs between
// versions and the peer must get them exactly (a masqueraded FTP PORT needs
// the NAT and "nat-follow-master" on the peer, docs/statesync-kernel.md).

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <cstring>
#include <string_view>

#include "statesync/io/ct_codec.h"
#include "statesync/io/ct_codec_internal.h"

namespace hafw::statesync::io {
namespace {

constexpr std::string_view kFollowMasterFn = "nat-follow-master";
constexpr std::string_view kSipFn = "sip";
constexpr size_t kExpectFnMax = 32;

// The expectation function the kernel's NAT helpers attach together with the
// NAT information: SIP has its own, the others (FTP, IRC, TFTP, amanda) follow
// the master's NAT. ExpectRecord does not carry the name (yet), so it is
// derived from the helper when the record has NAT.
std::string_view ExpectFnFor(const ExpectRecord& expect) {
  if (expect.nat_dir == 0xff) return {};
  const std::string_view helper(expect.helper.data(),
                                strnlen(expect.helper.data(), expect.helper.size()));
  return helper == "sip" ? kSipFn : kFollowMasterFn;
}

void PutRawTuple(nlmsghdr* nlh, uint16_t type, const FlowTuple& t) {
  nlattr* nest = mnl_attr_nest_start(nlh, type);
  nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  const bool v4 = t.src.IsV4();
  mnl_attr_put(nlh, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, t.src.Bytes().size(), t.src.Bytes().data());
  mnl_attr_put(nlh, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, t.dst.Bytes().size(), t.dst.Bytes().data());
  mnl_attr_nest_end(nlh, ip);
  nlattr* proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t.l4proto);
  mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t.src_port));
  mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t.dst_port));
  mnl_attr_nest_end(nlh, proto);
  mnl_attr_nest_end(nlh, nest);
}

// The NAT tuple of CTA_EXPECT_NAT: its source address and port are the
// expectation's saved address and port (the rest is unused by the kernel).
void ReadRawTuple(const nlattr& tuple, FlowTuple& out) {
  using internal::ForEachNestedAttr;
  ForEachNestedAttr(tuple, [&](const nlattr& part) {
    if (mnl_attr_get_type(&part) == CTA_TUPLE_IP) {
      ForEachNestedAttr(part, [&](const nlattr& a) {
        const auto* bytes = static_cast<const uint8_t*>(mnl_attr_get_payload(&a));
        auto address = IpAddress::FromBytes({bytes, mnl_attr_get_payload_len(&a)});
        if (!address) return;
        const uint16_t type = mnl_attr_get_type(&a);
        if (type == CTA_IP_V4_SRC || type == CTA_IP_V6_SRC) out.src = *address;
        if (type == CTA_IP_V4_DST || type == CTA_IP_V6_DST) out.dst = *address;
      });
    } else if (mnl_attr_get_type(&part) == CTA_TUPLE_PROTO) {
      ForEachNestedAttr(part, [&](const nlattr& a) {
        const uint16_t type = mnl_attr_get_type(&a);
        if (type == CTA_PROTO_NUM && mnl_attr_validate(&a, MNL_TYPE_U8) == 0) {
          out.l4proto = mnl_attr_get_u8(&a);
        } else if (type == CTA_PROTO_SRC_PORT && mnl_attr_validate(&a, MNL_TYPE_U16) == 0) {
          out.src_port = ntohs(mnl_attr_get_u16(&a));
        } else if (type == CTA_PROTO_DST_PORT && mnl_attr_validate(&a, MNL_TYPE_U16) == 0) {
          out.dst_port = ntohs(mnl_attr_get_u16(&a));
        }
      });
    }
  });
}

void ReadExpectExtras(const nlmsghdr& msg, ExpectRecord& out) {
  internal::ForEachTopAttr(msg, [&](const nlattr& attr) {
    const uint16_t type = mnl_attr_get_type(&attr);
    if (type == CTA_EXPECT_CLASS && mnl_attr_validate(&attr, MNL_TYPE_U32) == 0) {
      out.expect_class = ntohl(mnl_attr_get_u32(&attr));
    } else if (type == CTA_EXPECT_NAT) {
      internal::ForEachNestedAttr(attr, [&](const nlattr& nat) {
        if (mnl_attr_get_type(&nat) == CTA_EXPECT_NAT_DIR &&
            mnl_attr_validate(&nat, MNL_TYPE_U32) == 0) {
          out.nat_dir = static_cast<uint8_t>(ntohl(mnl_attr_get_u32(&nat)));
        } else if (mnl_attr_get_type(&nat) == CTA_EXPECT_NAT_TUPLE) {
          ReadRawTuple(nat, out.nat_tuple);
        }
      });
    }
  });
}

void CopyHelper(const char* name, std::array<char, kHelperNameMax>& out) {
  out.fill('\0');
  if (name != nullptr) std::strncpy(out.data(), name, out.size() - 1);
}

}  // namespace

CtParseStatus CtCodec::ParseExpect(const nlmsghdr& msg, ExpectRecord& out) {
  if (msg.nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg)) return CtParseStatus::kTruncated;
  if (NFNL_SUBSYS_ID(msg.nlmsg_type) != NFNL_SUBSYS_CTNETLINK_EXP) {
    return CtParseStatus::kNotConntrack;
  }
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(&msg));
  if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6) {
    return CtParseStatus::kUnsupportedFamily;
  }
  std::memcpy(static_cast<void*>(parse_exp_), blank_exp_, nfexp_maxsize());
  if (nfexp_nlmsg_parse(&msg, parse_exp_) < 0) return CtParseStatus::kMalformed;
  if (nfexp_attr_is_set(parse_exp_, ATTR_EXP_EXPECTED) <= 0 ||
      nfexp_attr_is_set(parse_exp_, ATTR_EXP_MASTER) <= 0) {
    return CtParseStatus::kMissingTuple;
  }
  out = ExpectRecord{};
  out.family = nfg->nfgen_family == AF_INET ? IpFamily::kV4 : IpFamily::kV6;
  const auto* master =
      static_cast<const nf_conntrack*>(nfexp_get_attr(parse_exp_, ATTR_EXP_MASTER));
  const auto* expected =
      static_cast<const nf_conntrack*>(nfexp_get_attr(parse_exp_, ATTR_EXP_EXPECTED));
  internal::ReadTuple(master, false, nfct_get_attr_u8(master, ATTR_ORIG_L4PROTO), out.master);
  internal::ReadTuple(expected, false, nfct_get_attr_u8(expected, ATTR_ORIG_L4PROTO), out.expected);
  if (nfexp_attr_is_set(parse_exp_, ATTR_EXP_MASK) > 0) {
    const auto* mask = static_cast<const nf_conntrack*>(nfexp_get_attr(parse_exp_, ATTR_EXP_MASK));
    internal::ReadTuple(mask, false, nfct_get_attr_u8(mask, ATTR_ORIG_L4PROTO), out.mask);
  }
  out.timeout_s = nfexp_get_attr_u32(parse_exp_, ATTR_EXP_TIMEOUT);
  out.flags = nfexp_get_attr_u32(parse_exp_, ATTR_EXP_FLAGS);
  out.zone = nfexp_get_attr_u16(parse_exp_, ATTR_EXP_ZONE);
  if (nfexp_attr_is_set(parse_exp_, ATTR_EXP_HELPER_NAME) > 0) {
    CopyHelper(static_cast<const char*>(nfexp_get_attr(parse_exp_, ATTR_EXP_HELPER_NAME)),
               out.helper);
  }
  ReadExpectExtras(msg, out);
  return CtParseStatus::kOk;
}

Result<size_t> CtCodec::BuildExpect(ExpWrite write, const ExpectRecord& expect, uint32_t seq,
                                    std::span<uint8_t> out) {
  if (out.size() < kMaxCtMessageBytes) {
    return MakeError(ErrorCode::kInternal, "ct codec: output buffer too small");
  }
  const uint8_t family = expect.family == IpFamily::kV4 ? AF_INET : AF_INET6;
  std::memcpy(static_cast<void*>(build_exp_), blank_exp_, nfexp_maxsize());
  auto set_part = [&](nf_expect_attr attr, const FlowTuple& tuple) {
    nfct_copy(exp_part_, blank_, NFCT_CP_OVERRIDE);
    nfct_set_attr_u8(exp_part_, ATTR_ORIG_L3PROTO, family);
    internal::WriteTuple(exp_part_, false, tuple);
    nfexp_set_attr(build_exp_, attr, exp_part_);
  };
  set_part(ATTR_EXP_EXPECTED, expect.expected);
  nfexp_set_attr_u16(build_exp_, ATTR_EXP_ZONE, expect.zone);
  const bool create = write == ExpWrite::kCreate;
  if (create) {
    set_part(ATTR_EXP_MASTER, expect.master);
    set_part(ATTR_EXP_MASK, expect.mask);
    nfexp_set_attr_u32(build_exp_, ATTR_EXP_TIMEOUT, expect.timeout_s);
    nfexp_set_attr_u32(build_exp_, ATTR_EXP_FLAGS, expect.flags);
    if (expect.helper[0] != '\0') {
      char name[kHelperNameMax + 1] = {};
      std::memcpy(name, expect.helper.data(), expect.helper.size());
      nfexp_set_attr(build_exp_, ATTR_EXP_HELPER_NAME, name);
    }
  }
  const uint16_t type = create ? IPCTNL_MSG_EXP_NEW : IPCTNL_MSG_EXP_DELETE;
  uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
  if (create) flags |= NLM_F_CREATE | NLM_F_EXCL;
  nlmsghdr* nlh = internal::PutHeader(
      out.data(), static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK_EXP << 8) | type), flags, seq,
      family);
  if (nfexp_nlmsg_build(nlh, build_exp_) < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "ct codec: nfexp_nlmsg_build failed");
  }
  if (create) {
    if (expect.expect_class != 0) {
      mnl_attr_put_u32(nlh, CTA_EXPECT_CLASS, htonl(expect.expect_class));
    }
    if (expect.nat_dir != 0xff) {
      nlattr* nat = mnl_attr_nest_start(nlh, CTA_EXPECT_NAT);
      mnl_attr_put_u32(nlh, CTA_EXPECT_NAT_DIR, htonl(expect.nat_dir));
      PutRawTuple(nlh, CTA_EXPECT_NAT_TUPLE, expect.nat_tuple);
      mnl_attr_nest_end(nlh, nat);
    }
    if (const std::string_view fn = ExpectFnFor(expect); !fn.empty() && fn.size() < kExpectFnMax) {
      char name[kExpectFnMax] = {};
      std::memcpy(name, fn.data(), fn.size());
      mnl_attr_put_strz(nlh, CTA_EXPECT_FN, name);
    }
  }
  return static_cast<size_t>(nlh->nlmsg_len);
}

}  // namespace hafw::statesync::io
