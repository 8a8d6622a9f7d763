#pragma once

// Pieces the flow and expectation halves of the ctnetlink codec share.
// Internal to statesync/io (ct_codec*.cc and their tests).

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include <linux/netfilter/nfnetlink.h>

#include <cstddef>
#include <cstdint>

#include "common/ip_address.h"
#include "statesync/core/flow.h"

struct nlmsghdr;

namespace hafw::statesync::io::internal {

inline constexpr unsigned kLabelBits = 128;

// The address of a tuple end, from the IPv4 attribute when set, else IPv6.
IpAddress GetAddress(const nf_conntrack* ct, nf_conntrack_attr v4, nf_conntrack_attr v6);
void SetAddress(nf_conntrack* ct, const IpAddress& address, nf_conntrack_attr v4,
                nf_conntrack_attr v6);

// One tuple of `ct` (the original one, or the reply one) to and from FlowTuple.
// The reply tuple's ICMP fields have no getter (see ct_codec.cc): ReadTuple
// leaves them to ReadIcmpReply.
void ReadTuple(const nf_conntrack* ct, bool reply, uint8_t l4proto, FlowTuple& out);
void WriteTuple(nf_conntrack* ct, bool reply, const FlowTuple& tuple);
// ICMP id/type/code of CTA_TUPLE_REPLY, read from the message itself.
void ReadIcmpReply(const nlmsghdr& msg, FlowTuple& reply);

void BitmaskToLabels(const nfct_bitmask* bits, Labels& out);
void LabelsToBitmask(const Labels& labels, nfct_bitmask* out);

// Calls fn(const nlattr&) for each well-formed attribute in [start, start+len)
// (libmnl's iteration macros do not compile as C++ on const data).
template <typename Fn>
void ForEachAttr(const void* start, size_t len, Fn fn) {
  const auto* attr = static_cast<const nlattr*>(start);
  int remaining = static_cast<int>(len);
  while (mnl_attr_ok(attr, remaining)) {
    fn(*attr);
    remaining -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    attr = mnl_attr_next(attr);
  }
}
// The attributes after a netfilter message's nfgenmsg header.
template <typename Fn>
void ForEachTopAttr(const nlmsghdr& msg, Fn fn) {
  const size_t header = MNL_ALIGN(sizeof(nfgenmsg));
  if (mnl_nlmsg_get_payload_len(&msg) < header) return;
  ForEachAttr(static_cast<const uint8_t*>(mnl_nlmsg_get_payload(&msg)) + header,
              mnl_nlmsg_get_payload_len(&msg) - header, fn);
}
template <typename Fn>
void ForEachNestedAttr(const nlattr& nest, Fn fn) {
  ForEachAttr(mnl_attr_get_payload(&nest), mnl_attr_get_payload_len(&nest), fn);
}

// nlmsghdr + nfgenmsg (version 0, res_id 0) at `buf`; the caller guarantees room.
nlmsghdr* PutHeader(uint8_t* buf, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family);

}  // namespace hafw::statesync::io::internal
