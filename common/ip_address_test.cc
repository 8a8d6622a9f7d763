#include "common/ip_address.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace hafw {
namespace {

TEST(IpAddressTest, ParsesAndFormatsIpv4) {
  auto a = IpAddress::Parse("192.0.2.100");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->IsV4());
  EXPECT_EQ(a->ToString(), "192.0.2.100");
  EXPECT_EQ(a->V4HostOrder(), 0xc0000264u);
  EXPECT_EQ(a->Bytes().size(), 4u);
}

TEST(IpAddressTest, ParsesAndFormatsIpv6Canonically) {
  auto a = IpAddress::Parse("2001:0db8:0000:0000:0000:0000:0000:0100");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->IsV6());
  EXPECT_EQ(a->ToString(), "2001:db8::100");
  EXPECT_EQ(a->Bytes().size(), 16u);
}

TEST(IpAddressTest, RejectsGarbageWithMessage) {
  for (const char* bad : {"", "192.0.2", "192.0.2.256", "1.2.3.4.5", "fe80::1%eth0", "2001:db8:::1",
                          "hello", "192.0.2.1/24"}) {
    auto a = IpAddress::Parse(bad);
    ASSERT_FALSE(a.has_value()) << bad;
    EXPECT_EQ(a.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(a.error().context, std::string("'") + bad + "' is not a valid IP address");
  }
}

TEST(IpAddressTest, FromBytesChecksLength) {
  const uint8_t four[] = {198, 51, 100, 1};
  EXPECT_EQ(IpAddress::FromBytes(four)->ToString(), "198.51.100.1");
  const uint8_t five[] = {1, 2, 3, 4, 5};
  EXPECT_FALSE(IpAddress::FromBytes(five).has_value());
}

TEST(IpAddressTest, Classification) {
  EXPECT_TRUE(IpAddress::Parse("224.0.0.18")->IsMulticast());
  EXPECT_TRUE(IpAddress::Parse("ff02::12")->IsMulticast());
  EXPECT_TRUE(IpAddress::Parse("ff02::12")->IsScopeEmbedded());
  EXPECT_TRUE(IpAddress::Parse("fe80::200:5eff:fe00:101")->IsLinkLocal());
  EXPECT_TRUE(IpAddress::Parse("fe80::1")->IsScopeEmbedded());
  EXPECT_FALSE(IpAddress::Parse("2001:db8::1")->IsScopeEmbedded());
  EXPECT_FALSE(IpAddress::Parse("ff05::1")->IsScopeEmbedded());
  EXPECT_TRUE(IpAddress::Parse("0.0.0.0")->IsUnspecified());
  EXPECT_TRUE(IpAddress::Parse("::")->IsUnspecified());
  EXPECT_TRUE(IpAddress::Parse("127.0.0.1")->IsLoopback());
  EXPECT_TRUE(IpAddress::Parse("::1")->IsLoopback());
  EXPECT_TRUE(IpAddress::Parse("169.254.1.1")->IsLinkLocal());
}

TEST(IpAddressTest, OrdersIpv4NumericallyThenIpv6Bytewise) {
  std::vector<IpAddress> v;
  for (const char* s : {"2001:db8::100", "198.51.100.20", "fe80::1", "192.0.2.100", "192.0.2.7"}) {
    v.push_back(*IpAddress::Parse(s));
  }
  std::sort(v.begin(), v.end());
  std::vector<std::string> got;
  got.reserve(v.size());
  for (const auto& a : v) got.push_back(a.ToString());
  EXPECT_EQ(got, (std::vector<std::string>{"192.0.2.7", "192.0.2.100", "198.51.100.20",
                                           "2001:db8::100", "fe80::1"}));
}

TEST(IpAddressTest, HashDistinguishesFamilies) {
  std::hash<IpAddress> h;
  EXPECT_NE(h(*IpAddress::Parse("0.0.0.0")), h(*IpAddress::Parse("::")));
  EXPECT_NE(*IpAddress::Parse("0.0.0.0"), *IpAddress::Parse("::"));
}

TEST(IpPrefixTest, ParsesPrefixes) {
  auto p = IpPrefix::Parse("192.0.2.100/24");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->length, 24);
  EXPECT_EQ(p->ToString(), "192.0.2.100/24");
  EXPECT_TRUE(p->Contains(*IpAddress::Parse("192.0.2.1")));
  EXPECT_FALSE(p->Contains(*IpAddress::Parse("192.0.3.1")));
  EXPECT_FALSE(p->Contains(*IpAddress::Parse("2001:db8::1")));
  auto q = IpPrefix::Parse("2001:db8:1::100/64");
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(q->Contains(*IpAddress::Parse("2001:db8:1::ffff")));
  EXPECT_TRUE(IpPrefix::Parse("192.0.2.1/21")->Contains(*IpAddress::Parse("192.0.7.255")));
  EXPECT_FALSE(IpPrefix::Parse("192.0.2.1/21")->Contains(*IpAddress::Parse("192.0.8.0")));
}

TEST(IpPrefixTest, RejectsBadPrefixes) {
  EXPECT_EQ(IpPrefix::Parse("192.0.2.1").error().context,
            "'192.0.2.1' needs a prefix length (address/len)");
  EXPECT_EQ(IpPrefix::Parse("192.0.2.1/33").error().context,
            "'192.0.2.1/33' has an invalid prefix length (0..32)");
  EXPECT_EQ(IpPrefix::Parse("2001:db8::1/129").error().context,
            "'2001:db8::1/129' has an invalid prefix length (0..128)");
  EXPECT_FALSE(IpPrefix::Parse("192.0.2.1/").has_value());
  EXPECT_FALSE(IpPrefix::Parse("192.0.2.1/2x").has_value());
  EXPECT_FALSE(IpPrefix::Parse("bogus/24").has_value());
}

}  // namespace
}  // namespace hafw
