#include "carp/io/announcer.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

namespace hafw::carp::io {
namespace {

constexpr size_t kEthHeader = 14;
constexpr size_t kArpBody = 28;
constexpr size_t kMinFrame = 60;  // Ethernet minimum without FCS; pad like a NIC would
constexpr int kHopLimit = 255;    // RFC 4861 §7.1.2: receivers drop NAs with less

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

bool Ipv6Forwarding(const std::string& ifname) {
  if (ifname.empty() || ifname.find('/') != std::string::npos || ifname.size() >= IFNAMSIZ) {
    return false;
  }
  std::ifstream in("/proc/sys/net/ipv6/conf/" + ifname + "/forwarding");
  int value = 0;
  return static_cast<bool>(in >> value) && value != 0;
}

Result<Announcer> Announcer::Open() {
  // Protocol 0: the packet socket only sends, it never queues received frames.
  int packet_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (packet_fd < 0) return tl::unexpected(SysError("AF_PACKET socket"));
  int icmp6_fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (icmp6_fd < 0) {
    Error error = SysError("ICMPv6 socket");  // before close() can change errno
    close(packet_fd);
    return tl::unexpected(std::move(error));
  }
  Announcer announcer(packet_fd, icmp6_fd);
  const int hops = kHopLimit;
  const int off = 0;
  if (setsockopt(icmp6_fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
      setsockopt(icmp6_fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0 ||
      setsockopt(icmp6_fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)) < 0) {
    return tl::unexpected(SysError("ICMPv6 socket options"));
  }
  // Nothing is read from this socket: filter every ICMPv6 type out of its queue.
  icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  setsockopt(icmp6_fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
  return announcer;
}

Announcer::Announcer(Announcer&& other) noexcept
    : packet_fd_(std::exchange(other.packet_fd_, -1)),
      icmp6_fd_(std::exchange(other.icmp6_fd_, -1)),
      counters_(other.counters_) {}

Announcer& Announcer::operator=(Announcer&& other) noexcept {
  if (this != &other) {
    CloseAll();
    packet_fd_ = std::exchange(other.packet_fd_, -1);
    icmp6_fd_ = std::exchange(other.icmp6_fd_, -1);
    counters_ = other.counters_;
  }
  return *this;
}

Announcer::~Announcer() { CloseAll(); }

void Announcer::CloseAll() {
  if (packet_fd_ >= 0) close(packet_fd_);
  if (icmp6_fd_ >= 0) close(icmp6_fd_);
  packet_fd_ = icmp6_fd_ = -1;
}

Result<void> Announcer::GratuitousArp(int ifindex, const MacAddress& mac, const IpAddress& vip) {
  if (!vip.IsV4() || ifindex <= 0) {
    ++counters_.errors;
    return MakeError(ErrorCode::kInvalidArgument, "gratuitous ARP needs an IPv4 VIP and ifindex");
  }
  std::array<uint8_t, kMinFrame> frame{};
  uint8_t* p = frame.data();
  std::memset(p, 0xff, 6);  // Ethernet broadcast
  std::memcpy(p + 6, mac.data(), 6);
  Put16(p + 12, ETH_P_ARP);
  uint8_t* arp = p + kEthHeader;
  Put16(arp, 1);  // hardware type Ethernet
  Put16(arp + 2, ETH_P_IP);
  arp[4] = 6;         // hardware address length
  arp[5] = 4;         // protocol address length
  Put16(arp + 6, 1);  // request: every stack updates its cache from it
  std::memcpy(arp + 8, mac.data(), 6);
  std::memcpy(arp + 14, vip.Bytes().data(), 4);
  // Target hardware address stays zero (RFC 5227 §3); target IP = sender IP.
  std::memcpy(arp + 24, vip.Bytes().data(), 4);
  static_assert(kEthHeader + kArpBody <= kMinFrame);

  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  ssize_t n;
  do {
    n = sendto(packet_fd_, frame.data(), frame.size(), MSG_DONTWAIT,
               reinterpret_cast<sockaddr*>(&to), sizeof(to));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    ++counters_.errors;
    return SysFailure(
        "gratuitous ARP for " + vip.ToString() + " on ifindex " + std::to_string(ifindex), err);
  }
  ++counters_.arps_sent;
  return {};
}

Result<void> Announcer::UnsolicitedNa(const std::string& ifname, int ifindex, const MacAddress& mac,
                                      const IpAddress& vip) {
  if (!vip.IsV6() || ifindex <= 0) {
    ++counters_.errors;
    return MakeError(ErrorCode::kInvalidArgument, "unsolicited NA needs an IPv6 VIP and ifindex");
  }
  // ICMPv6 type 136: header, flags, target, one target link-layer option.
  std::array<uint8_t, 32> na{};
  na[0] = ND_NEIGHBOR_ADVERT;
  na[1] = 0;             // code; the kernel fills the checksum for ICMPv6 raw sockets
  uint8_t flags = 0x20;  // Override
  if (Ipv6Forwarding(ifname)) flags |= 0x80;  // Router
  na[4] = flags;
  std::memcpy(na.data() + 8, vip.Bytes().data(), 16);
  na[24] = ND_OPT_TARGET_LINKADDR;
  na[25] = 1;  // option length in units of 8 bytes
  std::memcpy(na.data() + 26, mac.data(), 6);

  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
  to.sin6_scope_id = static_cast<uint32_t>(ifindex);

  // Source = the VIP itself (as the kernel's own unsolicited NAs do); it is
  // installed with NODAD so it is usable. If the kernel refuses it, let it pick
  // the link-local address.
  iovec iov{na.data(), na.size()};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in6_pktinfo))> control{};
  msghdr msg{};
  msg.msg_name = &to;
  msg.msg_namelen = sizeof(to);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = IPPROTO_IPV6;
  cmsg->cmsg_type = IPV6_PKTINFO;
  cmsg->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo info{};
  info.ipi6_ifindex = static_cast<unsigned>(ifindex);
  std::memcpy(&info.ipi6_addr, vip.Bytes().data(), 16);
  std::memcpy(CMSG_DATA(cmsg), &info, sizeof(info));

  ssize_t n;
  do {
    n = sendmsg(icmp6_fd_, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EADDRNOTAVAIL || errno == EINVAL)) {
    info.ipi6_addr = in6addr_any;
    std::memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
    do {
      n = sendmsg(icmp6_fd_, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
  }
  if (n < 0) {
    const int err = errno;
    ++counters_.errors;
    return SysFailure("unsolicited NA for " + vip.ToString() + " on " + ifname, err);
  }
  ++counters_.nas_sent;
  return {};
}

Result<void> Announcer::Announce(const std::string& ifname, int ifindex, const MacAddress& mac,
                                 const IpAddress& vip) {
  return vip.IsV4() ? GratuitousArp(ifindex, mac, vip) : UnsolicitedNa(ifname, ifindex, mac, vip);
}

}  // namespace hafw::carp::io
