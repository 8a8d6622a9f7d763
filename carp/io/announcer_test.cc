#include "carp/io/announcer.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "carp/io/address_manager.h"
#include "carp/io/link_monitor.h"
#include "testing/netns_lab.h"

namespace hafw::carp::io {
namespace {

using testkit::FrameCapture;
using testkit::ScopedNetns;

IpAddress A(const char* text) { return *IpAddress::Parse(text); }

// The first frame within 3 s for which `match` is true.
template <typename Match>
std::optional<std::vector<uint8_t>> WaitFor(FrameCapture& capture, Match match) {
  auto frames = capture.Collect(match, std::chrono::seconds(3), /*stop_at_first=*/true);
  if (frames.empty()) return std::nullopt;
  return std::move(frames.front());
}

bool IsArpFor(const std::vector<uint8_t>& f, const IpAddress& vip) {
  return f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06 &&
         std::memcmp(f.data() + 14 + 14, vip.Bytes().data(), 4) == 0;
}

bool IsNaFor(const std::vector<uint8_t>& f, const IpAddress& vip) {
  // Ethernet + IPv6 (next header ICMPv6, no extension headers) + NA.
  return f.size() >= 14 + 40 + 32 && f[12] == 0x86 && f[13] == 0xdd && f[14 + 6] == 58 &&
         f[54] == 136 && std::memcmp(f.data() + 54 + 8, vip.Bytes().data(), 16) == 0;
}

using AnnouncerTest = testkit::NetnsLabTest;

TEST_F(AnnouncerTest, GratuitousArpWithInterfaceAndVirtualMac) {
  FrameCapture capture(lab_.ns_b, lab_.if_b);
  ASSERT_TRUE(capture.Ok());
  ScopedNetns in(lab_.ns_a);
  ASSERT_TRUE(in.Ok());
  auto link = QueryLink(lab_.if_a);
  ASSERT_TRUE(link.has_value());
  auto announcer = Announcer::Open();
  ASSERT_TRUE(announcer.has_value()) << announcer.error().ToString();
  const IpAddress vip = A("192.0.2.100");

  for (const MacAddress& mac : {link->mac, VirtualMac(7)}) {
    SCOPED_TRACE(MacToString(mac));
    ASSERT_TRUE(announcer->GratuitousArp(link->ifindex, mac, vip).has_value());
    auto frame = WaitFor(capture, [&](const std::vector<uint8_t>& f) {
      return IsArpFor(f, vip) && std::memcmp(f.data() + 6, mac.data(), 6) == 0;
    });
    ASSERT_TRUE(frame);
    const uint8_t* f = frame->data();
    EXPECT_EQ(std::vector<uint8_t>(f, f + 6), std::vector<uint8_t>(6, 0xff));  // broadcast
    const uint8_t* arp = f + 14;
    EXPECT_EQ(arp[6], 0);
    EXPECT_EQ(arp[7], 1);                                        // request
    EXPECT_EQ(std::memcmp(arp + 8, mac.data(), 6), 0);           // sender hardware
    EXPECT_EQ(std::memcmp(arp + 14, vip.Bytes().data(), 4), 0);  // sender IP = VIP
    EXPECT_EQ(std::memcmp(arp + 24, vip.Bytes().data(), 4), 0);  // target IP = VIP
  }
  EXPECT_EQ(announcer->Counters().arps_sent, 2u);
}

TEST_F(AnnouncerTest, UnsolicitedNaWithOverrideAndRouterFlag) {
  FrameCapture capture(lab_.ns_b, lab_.if_b);
  ASSERT_TRUE(capture.Ok());
  ScopedNetns in(lab_.ns_a);
  ASSERT_TRUE(in.Ok());
  auto link = QueryLink(lab_.if_a);
  ASSERT_TRUE(link.has_value());
  auto am = AddressManager::Open();
  ASSERT_TRUE(am.has_value());
  const IpAddress vip = A("2001:db8::100");
  ASSERT_TRUE(am->Add(link->ifindex, IpPrefix{vip, 64}).has_value());
  auto announcer = Announcer::Open();
  ASSERT_TRUE(announcer.has_value());

  for (bool forwarding : {false, true}) {
    SCOPED_TRACE(forwarding ? "forwarding" : "host");
    ASSERT_EQ(lab_.Sysctl(lab_.ns_a,
                          "net.ipv6.conf." + lab_.if_a + ".forwarding=" + (forwarding ? "1" : "0")),
              0);
    EXPECT_EQ(Ipv6Forwarding(lab_.if_a), forwarding);
    auto sent = announcer->UnsolicitedNa(lab_.if_a, link->ifindex, link->mac, vip);
    ASSERT_TRUE(sent.has_value()) << sent.error().ToString();
    auto frame = WaitFor(capture, [&](const std::vector<uint8_t>& f) {
      return IsNaFor(f, vip) && ((f[58] & 0x80) != 0) == forwarding;
    });
    ASSERT_TRUE(frame);
    const uint8_t* f = frame->data();
    EXPECT_EQ(f[0], 0x33);  // 33:33:00:00:00:01 for ff02::1
    EXPECT_EQ(f[5], 0x01);
    const uint8_t* ip6 = f + 14;
    EXPECT_EQ(ip6[7], 255);  // hop limit
    EXPECT_EQ(A("ff02::1"), *IpAddress::FromBytes(std::span(ip6 + 24, 16)));
    EXPECT_EQ(vip, *IpAddress::FromBytes(std::span(ip6 + 8, 16)));  // source = VIP
    const uint8_t* na = f + 54;
    EXPECT_NE(na[4] & 0x20, 0);  // Override
    EXPECT_EQ(na[4] & 0x40, 0);  // not Solicited
    EXPECT_EQ(na[24], 2);        // target link-layer address option
    EXPECT_EQ(na[25], 1);
    EXPECT_EQ(std::memcmp(na + 26, link->mac.data(), 6), 0);
  }
  EXPECT_EQ(announcer->Counters().nas_sent, 2u);
}

}  // namespace
}  // namespace hafw::carp::io
