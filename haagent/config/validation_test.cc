#include "haagent/config/validation.h"

#include <string>

#include <gtest/gtest.h>

namespace hafw::agent {
namespace {

IpPrefix Prefix(std::string_view text) { return *IpPrefix::Parse(text); }
IpAddress Address(std::string_view text) { return *IpAddress::Parse(text); }

std::vector<NodeConfig> Nodes() {
  NodeConfig a;
  a.name = "fw1";
  a.position = {2, 1};
  NodeConfig b;
  b.name = "fw2";
  b.position = {5, 1};
  return {a, b};
}

std::string Messages(const Diagnostics& d) { return d.Empty() ? "" : d.ToError("f").context; }

TEST(ValidationTest, Names) {
  EXPECT_TRUE(ValidInterfaceName("enp1s0"));
  EXPECT_TRUE(ValidInterfaceName("vlan.100"));
  EXPECT_FALSE(ValidInterfaceName(""));
  EXPECT_FALSE(ValidInterfaceName("a23456789012345x"));  // 16 characters
  EXPECT_FALSE(ValidInterfaceName("lan0/1"));
  EXPECT_FALSE(ValidInterfaceName("lan:0"));
  EXPECT_FALSE(ValidInterfaceName(".."));
  EXPECT_TRUE(ValidName("fw-1.site_a"));
  EXPECT_FALSE(ValidName("fw 1"));
  EXPECT_FALSE(ValidName(std::string(kMaxName + 1, 'a')));
}

TEST(ValidationTest, SyncAddressesDistinctAndOneFamily) {
  auto nodes = Nodes();
  nodes[0].sync_address = Address("203.0.113.1");
  nodes[1].sync_address = Address("203.0.113.1");
  Diagnostics d;
  CheckSyncAddresses(nodes, d);
  EXPECT_EQ(Messages(d), "f:5:1: node 'fw2' has the same sync_address 203.0.113.1 as node 'fw1'");
  nodes[1].sync_address = Address("2001:db8::2");
  Diagnostics family;
  CheckSyncAddresses(nodes, family);
  EXPECT_EQ(Messages(family),
            "f:5:1: node 'fw2' has an ipv6 sync_address but node 'fw1' an ipv4 one; the sync "
            "link uses one family");
}

TEST(ValidationTest, AdvbaseZeroNeedsSkewOnEveryNode) {
  VhidConfig v;
  v.vhid = 4;
  v.advbase = 0;
  v.advskew = {{"fw1", 1}, {"fw2", 0}};
  Diagnostics d;
  EXPECT_FALSE(CheckAdvbaseZero(v, {9, 11}, d));
  EXPECT_EQ(Messages(d),
            "f:9:11: vhid 4: advbase 0 needs advskew 1..254 on every node, but node 'fw2' has "
            "advskew 0");
  v.advbase = 1;
  EXPECT_TRUE(CheckAdvbaseZero(v, {9, 11}, d));
}

TEST(ValidationTest, DistinctAdvskew) {
  VhidConfig v;
  v.vhid = 1;
  v.position = {7, 1};
  v.advskew = {{"fw1", 0}, {"fw2", 100}};
  Diagnostics d;
  EXPECT_TRUE(CheckDistinctAdvskew(v, Nodes(), d));
  v.advskew["fw2"] = 0;
  EXPECT_FALSE(CheckDistinctAdvskew(v, Nodes(), d));
  EXPECT_NE(Messages(d).find("nodes 'fw1' and 'fw2' both have advskew 0"), std::string::npos);
}

TEST(ValidationTest, UnicastPeers) {
  VhidConfig v;
  v.vhid = 1;
  v.vips = {Prefix("192.0.2.1/24")};
  UnicastPeers none;
  Diagnostics d;
  EXPECT_TRUE(CheckUnicastPeer(Address("192.0.2.3"), v, "fw1", none, {1, 1}, d));
  EXPECT_FALSE(CheckUnicastPeer(Address("192.0.2.1"), v, "fw1", none, {1, 1}, d));
  EXPECT_FALSE(CheckUnicastPeer(Address("224.0.0.18"), v, "fw1", none, {1, 1}, d));
  EXPECT_FALSE(CheckUnicastPeer(Address("2001:db8::3"), v, "fw1", none, {1, 1}, d));
  UnicastPeers one;
  one.v4 = Address("192.0.2.3");
  EXPECT_FALSE(CheckUnicastPeer(Address("192.0.2.4"), v, "fw1", one, {1, 1}, d));
  EXPECT_NE(Messages(d).find("node 'fw1' has two ipv4 unicast peers"), std::string::npos);

  v.unicast_peers["fw1"] = one;
  Diagnostics coverage;
  EXPECT_FALSE(CheckUnicastCoverage(v, Nodes(), {14, 16}, coverage));
  EXPECT_EQ(Messages(coverage),
            "f:14:16: unicast_peer is set for some nodes but not for 'fw2'; set it for every "
            "node or for none");
  v.unicast_peers.clear();
  EXPECT_TRUE(CheckUnicastCoverage(v, Nodes(), {14, 16}, coverage));
}

TEST(ValidationTest, VipsAndVhids) {
  VhidConfig first;
  first.vhid = 1;
  first.interface = "lan0";
  first.position = {9, 1};
  first.vips = {Prefix("192.0.2.1/24")};
  VhidConfig v;
  v.vhid = 1;
  v.interface = "lan0";
  Diagnostics d;
  EXPECT_FALSE(CheckVhidUnique(v, {first}, {16, 8}, d));
  v.interface = "wan0";
  EXPECT_TRUE(CheckVhidUnique(v, {first}, {16, 8}, d));
  EXPECT_FALSE(CheckVipFree(Address("192.0.2.1"), {first}, {18, 9}, d));
  EXPECT_TRUE(CheckVipFree(Address("192.0.2.2"), {first}, {18, 9}, d));
  v.vips = {Prefix("192.0.2.2/24")};
  EXPECT_FALSE(CheckVip(Address("192.0.2.2"), v, {1, 1}, d));  // listed twice
  EXPECT_FALSE(CheckVip(Address("::"), v, {1, 1}, d));
  EXPECT_TRUE(CheckVip(Address("192.0.2.3"), v, {1, 1}, d));
}

TEST(ValidationTest, LocalNamesDistinctAfterRenames) {
  NodeConfig n;
  n.name = "fw2";
  n.interface_renames = {{"lan0", "wan0"}};
  Diagnostics d;
  CheckLocalNamesDistinct(n, {"lan0", "wan0"}, {8, 14}, d);
  EXPECT_EQ(Messages(d), "f:8:14: on node 'fw2' interfaces 'lan0' and 'wan0' would both be 'wan0'");
}

}  // namespace
}  // namespace hafw::agent
