#include "firewall/nft/scratch_netns.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "netlink/netlink_socket.h"

namespace hafw::firewall::nft {

namespace {

constexpr const char* kThreadNetns = "/proc/thread-self/ns/net";
// IF_OPER_UP of linux/if.h, which cannot be included beside net/if.h.
constexpr uint8_t kOperUp = 6;

nlmsghdr* PutLink(std::vector<char>& buffer, uint16_t flags, int ifindex) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  return nlh;
}

// In the calling thread's namespace.
Result<void> LinkUp(netlink::NetlinkSocket& socket, const std::string& ifname) {
  const unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) return SysFailure("scratch netns: " + ifname);
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutLink(buffer, 0, static_cast<int>(index));
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return socket.Transact(nlh, nullptr, "scratch netns: " + ifname + " up");
}

// Whether `ifname` is operationally up: the kernel's link watcher has seen
// its carrier and activated its queue. Until then a veth end drops what is
// sent through it, and the link watcher may take up to a second.
Result<bool> OperUp(netlink::NetlinkSocket& socket, const std::string& ifname) {
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname.c_str());
  bool up = false;
  auto done = socket.Transact(
      nlh,
      [&](const nlmsghdr& msg) {
        if (msg.nlmsg_type != RTM_NEWLINK) return;
        mnl_attr_parse(
            &msg, sizeof(ifinfomsg),
            [](const nlattr* attr, void* data) {
              if (mnl_attr_get_type(attr) == IFLA_OPERSTATE &&
                  mnl_attr_validate(attr, MNL_TYPE_U8) >= 0) {
                *static_cast<bool*>(data) = mnl_attr_get_u8(attr) == kOperUp;
              }
              return MNL_CB_OK;
            },
            &up);
      },
      "scratch netns: state of " + ifname);
  if (!done) return tl::unexpected(done.error());
  return up;
}

// Waits (bounded) until `ifname` is operationally up.
Result<void> WaitOperUp(netlink::NetlinkSocket& socket, const std::string& ifname) {
  constexpr auto kLimit = std::chrono::seconds(3);
  const auto deadline = std::chrono::steady_clock::now() + kLimit;
  for (;;) {
    auto up = OperUp(socket, ifname);
    if (!up) return tl::unexpected(up.error());
    if (*up) return {};
    if (std::chrono::steady_clock::now() >= deadline) {
      return MakeError(ErrorCode::kUnavailable, "scratch netns: " + ifname + " never came up");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

Result<ScratchNetns> ScratchNetns::Create() {
  const int saved = open(kThreadNetns, O_RDONLY | O_CLOEXEC);
  if (saved < 0) return SysFailure("scratch netns: open own namespace");
  // Only this thread moves: network namespaces are per thread.
  if (unshare(CLONE_NEWNET) != 0) {
    const int err = errno;
    close(saved);
    return SysFailure("scratch netns: unshare", err);
  }
  const int fd = open(kThreadNetns, O_RDONLY | O_CLOEXEC);
  const int open_errno = errno;
  Result<void> lo = {};
  if (fd >= 0) {
    auto socket = netlink::NetlinkSocket::Open(netlink::Protocol::kRoute);
    lo = socket ? LinkUp(*socket, "lo") : tl::unexpected(socket.error());
  }
  if (setns(saved, CLONE_NEWNET) != 0) {
    // Carrying on would leave this thread in the scratch namespace.
    std::abort();
  }
  close(saved);
  if (fd < 0) return SysFailure("scratch netns: open", open_errno);
  ScratchNetns ns(fd);
  if (!lo) return tl::unexpected(lo.error());
  return ns;
}

ScratchNetns::ScratchNetns(ScratchNetns&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

ScratchNetns& ScratchNetns::operator=(ScratchNetns&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ScratchNetns::~ScratchNetns() {
  if (fd_ >= 0) close(fd_);
}

Result<int> ScratchNetns::Enter() {
  const int saved = open(kThreadNetns, O_RDONLY | O_CLOEXEC);
  if (saved < 0) return SysFailure("scratch netns: open own namespace");
  if (setns(fd_, CLONE_NEWNET) != 0) {
    const int err = errno;
    close(saved);
    return SysFailure("scratch netns: enter", err);
  }
  return saved;
}

Result<void> ScratchNetns::Leave(int saved) {
  const bool back = setns(saved, CLONE_NEWNET) == 0;
  close(saved);
  if (!back) std::abort();  // see Create()
  return {};
}

Result<void> ScratchNetns::AddVeth(const std::string& name, ScratchNetns& peer,
                                   const std::string& peer_name) {
  auto created = Run([&]() -> Result<void> {
    auto socket = netlink::NetlinkSocket::Open(netlink::Protocol::kRoute);
    if (!socket) return tl::unexpected(socket.error());
    std::vector<char> buffer(netlink::kRequestBufferSize);
    nlmsghdr* nlh = PutLink(buffer, NLM_F_CREATE | NLM_F_EXCL, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    nlattr* peer_info = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name.c_str());
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(peer.fd_));
    mnl_attr_nest_end(nlh, peer_info);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    auto made = socket->Transact(nlh, nullptr, "scratch netns: veth " + name);
    if (!made) return made;
    return LinkUp(*socket, name);
  });
  if (!created) return tl::unexpected(created.error());
  if (!*created) return *created;
  auto up = peer.Run([&]() -> Result<void> {
    auto socket = netlink::NetlinkSocket::Open(netlink::Protocol::kRoute);
    if (!socket) return tl::unexpected(socket.error());
    auto linked = LinkUp(*socket, peer_name);
    if (!linked) return linked;
    return WaitOperUp(*socket, peer_name);
  });
  if (!up) return tl::unexpected(up.error());
  if (!*up) return *up;
  auto ready = Run([&]() -> Result<void> {
    auto socket = netlink::NetlinkSocket::Open(netlink::Protocol::kRoute);
    if (!socket) return tl::unexpected(socket.error());
    return WaitOperUp(*socket, name);
  });
  if (!ready) return tl::unexpected(ready.error());
  return *ready;
}

Result<void> ScratchNetns::AddAddress(const std::string& ifname, const IpPrefix& prefix) {
  auto added = Run([&]() -> Result<void> {
    const unsigned index = if_nametoindex(ifname.c_str());
    if (index == 0) return SysFailure("scratch netns: " + ifname);
    auto socket = netlink::NetlinkSocket::Open(netlink::Protocol::kRoute);
    if (!socket) return tl::unexpected(socket.error());
    std::vector<char> buffer(netlink::kRequestBufferSize);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = prefix.address.IsV4() ? AF_INET : AF_INET6;
    ifa->ifa_prefixlen = prefix.length;
    ifa->ifa_index = index;
    ifa->ifa_flags = prefix.address.IsV6() ? IFA_F_NODAD : 0;
    const auto bytes = prefix.address.Bytes();
    mnl_attr_put(nlh, IFA_LOCAL, bytes.size(), bytes.data());
    mnl_attr_put(nlh, IFA_ADDRESS, bytes.size(), bytes.data());
    return socket->Transact(nlh, nullptr, "scratch netns: address " + prefix.ToString());
  });
  if (!added) return tl::unexpected(added.error());
  return *added;
}

}  // namespace hafw::firewall::nft
