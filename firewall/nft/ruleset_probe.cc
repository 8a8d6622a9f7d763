#include "firewall/nft/ruleset_probe.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <utility>

#include "firewall/core/table_text.h"
#include "firewall/nft/nft_session.h"
#include "firewall/nft/scratch_netns.h"

namespace hafw::firewall::nft {

namespace {

constexpr const char* kCarpGroupV4 = "224.0.0.18";
constexpr const char* kCarpGroupV6 = "ff02::12";
constexpr int kCarpTtl = 255;

// A descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int Get() const { return fd_; }
  bool Ok() const { return fd_ >= 0; }

 private:
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_;
};

socklen_t ToSockaddr(const IpAddress& a, uint16_t port, unsigned ifindex, sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  if (a.IsV4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(out);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    std::memcpy(&s->sin_addr, a.Bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(out);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(port);
  std::memcpy(&s->sin6_addr, a.Bytes().data(), 16);
  if (a.IsScopeEmbedded()) s->sin6_scope_id = ifindex;
  return sizeof(sockaddr_in6);
}

IpAddress CarpGroup(IpFamily family) {
  return *IpAddress::Parse(family == IpFamily::kV4 ? kCarpGroupV4 : kCarpGroupV6);
}

// A raw protocol-112 socket on `ifname` that has joined the CARP group (in
// the calling thread's namespace).
Fd CarpReceiver(IpFamily family, const std::string& ifname) {
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  const bool v4 = family == IpFamily::kV4;
  Fd fd(socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kCarpProtocol));
  if (!fd.Ok() || ifindex == 0) return Fd();
  const IpAddress group_address = CarpGroup(family);
  const auto group = group_address.Bytes();
  int rc = 0;
  if (v4) {
    ip_mreqn mreq{};
    std::memcpy(&mreq.imr_multiaddr, group.data(), 4);
    mreq.imr_ifindex = static_cast<int>(ifindex);
    rc = setsockopt(fd.Get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq));
  } else {
    ipv6_mreq mreq{};
    std::memcpy(&mreq.ipv6mr_multiaddr, group.data(), 16);
    mreq.ipv6mr_interface = ifindex;
    rc = setsockopt(fd.Get(), IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq));
  }
  return rc == 0 ? std::move(fd) : Fd();
}

// One advertisement-sized packet to the CARP group from `source` out of `ifname`.
bool SendCarp(const IpAddress& source, const std::string& ifname) {
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  const bool v4 = source.IsV4();
  Fd fd(socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, kCarpProtocol));
  if (!fd.Ok() || ifindex == 0) return false;
  const int ttl = kCarpTtl;
  bool ok = false;
  if (v4) {
    ip_mreqn mreq{};
    mreq.imr_ifindex = static_cast<int>(ifindex);
    ok = setsockopt(fd.Get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) == 0 &&
         setsockopt(fd.Get(), IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) == 0;
  } else {
    ok = setsockopt(fd.Get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl)) == 0 &&
         setsockopt(fd.Get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) == 0;
  }
  sockaddr_storage src{};
  sockaddr_storage dst{};
  const socklen_t src_len = ToSockaddr(source, 0, ifindex, &src);
  const socklen_t dst_len = ToSockaddr(CarpGroup(source.Family()), 0, ifindex, &dst);
  std::array<uint8_t, 36> payload{};  // the size of an advertisement; content irrelevant
  return ok && bind(fd.Get(), reinterpret_cast<sockaddr*>(&src), src_len) == 0 &&
         sendto(fd.Get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&dst),
                dst_len) == static_cast<ssize_t>(payload.size());
}

// Whether a packet from `source` reaches `fd` within `wait`.
bool Receives(const Fd& fd, const IpAddress& source, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::array<uint8_t, 2048> buf{};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd.Get(), POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    if (recvfrom(fd.Get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len) <
        0) {
      continue;
    }
    const void* addr =
        from.ss_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&from)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr);
    if (std::memcmp(addr, source.Bytes().data(), source.Bytes().size()) == 0) return true;
  }
}

// A TCP listener on `address`:`port` (in the calling thread's namespace).
Fd Listener(const IpAddress& address, uint16_t port, const std::string& ifname) {
  Fd fd(socket(address.IsV4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_storage sa{};
  const socklen_t len = ToSockaddr(address, port, if_nametoindex(ifname.c_str()), &sa);
  const int on = 1;
  if (!fd.Ok() || setsockopt(fd.Get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
      bind(fd.Get(), reinterpret_cast<sockaddr*>(&sa), len) != 0 || listen(fd.Get(), 4) != 0) {
    return Fd();
  }
  return fd;
}

// A non-blocking connect from `source` to `destination`:`port`.
Fd StartConnect(const IpAddress& source, const IpAddress& destination, uint16_t port,
                const std::string& ifname) {
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  Fd fd(socket(source.IsV4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_storage src{};
  sockaddr_storage dst{};
  const socklen_t src_len = ToSockaddr(source, 0, ifindex, &src);
  const socklen_t dst_len = ToSockaddr(destination, port, ifindex, &dst);
  if (!fd.Ok() || bind(fd.Get(), reinterpret_cast<sockaddr*>(&src), src_len) != 0) return Fd();
  if (connect(fd.Get(), reinterpret_cast<sockaddr*>(&dst), dst_len) != 0 && errno != EINPROGRESS) {
    return Fd();
  }
  return fd;
}

bool Connected(const Fd& fd, std::chrono::milliseconds wait) {
  if (!fd.Ok()) return false;
  pollfd pfd{fd.Get(), POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof(err);
  return poll(&pfd, 1, static_cast<int>(wait.count())) == 1 &&
         getsockopt(fd.Get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

// The shortest prefix length that holds both addresses, so they share a subnet.
uint8_t SharedPrefix(const IpAddress& a, const IpAddress& b) {
  const uint8_t max = IpPrefix::MaxLength(a.Family());
  for (uint8_t len = max - 1; len > 0; --len) {
    if (IpPrefix{a, len}.Contains(b)) return len;
  }
  return 1;
}

// The scratch namespaces: "fw" with every interface of the setup, one "peer"
// per interface on the other end of its veth.
struct Scratch {
  std::unique_ptr<ScratchNetns> fw;
  std::map<std::string, ScratchNetns> peers;  // by interface name
  std::string peer_if = "peer0";
};

Result<void> Wire(Scratch& scratch, const ProbeLink& link) {
  auto it = scratch.peers.find(link.interface);
  if (it == scratch.peers.end()) {
    auto peer = ScratchNetns::Create();
    if (!peer) return tl::unexpected(peer.error());
    it = scratch.peers.emplace(link.interface, std::move(*peer)).first;
    if (auto veth = scratch.fw->AddVeth(link.interface, it->second, scratch.peer_if); !veth) {
      return veth;
    }
  }
  const uint8_t len = SharedPrefix(link.local, link.peer);
  if (auto a = scratch.fw->AddAddress(link.interface, IpPrefix{link.local, len}); !a) return a;
  return it->second.AddAddress(scratch.peer_if, IpPrefix{link.peer, len});
}

}  // namespace

Result<std::vector<ProbeResult>> ProbeRuleset(std::string_view ruleset, const ProbeSetup& setup) {
  Scratch scratch;
  auto fw = ScratchNetns::Create();
  if (!fw) return tl::unexpected(fw.error());
  scratch.fw = std::make_unique<ScratchNetns>(std::move(*fw));
  std::vector<ProbeLink> links = setup.carp;
  if (setup.sync) links.push_back(*setup.sync);
  for (const ProbeLink& link : links) {
    if (auto wired = Wire(scratch, link); !wired) return tl::unexpected(wired.error());
  }
  // The copy stays loaded while the session lives (owned tables in it too).
  auto session = scratch.fw->Run([] { return NftSession::Open(); });
  if (!session) return tl::unexpected(session.error());
  if (!*session) return tl::unexpected(session->error());
  if (auto loaded = (**session)->Run(ruleset); !loaded) {
    return MakeError(ErrorCode::kUnavailable,
                     "your ruleset could not be evaluated (it does not load in a scratch "
                     "namespace): " +
                         loaded.error().context);
  }

  std::vector<ProbeResult> results;
  for (const ProbeLink& link : setup.carp) {
    ScratchNetns& peer = scratch.peers.at(link.interface);
    const IpFamily family = link.local.Family();
    auto in_rx = scratch.fw->Run([&] { return CarpReceiver(family, link.interface); });
    auto in_sent = peer.Run([&] { return SendCarp(link.peer, scratch.peer_if); });
    results.push_back({UserTraffic::kCarpIn, link.interface, family,
                       in_rx && in_sent && *in_sent && Receives(*in_rx, link.peer, setup.wait)});
    auto out_rx = peer.Run([&] { return CarpReceiver(family, scratch.peer_if); });
    auto out_sent = scratch.fw->Run([&] { return SendCarp(link.local, link.interface); });
    results.push_back(
        {UserTraffic::kCarpOut, link.interface, family,
         out_rx && out_sent && *out_sent && Receives(*out_rx, link.local, setup.wait)});
  }
  if (setup.sync) {
    const ProbeLink& link = *setup.sync;
    ScratchNetns& peer = scratch.peers.at(link.interface);
    const IpFamily family = link.local.Family();
    auto listen_fw =
        scratch.fw->Run([&] { return Listener(link.local, setup.sync_port, link.interface); });
    auto in = peer.Run(
        [&] { return StartConnect(link.peer, link.local, setup.sync_port, scratch.peer_if); });
    results.push_back({UserTraffic::kSyncIn, link.interface, family,
                       listen_fw && listen_fw->Ok() && in && Connected(*in, setup.wait)});
    auto listen_peer =
        peer.Run([&] { return Listener(link.peer, setup.sync_port, scratch.peer_if); });
    auto out = scratch.fw->Run(
        [&] { return StartConnect(link.local, link.peer, setup.sync_port, link.interface); });
    results.push_back({UserTraffic::kSyncOut, link.interface, family,
                       listen_peer && listen_peer->Ok() && out && Connected(*out, setup.wait)});
  }
  return results;
}

}  // namespace hafw::firewall::nft
