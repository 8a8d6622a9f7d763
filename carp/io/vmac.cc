#include "carp/io/vmac.h"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "carp/io/rtnetlink_parse.h"

namespace hafw::carp::io {
namespace {

constexpr size_t kMaxName = IFNAMSIZ - 1;

// mnl_attr_for_each_nested, without its void* to pointer conversion (not C++).
template <typename F>
void ForEachNested(const nlattr* nest, F f) {
  const auto* attr = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
  const char* end = reinterpret_cast<const char*>(nest) + nest->nla_len;
  while (mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)))) {
    f(attr);
    attr = mnl_attr_next(attr);
  }
}

// The fields of IFLA_LINKINFO we need: kind and, for a macvlan, its mode.
void ParseLinkInfo(const nlattr* linkinfo, MacvlanLink& out) {
  ForEachNested(linkinfo, [&](const nlattr* attr) {
    const auto type = mnl_attr_get_type(attr);
    if (type == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0) {
      const char* kind = static_cast<const char*>(mnl_attr_get_payload(attr));
      const size_t len = strnlen(kind, mnl_attr_get_payload_len(attr));
      out.is_macvlan = std::string_view(kind, len) == "macvlan";
    } else if (type == IFLA_INFO_DATA && mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) {
      ForEachNested(attr, [&](const nlattr* data) {
        if (mnl_attr_get_type(data) == IFLA_MACVLAN_MODE &&
            mnl_attr_validate(data, MNL_TYPE_U32) >= 0) {
          out.mode = mnl_attr_get_u32(data);
        }
      });
    }
  });
}

// IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF is an array of u32, entry i-1 for
// IPV4_DEVCONF_<i> (the kernel writes it raw; it reads nested attributes).
std::optional<ArpSettings> ParseArpSettings(const nlattr* af_spec) {
  std::optional<ArpSettings> found;
  ForEachNested(af_spec, [&](const nlattr* family) {
    if (mnl_attr_get_type(family) != AF_INET) return;
    ForEachNested(family, [&](const nlattr* attr) {
      if (mnl_attr_get_type(attr) != IFLA_INET_CONF) return;
      const size_t count = mnl_attr_get_payload_len(attr) / sizeof(uint32_t);
      auto value = [&](int index) -> std::optional<uint32_t> {
        if (index < 1 || static_cast<size_t>(index) > count) return std::nullopt;
        uint32_t v;
        std::memcpy(&v,
                    static_cast<const uint8_t*>(mnl_attr_get_payload(attr)) +
                        (static_cast<size_t>(index) - 1) * sizeof(uint32_t),
                    sizeof(v));
        return v;
      };
      auto ignore = value(IPV4_DEVCONF_ARP_IGNORE);
      auto announce = value(IPV4_DEVCONF_ARP_ANNOUNCE);
      auto rp = value(IPV4_DEVCONF_RP_FILTER);
      if (ignore && announce && rp) found = ArpSettings{*ignore, *announce, *rp};
    });
  });
  return found;
}

nlmsghdr* PutLinkRequest(std::vector<char>& buffer, uint16_t type, uint16_t flags, int ifindex) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  return nlh;
}

}  // namespace

std::string VmacInterfaceName(std::string_view parent, int parent_ifindex, uint8_t vhid) {
  std::string name = "vh" + std::to_string(vhid) + "." + std::string(parent);
  if (name.size() <= kMaxName) return name;
  char hex[16];
  std::snprintf(hex, sizeof(hex), "%x", static_cast<unsigned>(parent_ifindex));
  return "vh" + std::to_string(vhid) + "x" + hex;  // at most 2 + 3 + 1 + 8 = 14
}

ArpSettings ParentArpSettings(const ArpSettings& current) {
  ArpSettings s = current;
  s.arp_ignore = std::max<uint32_t>(s.arp_ignore, 1);
  s.arp_announce = std::max<uint32_t>(s.arp_announce, 2);
  return s;
}

Result<VmacLinks> VmacLinks::Open() {
  auto socket = netlink::NetlinkSocket::Open();
  if (!socket) return tl::unexpected(socket.error());
  return VmacLinks(std::move(*socket));
}

Result<std::optional<MacvlanLink>> VmacLinks::Find(const std::string& name) {
  if (name.empty() || name.size() > kMaxName) {
    return MakeError(ErrorCode::kInvalidArgument, "bad interface name '" + name + "'");
  }
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutLinkRequest(buffer, RTM_GETLINK, 0, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  std::optional<MacvlanLink> found;
  const std::string what = "query link " + name;
  auto result = socket_.Transact(
      nlh,
      [&](const nlmsghdr& msg) {
        if (msg.nlmsg_type != RTM_NEWLINK || msg.nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) {
          return;
        }
        const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(&msg));
        const auto attrs = ParseLinkAttrs(msg);
        if (!attrs) return;
        MacvlanLink link;
        link.ifindex = ifi->ifi_index;
        link.admin_up = (ifi->ifi_flags & IFF_UP) != 0;
        if (attrs->name != nullptr) link.name = mnl_attr_get_str(attrs->name);
        if (attrs->link != nullptr) {
          link.lower_ifindex = static_cast<int>(mnl_attr_get_u32(attrs->link));
        }
        if (attrs->address != nullptr &&
            mnl_attr_get_payload_len(attrs->address) == link.mac.size()) {
          std::memcpy(link.mac.data(), mnl_attr_get_payload(attrs->address), link.mac.size());
        }
        if (attrs->linkinfo != nullptr) ParseLinkInfo(attrs->linkinfo, link);
        found = link;
      },
      what);
  if (!result) {
    if (result.error().sys_errno == ENODEV) return std::optional<MacvlanLink>();
    return tl::unexpected(result.error());
  }
  return found;
}

Result<CreatedVmac> VmacLinks::Create(const std::string& name, int parent_ifindex,
                                      const MacAddress& mac) {
  if (parent_ifindex <= 0) return MakeError(ErrorCode::kInvalidArgument, "vmac: no parent");
  CreatedVmac created;
  auto existing = Find(name);
  if (!existing) return tl::unexpected(existing.error());
  if (*existing) {
    // Ours only if it is a macvlan on this very parent; never delete a link
    // the administrator made.
    if (!(*existing)->is_macvlan || (*existing)->lower_ifindex != parent_ifindex) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "vmac: interface name '" + name +
                           "' is taken by a link that is not a macvlan on the parent");
    }
    auto deleted = Delete((*existing)->ifindex);
    if (!deleted) return tl::unexpected(deleted.error());
    created.replaced_leftover = true;
  }

  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutLinkRequest(buffer, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  mnl_attr_put_u32(nlh, IFLA_LINK, static_cast<uint32_t>(parent_ifindex));
  mnl_attr_put(nlh, IFLA_ADDRESS, mac.size(), mac.data());
  nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "macvlan");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_PRIVATE);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, linkinfo);
  const std::string what = "create macvlan " + name + " (" + MacToString(mac) + ")";
  auto result = socket_.Transact(nlh, nullptr, what);
  if (!result) return tl::unexpected(result.error());

  auto link = Find(name);
  if (!link) return tl::unexpected(link.error());
  if (!*link) return MakeError(ErrorCode::kIo, what + ": gone right after creation");
  created.ifindex = (*link)->ifindex;
  // From here a failure must not leave a half-prepared macvlan behind.
  auto prepared = DisableIpv6AddressGeneration(created.ifindex);
  if (prepared) prepared = SetArpSettings(created.ifindex, kMacvlanArpSettings);
  if (!prepared) {
    (void)Delete(created.ifindex);
    return tl::unexpected(prepared.error());
  }
  return created;
}

Result<void> VmacLinks::DisableIpv6AddressGeneration(int ifindex) {
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutLinkRequest(buffer, RTM_NEWLINK, 0, ifindex);
  nlattr* spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
  nlattr* inet6 = mnl_attr_nest_start(nlh, AF_INET6);
  mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
  mnl_attr_nest_end(nlh, inet6);
  mnl_attr_nest_end(nlh, spec);
  auto result = socket_.Transact(nlh, nullptr, "vmac: IPv6 addr_gen_mode none");
  // No IPv6 on this host (or this interface): nothing to generate either.
  if (!result && result.error().sys_errno == EAFNOSUPPORT) return {};
  return result;
}

Result<void> VmacLinks::SetUp(int ifindex, bool up) {
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutLinkRequest(buffer, RTM_NEWLINK, 0, ifindex);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  const std::string what =
      std::string("vmac: set ifindex ") + std::to_string(ifindex) + (up ? " up" : " down");
  auto result = socket_.Transact(nlh, nullptr, what);
  if (!result && up && result.error().sys_errno == EADDRINUSE) {
    Error error = result.error();
    error.context +=
        ": another macvlan on the parent (keepalived use_vmac?) or the parent itself already "
        "has this MAC";
    return tl::unexpected(std::move(error));
  }
  return result;
}

Result<void> VmacLinks::Delete(int ifindex) {
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutLinkRequest(buffer, RTM_DELLINK, 0, ifindex);
  const std::string what = "vmac: delete ifindex " + std::to_string(ifindex);
  auto result = socket_.Transact(nlh, nullptr, what);
  if (!result && result.error().sys_errno == ENODEV) return {};
  return result;
}

Result<ArpSettings> VmacLinks::GetArpSettings(int ifindex) {
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutLinkRequest(buffer, RTM_GETLINK, 0, ifindex);
  std::optional<ArpSettings> found;
  const std::string what = "read IPv4 settings of ifindex " + std::to_string(ifindex);
  auto result = socket_.Transact(
      nlh,
      [&](const nlmsghdr& msg) {
        if (msg.nlmsg_type != RTM_NEWLINK) return;
        const auto attrs = ParseLinkAttrs(msg);
        if (attrs && attrs->af_spec != nullptr) found = ParseArpSettings(attrs->af_spec);
      },
      what);
  if (!result) return tl::unexpected(result.error());
  if (!found) return MakeError(ErrorCode::kUnavailable, what + ": no IPv4 on the interface");
  return *found;
}

Result<void> VmacLinks::SetArpSettings(int ifindex, const ArpSettings& settings) {
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutLinkRequest(buffer, RTM_NEWLINK, 0, ifindex);
  nlattr* spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
  nlattr* inet = mnl_attr_nest_start(nlh, AF_INET);
  nlattr* conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
  mnl_attr_put_u32(nlh, IPV4_DEVCONF_ARP_IGNORE, settings.arp_ignore);
  mnl_attr_put_u32(nlh, IPV4_DEVCONF_ARP_ANNOUNCE, settings.arp_announce);
  mnl_attr_put_u32(nlh, IPV4_DEVCONF_RP_FILTER, settings.rp_filter);
  mnl_attr_nest_end(nlh, conf);
  mnl_attr_nest_end(nlh, inet);
  mnl_attr_nest_end(nlh, spec);
  const std::string what =
      "set arp_ignore/arp_announce/rp_filter of ifindex " + std::to_string(ifindex);
  return socket_.Transact(nlh, nullptr, what);
}

}  // namespace hafw::carp::io
