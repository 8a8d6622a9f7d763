// The rtnetlink parsers on hand-built messages: what they accept, and that
// malformed or foreign messages give nullopt instead of a bad read.

#include "carp/io/rtnetlink_parse.h"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <vector>

#include <gtest/gtest.h>

namespace hafw::carp::io {
namespace {

struct Message {
  std::vector<char> buffer = std::vector<char>(4096);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
};

Message LinkMessage(uint16_t type, int ifindex, const char* name) {
  Message m;
  m.nlh->nlmsg_type = type;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(m.nlh, sizeof(ifinfomsg)));
  ifi->ifi_index = ifindex;
  ifi->ifi_flags = IFF_UP | IFF_RUNNING;
  if (name != nullptr) mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name);
  const std::array<uint8_t, 6> mac = {2, 0, 0, 0, 0, 9};
  mnl_attr_put(m.nlh, IFLA_ADDRESS, mac.size(), mac.data());
  mnl_attr_put_u8(m.nlh, IFLA_OPERSTATE, 6);
  return m;
}

Message AddressMessage(uint16_t type, int family, const std::vector<uint8_t>& bytes,
                       uint8_t prefixlen, uint32_t flags) {
  Message m;
  m.nlh->nlmsg_type = type;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(m.nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<uint8_t>(family);
  ifa->ifa_prefixlen = prefixlen;
  ifa->ifa_index = 3;
  mnl_attr_put(m.nlh, IFA_ADDRESS, bytes.size(), bytes.data());
  mnl_attr_put_u32(m.nlh, IFA_FLAGS, flags);
  return m;
}

TEST(RtnetlinkParseTest, LinkWithNameMacAndState) {
  auto m = LinkMessage(RTM_NEWLINK, 4, "eth0");
  auto link = ParseLink(*m.nlh);
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ(link->ifindex, 4);
  EXPECT_EQ(link->name, "eth0");
  EXPECT_EQ(link->mac, (MacAddress{2, 0, 0, 0, 0, 9}));
  EXPECT_EQ(link->operstate, 6);
  EXPECT_TRUE(link->Up());
}

TEST(RtnetlinkParseTest, LinkWithoutNameOrOfAnotherTypeIsRejected) {
  EXPECT_FALSE(ParseLink(*LinkMessage(RTM_NEWLINK, 4, nullptr).nlh).has_value());
  EXPECT_FALSE(ParseLink(*LinkMessage(RTM_NEWADDR, 4, "eth0").nlh).has_value());
  auto truncated = LinkMessage(RTM_NEWLINK, 4, "eth0");
  truncated.nlh->nlmsg_len = mnl_nlmsg_size(sizeof(ifinfomsg)) - 1;
  EXPECT_FALSE(ParseLink(*truncated.nlh).has_value());
}

TEST(RtnetlinkParseTest, AddressesOfBothFamilies) {
  auto v4 = ParseAddress(*AddressMessage(RTM_NEWADDR, AF_INET, {192, 0, 2, 1}, 24, 0).nlh);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->ifindex, 3);
  EXPECT_EQ(v4->prefix, *IpPrefix::Parse("192.0.2.1/24"));
  EXPECT_FALSE(v4->Tentative());
  std::vector<uint8_t> ll(16, 0);
  ll[0] = 0xfe;
  ll[1] = 0x80;
  ll[15] = 1;
  auto v6 = ParseAddress(*AddressMessage(RTM_DELADDR, AF_INET6, ll, 64, IFA_F_TENTATIVE).nlh);
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->prefix.address.IsLinkLocal());
  EXPECT_TRUE(v6->Tentative());
  auto secondary =
      ParseAddress(*AddressMessage(RTM_NEWADDR, AF_INET, {192, 0, 2, 9}, 24, IFA_F_SECONDARY).nlh);
  ASSERT_TRUE(secondary.has_value());
  EXPECT_TRUE(secondary->Secondary());
}

TEST(RtnetlinkParseTest, MalformedAddressesAreRejected) {
  // A 5-byte address, a prefix longer than the family allows, another type.
  EXPECT_FALSE(ParseAddress(*AddressMessage(RTM_NEWADDR, AF_INET, {192, 0, 2, 1, 7}, 24, 0).nlh)
                   .has_value());
  EXPECT_FALSE(
      ParseAddress(*AddressMessage(RTM_NEWADDR, AF_INET, {192, 0, 2, 1}, 33, 0).nlh).has_value());
  EXPECT_FALSE(
      ParseAddress(*AddressMessage(RTM_NEWLINK, AF_INET, {192, 0, 2, 1}, 24, 0).nlh).has_value());
  // Attributes whose length runs past the message are not read: a cut
  // IFA_FLAGS is ignored, a cut IFA_ADDRESS leaves no address.
  auto cut = AddressMessage(RTM_NEWADDR, AF_INET, {192, 0, 2, 1}, 24, IFA_F_SECONDARY);
  cut.nlh->nlmsg_len -= 6;
  auto without_flags = ParseAddress(*cut.nlh);
  ASSERT_TRUE(without_flags.has_value());
  EXPECT_FALSE(without_flags->Secondary());
  cut.nlh->nlmsg_len -= 8;  // libmnl parses up to the aligned length: cut well into it
  EXPECT_FALSE(ParseAddress(*cut.nlh).has_value());
}

}  // namespace
}  // namespace hafw::carp::io
