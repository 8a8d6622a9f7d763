#include "carp/io/carp_socket.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <utility>

#include <boost/system/error_code.hpp>

#include "carp/core/codec.h"

namespace hafw::carp::io {
namespace {

constexpr uint8_t kTosLowDelay = 0x10;   // IPTOS_LOWDELAY, as OpenBSD and UCARP send
constexpr size_t kReceiveBuffer = 2048;  // CARP is 36 bytes; anything near this is hostile
constexpr int kDrainLimit = 64;          // datagrams per wake-up, then yield to the loop

Result<void> SetOpt(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) < 0) {
    return tl::unexpected(SysError(what));
  }
  return {};
}

IpAddress FromV4(const in_addr& a) {
  std::array<uint8_t, 4> bytes;
  std::memcpy(bytes.data(), &a, 4);
  return IpAddress::V4(bytes);
}

IpAddress FromV6(const in6_addr& a) {
  std::array<uint8_t, 16> bytes;
  std::memcpy(bytes.data(), &a, 16);
  return IpAddress::V6(bytes);
}

struct IntOpt {
  int name;
  int value;
  const char* what;
};

// Stops at the first failure; the caller then discards the socket.
Result<void> SetOpts(int fd, int level, std::initializer_list<IntOpt> opts) {
  for (const IntOpt& opt : opts) {
    auto r = SetOpt(fd, level, opt.name, opt.value, opt.what);
    if (!r) return r;
  }
  return {};
}

// What both the receiving and the send-only socket need: the egress
// interface, TTL / hop limit 255 (receivers drop anything less), no loopback.
Result<void> ConfigureSending(int fd, IpFamily family, int ifindex) {
  if (family == IpFamily::kV6) {
    return SetOpts(fd, IPPROTO_IPV6,
                   {{IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF"},
                    {IPV6_MULTICAST_HOPS, kRequiredTtl, "IPV6_MULTICAST_HOPS"},
                    {IPV6_UNICAST_HOPS, kRequiredTtl, "IPV6_UNICAST_HOPS"},
                    {IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP"}});
  }
  // IP_MULTICAST_IF takes a struct, not an int.
  ip_mreqn out{};
  out.imr_ifindex = ifindex;
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof(out)) < 0) {
    return tl::unexpected(SysError("IP_MULTICAST_IF"));
  }
  return SetOpts(fd, IPPROTO_IP,
                 {{IP_MULTICAST_TTL, kRequiredTtl, "IP_MULTICAST_TTL"},
                  {IP_TTL, kRequiredTtl, "IP_TTL"},
                  {IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP"},
                  {IP_TOS, kTosLowDelay, "IP_TOS"},
                  {IP_MTU_DISCOVER, IP_PMTUDISC_DO, "IP_MTU_DISCOVER"}});
}

Result<void> JoinGroup(int fd, IpFamily family, int ifindex) {
  if (family == IpFamily::kV6) {
    ipv6_mreq mreq{};
    const IpAddress group = carp::CarpGroupAddress(IpFamily::kV6);
    std::memcpy(&mreq.ipv6mr_multiaddr, group.Bytes().data(), group.Bytes().size());
    mreq.ipv6mr_interface = static_cast<unsigned>(ifindex);
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq)) < 0) {
      return tl::unexpected(SysError("IPV6_JOIN_GROUP ff02::12"));
    }
    return {};
  }
  ip_mreqn mreq{};
  const IpAddress group = carp::CarpGroupAddress(IpFamily::kV4);
  std::memcpy(&mreq.imr_multiaddr, group.Bytes().data(), group.Bytes().size());
  mreq.imr_ifindex = ifindex;
  if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) {
    return tl::unexpected(SysError("IP_ADD_MEMBERSHIP 224.0.0.18"));
  }
  return {};
}

// Receive: the group, the sending options, and the TTL / hop limit and
// destination of each datagram as control messages.
Result<void> ConfigureReceive(int fd, IpFamily family, int ifindex) {
  auto r = JoinGroup(fd, family, ifindex);
  if (r) r = ConfigureSending(fd, family, ifindex);
  if (!r) return r;
  if (family == IpFamily::kV6) {
    return SetOpts(
        fd, IPPROTO_IPV6,
        {{IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"}, {IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"}});
  }
  return SetOpts(fd, IPPROTO_IP, {{IP_RECVTTL, 1, "IP_RECVTTL"}});
}

// Send-only: the sending options and no group. It sends from the parent's
// address, which is not an address of the macvlan; without FREEBIND the
// kernel refuses it (EINVAL).
Result<void> ConfigureSendOnly(int fd, IpFamily family, int ifindex) {
  auto r = ConfigureSending(fd, family, ifindex);
  if (!r) return r;
  if (family == IpFamily::kV6) {
    return SetOpts(fd, IPPROTO_IPV6, {{IPV6_FREEBIND, 1, "IPV6_FREEBIND"}});
  }
  return SetOpts(fd, IPPROTO_IP, {{IP_FREEBIND, 1, "IP_FREEBIND"}});
}

Result<void> BindToDevice(int fd, const std::string& ifname) {
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                 static_cast<socklen_t>(ifname.size() + 1)) < 0) {
    return tl::unexpected(SysError("SO_BINDTODEVICE"));
  }
  return {};
}

// A raw CARP socket of `family`, after checking the interface arguments.
Result<int> OpenRawSocket(IpFamily family, const std::string& ifname, int ifindex) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ || ifindex <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "carp socket: bad interface '" + ifname + "'");
  }
  const int domain = family == IpFamily::kV4 ? AF_INET : AF_INET6;
  int fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kIpProtocolCarp);
  if (fd < 0) return tl::unexpected(SysError("carp socket"));
  return fd;
}

Result<void> DropEverything(int fd) {
  sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
  sock_fprog program{1, code};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) < 0) {
    return tl::unexpected(SysError("SO_ATTACH_FILTER"));
  }
  return {};
}

}  // namespace

tl::expected<Ipv4View, Ipv4Problem> ParseIpv4Packet(std::span<const uint8_t> packet) {
  if (packet.size() < sizeof(iphdr)) return tl::unexpected(Ipv4Problem::kShort);
  iphdr ip;
  std::memcpy(&ip, packet.data(), sizeof(ip));
  const size_t header_len = static_cast<size_t>(ip.ihl) * 4;
  const size_t total_len = ntohs(ip.tot_len);
  if (ip.version != 4 || header_len < sizeof(iphdr) || ip.protocol != kIpProtocolCarp ||
      total_len < header_len) {
    return tl::unexpected(Ipv4Problem::kBadHeader);
  }
  if (header_len > packet.size() || total_len > packet.size()) {
    return tl::unexpected(Ipv4Problem::kTruncated);
  }
  Ipv4View view;
  in_addr a;
  a.s_addr = ip.saddr;
  view.source = FromV4(a);
  a.s_addr = ip.daddr;
  view.destination = FromV4(a);
  view.ttl = ip.ttl;
  view.payload = packet.subspan(header_len, total_len - header_len);
  return view;
}

Result<std::unique_ptr<CarpSocket>> CarpSocket::Open(boost::asio::io_context& io, IpFamily family,
                                                     const std::string& ifname, int ifindex,
                                                     ReceiveFn on_receive,
                                                     LocalAddressFn is_local) {
  auto fd = OpenRawSocket(family, ifname, ifindex);
  if (!fd) return tl::unexpected(fd.error());
  // From here the CarpSocket owns fd (the descriptor closes it).
  std::unique_ptr<CarpSocket> sock(
      new CarpSocket(io, *fd, family, ifname, ifindex, std::move(on_receive), std::move(is_local)));
  const std::string prefix = "carp " + std::string(IpFamilyName(family)) + " socket on " + ifname;
  auto configured = BindToDevice(*fd, ifname);
  if (configured) configured = ConfigureReceive(*fd, family, ifindex);
  if (!configured) {
    Error error = configured.error();
    error.context = prefix + ": " + error.context;
    return tl::unexpected(std::move(error));
  }
  sock->ArmRead();
  return sock;
}

Result<std::unique_ptr<CarpSocket>> CarpSocket::OpenSendOnly(boost::asio::io_context& io,
                                                             IpFamily family,
                                                             const std::string& ifname,
                                                             int ifindex) {
  auto fd = OpenRawSocket(family, ifname, ifindex);
  if (!fd) return tl::unexpected(fd.error());
  std::unique_ptr<CarpSocket> sock(new CarpSocket(io, *fd, family, ifname, ifindex, {}, {}));
  sock->send_only_ = true;
  const std::string prefix =
      "carp " + std::string(IpFamilyName(family)) + " send socket on " + ifname;
  auto configured = DropEverything(*fd);
  if (configured) configured = BindToDevice(*fd, ifname);
  if (configured) configured = ConfigureSendOnly(*fd, family, ifindex);
  if (!configured) {
    Error error = configured.error();
    error.context = prefix + ": " + error.context;
    return tl::unexpected(std::move(error));
  }
  return sock;
}

CarpSocket::CarpSocket(boost::asio::io_context& io, int fd, IpFamily family, std::string ifname,
                       int ifindex, ReceiveFn on_receive, LocalAddressFn is_local)
    : descriptor_(io, fd),
      family_(family),
      ifname_(std::move(ifname)),
      ifindex_(ifindex),
      on_receive_(std::move(on_receive)),
      is_local_(std::move(is_local)) {}

CarpSocket::~CarpSocket() { Close(); }

void CarpSocket::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  descriptor_.cancel(ignored);
  descriptor_.close(ignored);
}

Result<void> CarpSocket::Send(const IpAddress& source,
                              const std::optional<IpAddress>& unicast_destination,
                              std::span<const uint8_t> carp_bytes) {
  const IpAddress destination = unicast_destination.value_or(carp::CarpGroupAddress(family_));
  if (closed_) {
    ++counters_.send_errors;
    return MakeError(ErrorCode::kUnavailable, "carp socket on " + ifname_ + " is closed");
  }
  if (source.Family() != family_ || destination.Family() != family_) {
    ++counters_.send_errors;
    return MakeError(ErrorCode::kInvalidArgument, "carp send on " + ifname_ + ": family mismatch");
  }
  iovec iov{const_cast<uint8_t*>(carp_bytes.data()), carp_bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in6_pktinfo))> control{};
  msg.msg_control = control.data();
  sockaddr_in dst4{};
  sockaddr_in6 dst6{};
  if (family_ == IpFamily::kV4) {
    dst4.sin_family = AF_INET;
    std::memcpy(&dst4.sin_addr, destination.Bytes().data(), 4);
    msg.msg_name = &dst4;
    msg.msg_namelen = sizeof(dst4);
    msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = IPPROTO_IP;
    cmsg->cmsg_type = IP_PKTINFO;
    cmsg->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_ifindex = ifindex_;
    // ipi_spec_dst is the source address the kernel puts in the header.
    std::memcpy(&info.ipi_spec_dst, source.Bytes().data(), 4);
    std::memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
  } else {
    dst6.sin6_family = AF_INET6;
    std::memcpy(&dst6.sin6_addr, destination.Bytes().data(), 16);
    if (destination.IsScopeEmbedded()) dst6.sin6_scope_id = static_cast<uint32_t>(ifindex_);
    msg.msg_name = &dst6;
    msg.msg_namelen = sizeof(dst6);
    msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = IPPROTO_IPV6;
    cmsg->cmsg_type = IPV6_PKTINFO;
    cmsg->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    info.ipi6_ifindex = static_cast<unsigned>(ifindex_);
    std::memcpy(&info.ipi6_addr, source.Bytes().data(), 16);
    std::memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
  }
  ssize_t n;
  do {
    n = sendmsg(descriptor_.native_handle(), &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    ++counters_.send_errors;
    return SysFailure(
        "carp send " + source.ToString() + " -> " + destination.ToString() + " on " + ifname_, err);
  }
  ++counters_.sent;
  return {};
}

void CarpSocket::ArmRead() {
  if (closed_ || send_only_) return;
  std::weak_ptr<int> alive = alive_;
  descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [this, alive](const boost::system::error_code& error) {
                           if (alive.expired() || error) return;
                           OnReadable();
                         });
}

void CarpSocket::OnReadable() {
  std::weak_ptr<int> alive = alive_;
  for (int i = 0; i < kDrainLimit; ++i) {
    if (closed_ || !ReceiveOne()) break;
    if (alive.expired()) return;  // the callback destroyed us
  }
  ArmRead();
}

bool CarpSocket::ReceiveOne() {
  alignas(8) std::array<uint8_t, kReceiveBuffer> buffer;
  alignas(cmsghdr) std::array<char, 256> control;
  sockaddr_storage from{};
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n = recvmsg(descriptor_.native_handle(), &msg, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EINTR) return true;
    if (errno != EAGAIN && errno != EWOULDBLOCK) ++counters_.receive_errors;
    return false;
  }
  if ((msg.msg_flags & MSG_TRUNC) != 0) {
    ++counters_.truncated;
    return true;
  }
  std::span<const uint8_t> data(buffer.data(), static_cast<size_t>(n));
  if (family_ == IpFamily::kV4) {
    HandleV4(data, msg);
  } else {
    HandleV6(data, msg);
  }
  return true;
}

void CarpSocket::HandleV4(std::span<const uint8_t> packet, const msghdr& msg) {
  auto view = ParseIpv4Packet(packet);
  if (!view) {
    switch (view.error()) {
      case Ipv4Problem::kShort:
        ++counters_.short_packets;
        break;
      case Ipv4Problem::kTruncated:
        ++counters_.truncated;
        break;
      case Ipv4Problem::kBadHeader:
        ++counters_.bad_ip_header;
        break;
    }
    return;
  }
  carp::PacketInfo info;
  info.family = IpFamily::kV4;
  info.source = view->source;
  info.destination = view->destination;
  info.ttl = view->ttl;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int ttl;
      std::memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
      info.ttl = static_cast<uint8_t>(ttl);
    }
  }
  info.from_local_address = is_local_ && is_local_(info.source);
  ++counters_.received;
  if (on_receive_) on_receive_(info, view->payload);
}

void CarpSocket::HandleV6(std::span<const uint8_t> payload, const msghdr& msg) {
  if (msg.msg_namelen < sizeof(sockaddr_in6)) {
    ++counters_.bad_ip_header;
    return;
  }
  const auto* from = static_cast<const sockaddr_in6*>(msg.msg_name);
  carp::PacketInfo info;
  info.family = IpFamily::kV6;
  info.source = FromV6(from->sin6_addr);
  bool have_destination = false;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level != IPPROTO_IPV6) continue;
    if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int hops;
      std::memcpy(&hops, CMSG_DATA(c), sizeof(hops));
      info.ttl = static_cast<uint8_t>(hops);
    } else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo pktinfo;
      std::memcpy(&pktinfo, CMSG_DATA(c), sizeof(pktinfo));
      info.destination = FromV6(pktinfo.ipi6_addr);
      have_destination = true;
    }
  }
  if (!have_destination) {
    // Without the destination the engine cannot check the group; count it
    // rather than guess.
    ++counters_.bad_ip_header;
    return;
  }
  info.from_local_address = is_local_ && is_local_(info.source);
  ++counters_.received;
  if (on_receive_) on_receive_(info, payload);
}

}  // namespace hafw::carp::io
