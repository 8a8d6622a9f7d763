#include "carp/io/address_manager.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

namespace hafw::carp::io {
namespace {

int Family(const IpAddress& address) { return address.IsV4() ? AF_INET : AF_INET6; }

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

bool InterfaceAddress::Tentative() const {
  return (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) != 0;
}

Result<AddressManager> AddressManager::Open() {
  auto socket = NetlinkSocket::Open();
  if (!socket) return tl::unexpected(socket.error());
  return AddressManager(std::move(*socket));
}

Result<void> AddressManager::Change(uint16_t type, uint16_t flags, int ifindex,
                                    const IpPrefix& prefix) {
  if (ifindex <= 0) return MakeError(ErrorCode::kInvalidArgument, "address change: no ifindex");
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
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
  auto result = socket_.Transact(nlh, nullptr, what.c_str());
  if (!result) {
    const int err = socket_.LastErrno();
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
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* req = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  req->ifa_family = AF_UNSPEC;

  std::vector<InterfaceAddress> out;
  auto on_message = [&](const nlmsghdr& msg) {
    if (msg.nlmsg_type != RTM_NEWADDR) return;
    if (msg.nlmsg_len < mnl_nlmsg_size(sizeof(ifaddrmsg))) return;
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(&msg));
    if (ifindex != 0 && static_cast<int>(ifa->ifa_index) != ifindex) return;
    AddrAttrs attrs;
    if (mnl_attr_parse(&msg, sizeof(ifaddrmsg), AddrAttrCallback, &attrs) < 0) return;
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
    // point-to-point links, and the only one IPv6 usually sends.
    const nlattr* attr = attrs.local != nullptr ? attrs.local : attrs.address;
    if (attr == nullptr) return;
    auto address = IpAddress::FromBytes(std::span<const uint8_t>(
        static_cast<const uint8_t*>(mnl_attr_get_payload(attr)), mnl_attr_get_payload_len(attr)));
    if (!address) return;
    InterfaceAddress entry;
    entry.ifindex = static_cast<int>(ifa->ifa_index);
    entry.prefix = IpPrefix{*address, ifa->ifa_prefixlen};
    entry.flags = attrs.flags != nullptr ? mnl_attr_get_u32(attrs.flags) : ifa->ifa_flags;
    out.push_back(entry);
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
