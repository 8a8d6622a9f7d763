#include "firewall/testing/nft_lab.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "testing/netns_lab.h"

namespace hafw::firewall::testing {

using testkit::RunCommand;
using testkit::RunCommandCapture;
using testkit::ScopedNetns;

namespace {

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

// A socket address for `a` (port `port`); link-local ones scoped to `ifindex`.
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

}  // namespace

Result<void> AddLabAddresses(const std::string& ns_a, const std::string& if_a,
                             const std::string& ns_b, const std::string& if_b) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> adds = {
      {ns_a, {"addr", "add", std::string(kStrangerV4) + "/24", "dev", if_a}},
      {ns_a, {"addr", "add", std::string(kPeerV6) + "/64", "dev", if_a, "nodad"}},
      {ns_a, {"addr", "add", std::string(kStrangerV6) + "/64", "dev", if_a, "nodad"}},
      {ns_a, {"addr", "add", std::string(kPeerLinkLocal) + "/64", "dev", if_a, "nodad"}},
      {ns_a, {"addr", "add", std::string(kStrangerLinkLocal) + "/64", "dev", if_a, "nodad"}},
      {ns_b, {"addr", "add", std::string(kFirewallV6) + "/64", "dev", if_b, "nodad"}},
  };
  for (const auto& [ns, args] : adds) {
    std::vector<std::string> argv = {"ip", "-n", ns};
    argv.insert(argv.end(), args.begin(), args.end());
    if (RunCommand(argv) != 0) return MakeError(ErrorCode::kIo, "lab: ip " + args[2]);
  }
  return {};
}

FirewallPlan LabPlan(const std::string& parent) {
  FirewallPlan plan;
  plan.carp_parents = {
      {parent, {HostPrefix(Ip(kPeerV4)), HostPrefix(Ip(kPeerV6)), HostPrefix(Ip(kPeerLinkLocal))}}};
  plan.sync = SyncLink{parent, kSyncPort, {Ip(kPeerV4), Ip(kPeerV6)}};
  plan.conntrack_labels = true;
  return plan;
}

int Nft(const std::string& ns, const std::vector<std::string>& args, std::string* out) {
  std::vector<std::string> argv = {"ip", "netns", "exec", ns, "nft"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string ignored;
  return RunCommandCapture(argv, out != nullptr ? out : &ignored);
}

int NftFile(const std::string& ns, const std::string& text) {
  char path[] = "/tmp/hafw-nft-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return -1;
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  const int rc = written ? Nft(ns, {"-f", path}) : -1;
  unlink(path);
  return rc;
}

std::string ListRuleset(const std::string& ns) {
  std::string out;
  Nft(ns, {"list", "ruleset"}, &out);
  return out;
}

std::string Normalized(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (const size_t c = line.find(" # progname"); c != std::string::npos) line.erase(c);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    line = line.substr(first);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (const size_t v = line.find("meta l4proto vrrp"); v != std::string::npos) {
      line.replace(v, 17, "meta l4proto 112");
    }
    if (!lines.empty() && lines.back().back() == ',') {
      lines.back() += " " + line;
    } else {
      lines.push_back(line);
    }
  }
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

bool SendCarp(const std::string& ns, const std::string& ifname, const IpAddress& source,
              const IpAddress& destination, int ttl) {
  ScopedNetns in(ns);
  if (!in.Ok()) return false;
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  const int fd = socket(source.IsV4() ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, 112);
  if (fd < 0 || ifindex == 0) {
    if (fd >= 0) close(fd);
    return false;
  }
  bool ok = true;
  if (source.IsV4()) {
    ok = setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) == 0 &&
         setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) == 0;
    ip_mreqn mreq{};
    mreq.imr_ifindex = static_cast<int>(ifindex);
    ok = ok && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) == 0;
  } else {
    ok = setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl)) == 0 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl)) == 0 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) == 0;
  }
  sockaddr_storage src{};
  sockaddr_storage dst{};
  const socklen_t src_len = ToSockaddr(source, 0, ifindex, &src);
  const socklen_t dst_len = ToSockaddr(destination, 0, ifindex, &dst);
  ok = ok && bind(fd, reinterpret_cast<sockaddr*>(&src), src_len) == 0;
  std::array<uint8_t, 36> payload{};
  ok = ok && sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&dst),
                    dst_len) == static_cast<ssize_t>(payload.size());
  close(fd);
  return ok;
}

CarpReceiver::CarpReceiver(const std::string& ns, const std::string& ifname) {
  ScopedNetns in(ns);
  if (!in.Ok()) return;
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  v4_ = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 112);
  v6_ = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 112);
  ip_mreqn mreq{};
  inet_pton(AF_INET, "224.0.0.18", &mreq.imr_multiaddr);
  mreq.imr_ifindex = static_cast<int>(ifindex);
  ipv6_mreq mreq6{};
  inet_pton(AF_INET6, "ff02::12", &mreq6.ipv6mr_multiaddr);
  mreq6.ipv6mr_interface = ifindex;
  if (v4_ < 0 || v6_ < 0 ||
      setsockopt(v4_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0 ||
      setsockopt(v6_, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq6, sizeof(mreq6)) != 0) {
    if (v4_ >= 0) close(v4_);
    if (v6_ >= 0) close(v6_);
    v4_ = v6_ = -1;
  }
}

CarpReceiver::~CarpReceiver() {
  if (v4_ >= 0) close(v4_);
  if (v6_ >= 0) close(v6_);
}

int CarpReceiver::Count() {
  std::array<uint8_t, 2048> buf{};
  for (int fd : {v4_, v6_}) {
    // Bounded: a test sends far fewer packets than this.
    for (int i = 0; fd >= 0 && i < 100000; ++i) {
      if (recv(fd, buf.data(), buf.size(), 0) < 0) break;
      ++count_;
    }
  }
  return count_;
}

TcpListener::TcpListener(const std::string& ns, uint16_t port) {
  ScopedNetns in(ns);
  if (!in.Ok()) return;
  fd_ = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  const int off = 0;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(port);
  addr.sin6_addr = in6addr_any;
  if (fd_ < 0 || setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
      setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0 ||
      bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 16) != 0) {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
}

TcpListener::~TcpListener() {
  if (fd_ >= 0) close(fd_);
}

bool TcpConnects(const std::string& ns, const IpAddress& source, const IpAddress& destination,
                 uint16_t port, int timeout_ms) {
  ScopedNetns in(ns);
  if (!in.Ok()) return false;
  const int fd =
      socket(source.IsV4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_storage src{};
  sockaddr_storage dst{};
  const socklen_t src_len = ToSockaddr(source, 0, 0, &src);
  const socklen_t dst_len = ToSockaddr(destination, port, 0, &dst);
  bool connected = false;
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), src_len) == 0) {
    const int rc = connect(fd, reinterpret_cast<sockaddr*>(&dst), dst_len);
    if (rc == 0) {
      connected = true;
    } else if (errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof(err);
      connected = poll(&pfd, 1, timeout_ms) == 1 &&
                  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
  }
  close(fd);
  return connected;
}

bool SendUdp(const std::string& ns, const IpAddress& source, uint16_t sport,
             const IpAddress& destination) {
  ScopedNetns in(ns);
  if (!in.Ok()) return false;
  const int fd = socket(source.IsV4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_storage src{};
  sockaddr_storage dst{};
  const socklen_t src_len = ToSockaddr(source, sport, 0, &src);
  const socklen_t dst_len = ToSockaddr(destination, 9999, 0, &dst);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&src), src_len) == 0 &&
                  sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&dst), dst_len) == 1;
  close(fd);
  return ok;
}

namespace {

// A UDP entry src:sport -> dst:9999 (with its reply tuple when `reply`).
nf_conntrack* UdpEntry(const IpAddress& source, uint16_t sport, const IpAddress& destination,
                       bool reply) {
  nf_conntrack* ct = nfct_new();
  const uint8_t family = source.IsV4() ? AF_INET : AF_INET6;
  nfct_set_attr_u8(ct, ATTR_L3PROTO, family);
  if (source.IsV4()) {
    uint32_t s = 0;
    uint32_t d = 0;
    std::memcpy(&s, source.Bytes().data(), 4);
    std::memcpy(&d, destination.Bytes().data(), 4);
    nfct_set_attr_u32(ct, ATTR_IPV4_SRC, s);
    nfct_set_attr_u32(ct, ATTR_IPV4_DST, d);
    if (reply) {
      nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, d);
      nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, s);
    }
  } else {
    nfct_set_attr(ct, ATTR_IPV6_SRC, source.Bytes().data());
    nfct_set_attr(ct, ATTR_IPV6_DST, destination.Bytes().data());
    if (reply) {
      nfct_set_attr(ct, ATTR_REPL_IPV6_SRC, destination.Bytes().data());
      nfct_set_attr(ct, ATTR_REPL_IPV6_DST, source.Bytes().data());
    }
  }
  nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_UDP);
  nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(sport));
  nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(9999));
  if (reply) {
    nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, family);
    nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_UDP);
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(9999));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(sport));
    nfct_set_attr_u32(ct, ATTR_TIMEOUT, 60);
  }
  return ct;
}

// Label bit `bit` (and only it, through the mask) on `ct`; the entry owns them.
void SetLabel(nf_conntrack* ct, int bit, bool with_mask) {
  nfct_bitmask* labels = nfct_bitmask_new(127);
  nfct_bitmask_set_bit(labels, static_cast<unsigned>(bit));
  nfct_set_attr(ct, ATTR_CONNLABELS, labels);
  if (with_mask) {
    nfct_bitmask* mask = nfct_bitmask_new(127);
    nfct_bitmask_set_bit(mask, static_cast<unsigned>(bit));
    nfct_set_attr(ct, ATTR_CONNLABELS_MASK, mask);
  }
}

int HasLabelCallback(nf_conntrack_msg_type /*type*/, nf_conntrack* ct, void* data) {
  const auto* labels = static_cast<const nfct_bitmask*>(nfct_get_attr(ct, ATTR_CONNLABELS));
  auto* out = static_cast<std::pair<int, bool>*>(data);
  out->second = labels != nullptr && nfct_bitmask_test_bit(labels, out->first) != 0;
  return NFCT_CB_STOP;
}

}  // namespace

int SetConntrackLabel(const std::string& ns, const IpAddress& source, uint16_t sport,
                      const IpAddress& destination, int bit) {
  ScopedNetns in(ns);
  if (!in.Ok()) return EINVAL;
  nfct_handle* h = nfct_open(CONNTRACK, 0);
  if (h == nullptr) return errno;
  nf_conntrack* ct = UdpEntry(source, sport, destination, /*reply=*/false);
  SetLabel(ct, bit, /*with_mask=*/true);
  const int rc = nfct_query(h, NFCT_Q_UPDATE, ct);
  const int err = rc == 0 ? 0 : errno;
  nfct_destroy(ct);
  nfct_close(h);
  return err;
}

std::optional<bool> CreateLabelledEntry(const std::string& ns, const IpAddress& source,
                                        uint16_t sport, const IpAddress& destination, int bit) {
  ScopedNetns in(ns);
  if (!in.Ok()) return std::nullopt;
  nfct_handle* h = nfct_open(CONNTRACK, 0);
  if (h == nullptr) return std::nullopt;
  nf_conntrack* ct = UdpEntry(source, sport, destination, /*reply=*/true);
  SetLabel(ct, bit, /*with_mask=*/false);
  std::optional<bool> result;
  if (nfct_query(h, NFCT_Q_CREATE, ct) == 0) {
    std::pair<int, bool> found{bit, false};
    nfct_callback_register(h, NFCT_T_ALL, HasLabelCallback, &found);
    nf_conntrack* key = UdpEntry(source, sport, destination, /*reply=*/false);
    if (nfct_query(h, NFCT_Q_GET, key) == 0) result = found.second;
    nfct_destroy(key);
  }
  nfct_destroy(ct);
  nfct_close(h);
  return result;
}

}  // namespace hafw::firewall::testing
