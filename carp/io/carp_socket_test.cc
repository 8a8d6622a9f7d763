#include "carp/io/carp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "carp/core/codec.h"
#include "carp/io/address_manager.h"
#include "carp/io/link_monitor.h"
#include "testing/netns_lab.h"

namespace hafw::carp::io {
namespace {

using testkit::RunUntil;
using testkit::ScopedNetns;

IpAddress A(const char* text) { return *IpAddress::Parse(text); }

struct Received {
  carp::PacketInfo info;
  std::vector<uint8_t> bytes;
};

AdvertisementBytes SampleAd() {
  carp::Advertisement ad;
  ad.vhid = 42;
  ad.advskew = 100;
  ad.counter = 0x0123456789abcdefULL;
  return carp::EncodeAdvertisement(ad);
}

class CarpSocketTest : public testkit::NetnsLabTest {
 protected:
  // Opens a socket of `family` on the lab interface of `ns`, collecting into `out`.
  std::unique_ptr<CarpSocket> OpenIn(const std::string& ns, const std::string& ifname,
                                     IpFamily family, std::vector<Received>& out,
                                     CarpSocket::LocalAddressFn is_local = nullptr) {
    ScopedNetns in(ns);
    EXPECT_TRUE(in.Ok());
    auto link = QueryLink(ifname);
    EXPECT_TRUE(link.has_value());
    if (!link) return nullptr;
    auto sock = CarpSocket::Open(
        io_, family, ifname, link->ifindex,
        [&out](const carp::PacketInfo& info, std::span<const uint8_t> bytes) {
          out.push_back({info, {bytes.begin(), bytes.end()}});
        },
        std::move(is_local));
    EXPECT_TRUE(sock.has_value()) << sock.error().ToString();
    return sock ? std::move(*sock) : nullptr;
  }

  std::optional<IpAddress> LinkLocalOf(const std::string& ns, const std::string& ifname) {
    ScopedNetns in(ns);
    auto link = QueryLink(ifname);
    auto am = AddressManager::Open();
    if (!link || !am) return std::nullopt;
    auto list = am->List(link->ifindex);
    if (!list) return std::nullopt;
    for (const auto& entry : *list) {
      if (entry.prefix.address.IsV6() && entry.prefix.address.IsLinkLocal()) {
        return entry.prefix.address;
      }
    }
    return std::nullopt;
  }

  boost::asio::io_context io_;
};

TEST_F(CarpSocketTest, Ipv4MulticastAndUnicastArriveWithTtl255AndRealSource) {
  std::vector<Received> at_a, at_b;
  auto sock_a = OpenIn(lab_.ns_a, lab_.if_a, IpFamily::kV4, at_a);
  auto sock_b = OpenIn(lab_.ns_b, lab_.if_b, IpFamily::kV4, at_b);
  ASSERT_TRUE(sock_a && sock_b);
  const auto ad = SampleAd();

  ASSERT_TRUE(sock_a->Send(A("192.0.2.1"), std::nullopt, ad).has_value());
  ASSERT_TRUE(RunUntil(io_, [&] { return !at_b.empty(); }));
  EXPECT_EQ(at_b[0].info.family, IpFamily::kV4);
  EXPECT_EQ(at_b[0].info.source, A("192.0.2.1"));
  EXPECT_EQ(at_b[0].info.destination, A("224.0.0.18"));
  EXPECT_EQ(at_b[0].info.ttl, 255);
  EXPECT_FALSE(at_b[0].info.from_local_address);
  EXPECT_EQ(at_b[0].bytes, std::vector<uint8_t>(ad.begin(), ad.end()));
  auto decoded = carp::DecodeAdvertisement(at_b[0].bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->vhid, 42);

  ASSERT_TRUE(sock_a->Send(A("192.0.2.1"), A("192.0.2.2"), ad).has_value());
  ASSERT_TRUE(RunUntil(io_, [&] { return at_b.size() >= 2; }));
  EXPECT_EQ(at_b[1].info.destination, A("192.0.2.2"));
  EXPECT_EQ(at_b[1].info.ttl, 255);
  EXPECT_EQ(at_b[1].info.source, A("192.0.2.1"));
  // Multicast loopback is off: the sender never hears itself.
  EXPECT_TRUE(at_a.empty());
  EXPECT_EQ(sock_a->Counters().sent, 2u);
  EXPECT_EQ(sock_b->Counters().received, 2u);
}

TEST_F(CarpSocketTest, SourceStaysTheRealAddressWhenAVipIsPresent) {
  std::vector<Received> at_a, at_b;
  auto sock_a = OpenIn(lab_.ns_a, lab_.if_a, IpFamily::kV4, at_a);
  auto sock_b = OpenIn(lab_.ns_b, lab_.if_b, IpFamily::kV4, at_b);
  ASSERT_TRUE(sock_a && sock_b);
  // A VIP in the same subnet; the caller passes the real address as source.
  ASSERT_EQ(lab_.Ip(lab_.ns_a, {"addr", "add", "192.0.2.100/24", "dev", lab_.if_a}), 0);
  ASSERT_TRUE(sock_a->Send(A("192.0.2.1"), std::nullopt, SampleAd()).has_value());
  ASSERT_TRUE(RunUntil(io_, [&] { return !at_b.empty(); }));
  EXPECT_EQ(at_b[0].info.source, A("192.0.2.1"));
  // A source that is not an address of the node is refused by the kernel.
  auto bad = sock_a->Send(A("198.51.100.77"), std::nullopt, SampleAd());
  EXPECT_FALSE(bad.has_value());
  EXPECT_EQ(sock_a->Counters().send_errors, 1u);
}

TEST_F(CarpSocketTest, Ipv6MulticastFromLinkLocalWithHopLimit255) {
  std::vector<Received> at_a, at_b;
  auto sock_a = OpenIn(lab_.ns_a, lab_.if_a, IpFamily::kV6, at_a);
  auto sock_b = OpenIn(lab_.ns_b, lab_.if_b, IpFamily::kV6, at_b);
  ASSERT_TRUE(sock_a && sock_b);
  auto ll_a = LinkLocalOf(lab_.ns_a, lab_.if_a);
  ASSERT_TRUE(ll_a);
  const auto ad = SampleAd();
  // The link-local may still be settling right after link up: retry briefly.
  bool sent = false;
  for (int i = 0; i < 50 && !sent; ++i) {
    sent = sock_a->Send(*ll_a, std::nullopt, ad).has_value();
    if (!sent) usleep(100000);
  }
  ASSERT_TRUE(sent);
  ASSERT_TRUE(RunUntil(io_, [&] { return !at_b.empty(); }));
  EXPECT_EQ(at_b[0].info.family, IpFamily::kV6);
  EXPECT_EQ(at_b[0].info.source, *ll_a);
  EXPECT_EQ(at_b[0].info.destination, A("ff02::12"));
  EXPECT_EQ(at_b[0].info.ttl, 255);
  EXPECT_EQ(at_b[0].bytes, std::vector<uint8_t>(ad.begin(), ad.end()));
  EXPECT_TRUE(at_a.empty());
}

// Sends a hand-built IPv4 packet from ns_a with any header fields (IP_HDRINCL).
void SendCrafted(const std::string& ns, const std::string& ifname, std::vector<uint8_t> packet,
                 const char* destination) {
  ScopedNetns in(ns);
  ASSERT_TRUE(in.Ok());
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
  ASSERT_GE(fd, 0);
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size() + 1), 0);
  auto link = QueryLink(ifname);
  ASSERT_TRUE(link.has_value());
  ip_mreqn out{};
  out.imr_ifindex = link->ifindex;
  ASSERT_EQ(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof(out)), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  inet_pton(AF_INET, destination, &to.sin_addr);
  ASSERT_EQ(
      sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
      static_cast<ssize_t>(packet.size()));
  close(fd);
}

std::vector<uint8_t> Ipv4Packet(const char* src, const char* dst, uint8_t ttl,
                                std::span<const uint8_t> payload, uint8_t ihl = 5,
                                std::optional<uint16_t> total_len = std::nullopt) {
  std::vector<uint8_t> packet(size_t{ihl} * 4u, 0);
  packet[0] = static_cast<uint8_t>(0x40 | ihl);
  packet[1] = 0x10;
  const uint16_t len = total_len.value_or(static_cast<uint16_t>(packet.size() + payload.size()));
  packet[2] = static_cast<uint8_t>(len >> 8);
  packet[3] = static_cast<uint8_t>(len);
  packet[6] = 0x40;  // DF
  packet[8] = ttl;
  packet[9] = carp::kIpProtocolCarp;
  inet_pton(AF_INET, src, packet.data() + 12);
  inet_pton(AF_INET, dst, packet.data() + 16);
  packet.insert(packet.end(), payload.begin(), payload.end());
  return packet;
}

TEST_F(CarpSocketTest, FlagsOwnSourceAndPassesRealTtl) {
  std::vector<Received> at_b;
  IpAddress own_b = A("192.0.2.2");
  auto sock_b = OpenIn(lab_.ns_b, lab_.if_b, IpFamily::kV4, at_b,
                       [own_b](const IpAddress& a) { return a == own_b; });
  ASSERT_TRUE(sock_b);
  // Linux drops packets carrying one of its own addresses as source unless
  // accept_local is on (what an echoing vSwitch would need anyway).
  ASSERT_EQ(lab_.Sysctl(lab_.ns_b, "net.ipv4.conf." + lab_.if_b + ".accept_local=1"), 0);
  const auto ad = SampleAd();
  SendCrafted(lab_.ns_a, lab_.if_a, Ipv4Packet("192.0.2.2", "224.0.0.18", 255, ad), "224.0.0.18");
  SendCrafted(lab_.ns_a, lab_.if_a, Ipv4Packet("192.0.2.1", "224.0.0.18", 64, ad), "224.0.0.18");
  ASSERT_TRUE(RunUntil(io_, [&] { return at_b.size() >= 2; }));
  EXPECT_TRUE(at_b[0].info.from_local_address);
  EXPECT_EQ(at_b[0].info.ttl, 255);
  EXPECT_FALSE(at_b[1].info.from_local_address);
  EXPECT_EQ(at_b[1].info.ttl, 64);  // passed up as received: the engine rejects it
}

TEST_F(CarpSocketTest, OddIpv4PacketsAreCountedNotDelivered) {
  std::vector<Received> at_b;
  auto sock_b = OpenIn(lab_.ns_b, lab_.if_b, IpFamily::kV4, at_b);
  ASSERT_TRUE(sock_b);
  const auto ad = SampleAd();
  // IP options (IHL 6): delivered with the payload after the options.
  SendCrafted(lab_.ns_a, lab_.if_a, Ipv4Packet("192.0.2.1", "224.0.0.18", 255, ad, 6),
              "224.0.0.18");
  // A short CARP payload is still passed up (the codec counts kShort).
  SendCrafted(lab_.ns_a, lab_.if_a,
              Ipv4Packet("192.0.2.1", "224.0.0.18", 255, std::span(ad).first(3)), "224.0.0.18");
  ASSERT_TRUE(RunUntil(io_, [&] { return at_b.size() >= 2; }));
  EXPECT_EQ(at_b[0].bytes, std::vector<uint8_t>(ad.begin(), ad.end()));
  EXPECT_EQ(at_b[1].bytes.size(), 3u);
  EXPECT_EQ(sock_b->Counters().received, 2u);
}

}  // namespace
}  // namespace hafw::carp::io
