#include "carp/io/address_manager.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "carp/io/rtnetlink_parse.h"

namespace hafw::carp::io {
namespace {

int Family(const IpAddress& address) { return address.IsV4() ? AF_INET : AF_INET6; }

}  // namespace

nlmsghdr* PutAddressDump(char* buffer) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* req = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  req->ifa_family = AF_UNSPEC;
  return nlh;
}

Result<AddressManager> AddressManager::Open() {
  auto socket = netlink::NetlinkSocket::Open();
  if (!socket) return tl::unexpected(socket.error());
  return AddressManager(std::move(*socket));
}

Result<void> AddressManager::Change(uint16_t type, uint16_t flags, int ifindex,
                                    const IpPrefix& prefix) {
  if (ifindex <= 0) return MakeError(ErrorCode::kInvalidArgument, "address change: no ifindex");
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<uint8_t>(Family(prefix.address));
  ifa->ifa_prefixlen = prefix.length;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(ifindex);
  const auto bytes = prefix.address.Bytes();
  mnl_attr_put(nlh, IFA_LOCAL, bytes.size(), bytes.data());
  mnl_attr_put(nlh, IFA_ADDRESS, bytes.size(), bytes.data());
  if (type == RTM_NEWADDR && prefix.address.IsV6()) {
    // A VIP must be usable at once: the peer that owned it is gone or leaving.
    ifa->ifa_flags = IFA_F_NODAD;
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  }
  const std::string what = std::string(type == RTM_NEWADDR ? "add " : "remove ") +
                           prefix.ToString() + " on ifindex " + std::to_string(ifindex);
  auto result = socket_.Transact(nlh, nullptr, what);
  if (!result) {
    const int err = result.error().sys_errno;
    if (type == RTM_NEWADDR && err == EEXIST) return {};
    if (type == RTM_DELADDR && err == EADDRNOTAVAIL) return {};
  }
  return result;
}

Result<void> AddressManager::Add(int ifindex, const IpPrefix& prefix) {
  return Change(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, prefix);
}

Result<void> AddressManager::Remove(int ifindex, const IpPrefix& prefix) {
  return Change(RTM_DELADDR, 0, ifindex, prefix);
}

Result<std::vector<InterfaceAddress>> AddressManager::List(int ifindex) {
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutAddressDump(buffer.data());
  std::vector<InterfaceAddress> out;
  auto on_message = [&](const nlmsghdr& msg) {
    if (msg.nlmsg_type != RTM_NEWADDR) return;
    auto entry = ParseAddress(msg);
    if (entry && (ifindex == 0 || entry->ifindex == ifindex)) out.push_back(*entry);
  };
  auto result = socket_.Transact(nlh, on_message, "list addresses");
  if (!result) return tl::unexpected(result.error());
  return out;
}

Result<int> AddressManager::RemoveIfPresent(int ifindex, std::span<const IpPrefix> prefixes) {
  auto present = List(ifindex);
  if (!present) return tl::unexpected(present.error());
  int removed = 0;
  for (const InterfaceAddress& entry : *present) {
    const bool wanted = std::any_of(prefixes.begin(), prefixes.end(), [&](const IpPrefix& p) {
      return p.address == entry.prefix.address;
    });
    if (!wanted) continue;
    auto result = Remove(ifindex, entry.prefix);
    if (!result) return tl::unexpected(result.error());
    ++removed;
  }
  return removed;
}

}  // namespace hafw::carp::io
