#include "carp/io/rtnetlink_parse.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <span>

namespace hafw::carp::io {
namespace {

int LinkAttrCallback(const nlattr* attr, void* data) {
  auto* attrs = static_cast<LinkAttrs*>(data);
  switch (mnl_attr_get_type(attr)) {
    case IFLA_IFNAME:
      if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) attrs->name = attr;
      break;
    case IFLA_ADDRESS:
      attrs->address = attr;
      break;
    case IFLA_OPERSTATE:
      if (mnl_attr_validate(attr, MNL_TYPE_U8) >= 0) attrs->operstate = attr;
      break;
    case IFLA_LINK:
      if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) attrs->link = attr;
      break;
    case IFLA_LINKINFO:
      if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) attrs->linkinfo = attr;
      break;
    case IFLA_AF_SPEC:
      if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) attrs->af_spec = attr;
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

struct AddrAttrs {
  const nlattr* local = nullptr;
  const nlattr* address = nullptr;
  const nlattr* flags = nullptr;
};

int AddrAttrCallback(const nlattr* attr, void* data) {
  auto* attrs = static_cast<AddrAttrs*>(data);
  switch (mnl_attr_get_type(attr)) {
    case IFA_LOCAL:
      attrs->local = attr;
      break;
    case IFA_ADDRESS:
      attrs->address = attr;
      break;
    case IFA_FLAGS:
      if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) attrs->flags = attr;
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

}  // namespace

std::optional<LinkAttrs> ParseLinkAttrs(const nlmsghdr& msg) {
  if (msg.nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return std::nullopt;
  LinkAttrs attrs;
  if (mnl_attr_parse(&msg, sizeof(ifinfomsg), LinkAttrCallback, &attrs) < 0) return std::nullopt;
  return attrs;
}

std::optional<LinkInfo> ParseLink(const nlmsghdr& msg) {
  if (msg.nlmsg_type != RTM_NEWLINK && msg.nlmsg_type != RTM_DELLINK) return std::nullopt;
  const auto attrs = ParseLinkAttrs(msg);
  if (!attrs || attrs->name == nullptr) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(&msg));
  LinkInfo link;
  link.ifindex = ifi->ifi_index;
  link.flags = ifi->ifi_flags;
  link.name = mnl_attr_get_str(attrs->name);
  if (attrs->address != nullptr && mnl_attr_get_payload_len(attrs->address) == link.mac.size()) {
    std::memcpy(link.mac.data(), mnl_attr_get_payload(attrs->address), link.mac.size());
  }
  if (attrs->operstate != nullptr) link.operstate = mnl_attr_get_u8(attrs->operstate);
  return link;
}

std::optional<InterfaceAddress> ParseAddress(const nlmsghdr& msg) {
  if (msg.nlmsg_type != RTM_NEWADDR && msg.nlmsg_type != RTM_DELADDR) return std::nullopt;
  if (msg.nlmsg_len < mnl_nlmsg_size(sizeof(ifaddrmsg))) return std::nullopt;
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(&msg));
  AddrAttrs attrs;
  if (mnl_attr_parse(&msg, sizeof(ifaddrmsg), AddrAttrCallback, &attrs) < 0) return std::nullopt;
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
  // point-to-point links, and the only one IPv6 usually sends.
  const nlattr* attr = attrs.local != nullptr ? attrs.local : attrs.address;
  if (attr == nullptr) return std::nullopt;
  auto address = IpAddress::FromBytes(std::span<const uint8_t>(
      static_cast<const uint8_t*>(mnl_attr_get_payload(attr)), mnl_attr_get_payload_len(attr)));
  if (!address || ifa->ifa_prefixlen > IpPrefix::MaxLength(address->Family())) {
    return std::nullopt;
  }
  InterfaceAddress entry;
  entry.ifindex = static_cast<int>(ifa->ifa_index);
  entry.prefix = IpPrefix{*address, ifa->ifa_prefixlen};
  entry.flags = attrs.flags != nullptr ? mnl_attr_get_u32(attrs.flags) : ifa->ifa_flags;
  return entry;
}

}  // namespace hafw::carp::io
