#include <arpa/inet.h>

#include <vector>

#include <gtest/gtest.h>

#include "carp/io/carp_socket.h"

namespace hafw::carp::io {
namespace {

std::vector<uint8_t> Packet(size_t payload, uint8_t ihl = 5, int total = -1, uint8_t proto = 112,
                            uint8_t version = 4) {
  std::vector<uint8_t> p(size_t{ihl} * 4u + payload, 0);
  if (p.size() < 20) p.resize(20);
  p[0] = static_cast<uint8_t>(version << 4 | ihl);
  const uint16_t len =
      total < 0 ? static_cast<uint16_t>(size_t{ihl} * 4u + payload) : static_cast<uint16_t>(total);
  p[2] = static_cast<uint8_t>(len >> 8);
  p[3] = static_cast<uint8_t>(len);
  p[8] = 255;
  p[9] = proto;
  inet_pton(AF_INET, "192.0.2.1", p.data() + 12);
  inet_pton(AF_INET, "224.0.0.18", p.data() + 16);
  for (size_t i = size_t{ihl} * 4u; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i);
  return p;
}

TEST(ParseIpv4Packet, GoodPacket) {
  auto p = Packet(36);
  auto v = ParseIpv4Packet(p);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->source, *IpAddress::Parse("192.0.2.1"));
  EXPECT_EQ(v->destination, *IpAddress::Parse("224.0.0.18"));
  EXPECT_EQ(v->ttl, 255);
  EXPECT_EQ(v->payload.size(), 36u);
  EXPECT_EQ(v->payload.data(), p.data() + 20);
}

TEST(ParseIpv4Packet, OptionsAndPaddingAreSkipped) {
  auto p = Packet(36, 7);
  p.resize(p.size() + 10);  // link padding after the total length
  auto v = ParseIpv4Packet(p);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->payload.data(), p.data() + 28);
  EXPECT_EQ(v->payload.size(), 36u);
}

TEST(ParseIpv4Packet, Problems) {
  for (size_t n : {0u, 1u, 19u}) {
    std::vector<uint8_t> tiny(n, 0x45);
    EXPECT_EQ(ParseIpv4Packet(tiny).error(), Ipv4Problem::kShort);
  }
  EXPECT_EQ(ParseIpv4Packet(Packet(36, 4)).error(), Ipv4Problem::kBadHeader);         // IHL < 5
  EXPECT_EQ(ParseIpv4Packet(Packet(36, 5, 19)).error(), Ipv4Problem::kBadHeader);     // len < IHL
  EXPECT_EQ(ParseIpv4Packet(Packet(36, 5, -1, 6)).error(), Ipv4Problem::kBadHeader);  // TCP
  EXPECT_EQ(ParseIpv4Packet(Packet(36, 5, -1, 112, 6)).error(), Ipv4Problem::kBadHeader);
  EXPECT_EQ(ParseIpv4Packet(Packet(36, 5, 57)).error(), Ipv4Problem::kTruncated);  // len > data
  auto long_header = Packet(0, 5);
  long_header[0] = 0x4f;  // IHL 15 = 60 bytes, but only 20 present
  long_header[3] = 60;
  EXPECT_EQ(ParseIpv4Packet(long_header).error(), Ipv4Problem::kTruncated);
  // Zero payload is fine here; the codec counts it as short.
  auto empty = ParseIpv4Packet(Packet(0));
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->payload.empty());
}

}  // namespace
}  // namespace hafw::carp::io
