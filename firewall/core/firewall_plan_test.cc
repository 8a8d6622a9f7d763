#include "firewall/core/firewall_plan.h"

#include <gtest/gtest.h>

namespace hafw::firewall {
namespace {

IpPrefix Net(std::string_view text) { return *IpPrefix::Parse(text); }

FirewallPlan Good() {
  FirewallPlan plan;
  plan.carp_parents = {{"lan0", {Net("192.0.2.2/32")}}, {"wan0.100", {Net("203.0.113.2/32")}}};
  plan.sync = SyncLink{"sync0", 8007, {*IpAddress::Parse("198.51.100.2")}};
  return plan;
}

TEST(FirewallPlan, ValidPlanPasses) { EXPECT_TRUE(ValidatePlan(Good())); }

TEST(FirewallPlan, EmptyPlanIsValid) { EXPECT_TRUE(ValidatePlan(FirewallPlan{})); }

TEST(FirewallPlan, InterfaceNames) {
  EXPECT_TRUE(IsValidInterfaceName("lan0"));
  EXPECT_TRUE(IsValidInterfaceName("br-lan.100"));
  EXPECT_TRUE(IsValidInterfaceName("a23456789012345"));
  EXPECT_FALSE(IsValidInterfaceName(""));
  EXPECT_FALSE(IsValidInterfaceName("a234567890123456"));  // 16 bytes
  EXPECT_FALSE(IsValidInterfaceName("lan\"0"));
  EXPECT_FALSE(IsValidInterfaceName("lan 0"));
  EXPECT_FALSE(IsValidInterfaceName("lan*"));
  EXPECT_FALSE(IsValidInterfaceName("a/b"));
  EXPECT_FALSE(IsValidInterfaceName(".."));
}

TEST(FirewallPlan, TableNames) {
  EXPECT_TRUE(IsValidTableName("hafw"));
  EXPECT_TRUE(IsValidTableName("hafw_2-b"));
  EXPECT_FALSE(IsValidTableName(""));
  EXPECT_FALSE(IsValidTableName("Hafw"));
  EXPECT_FALSE(IsValidTableName("2hafw"));
  EXPECT_FALSE(IsValidTableName("ha fw"));
  EXPECT_FALSE(IsValidTableName(std::string(33, 'a')));
}

TEST(FirewallPlan, RejectsBadTableName) {
  FirewallPlan plan = Good();
  plan.table_name = "inet filter";
  auto r = ValidatePlan(plan);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(FirewallPlan, RejectsParentTwice) {
  FirewallPlan plan = Good();
  plan.carp_parents.push_back({"lan0", {}});
  auto r = ValidatePlan(plan);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context.find("twice"), std::string::npos);
}

TEST(FirewallPlan, RejectsBadParentName) {
  FirewallPlan plan = Good();
  plan.carp_parents[0].interface = "lan\"0";
  EXPECT_FALSE(ValidatePlan(plan));
}

TEST(FirewallPlan, RejectsOverlongPrefix) {
  FirewallPlan plan = Good();
  plan.carp_parents[0].allowed_sources.push_back(IpPrefix{*IpAddress::Parse("192.0.2.9"), 33});
  EXPECT_FALSE(ValidatePlan(plan));
}

TEST(FirewallPlan, RejectsIncompleteSyncLink) {
  FirewallPlan plan = Good();
  plan.sync->port = 0;
  EXPECT_FALSE(ValidatePlan(plan));
  plan = Good();
  plan.sync->peer_addresses.clear();
  EXPECT_FALSE(ValidatePlan(plan));
  plan = Good();
  plan.sync->interface = "";
  EXPECT_FALSE(ValidatePlan(plan));
}

TEST(FirewallPlan, NormalizeMasksSortsAndDropsCoveredPrefixes) {
  auto out = NormalizeSources({Net("2001:db8::5/128"), Net("203.0.113.77/28"), Net("192.0.2.3/32"),
                               Net("2001:db8::/64"), Net("192.0.2.3/32"), Net("203.0.113.66/32"),
                               Net("192.0.2.2/32"), Net("fe80::1/10")});
  std::vector<std::string> text;
  text.reserve(out.size());
  for (const IpPrefix& p : out) text.push_back(p.ToString());
  EXPECT_EQ(text, (std::vector<std::string>{"192.0.2.2/32", "192.0.2.3/32", "203.0.113.64/28",
                                            "2001:db8::/64", "fe80::/10"}));
}

TEST(FirewallPlan, NormalizeKeepsAWiderPrefixOverANarrowerOneAtTheSameAddress) {
  auto out = NormalizeSources({Net("198.51.100.0/25"), Net("198.51.100.0/24")});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].ToString(), "198.51.100.0/24");
}

TEST(FirewallPlan, HelperPrefixes) {
  EXPECT_EQ(LinkLocalV6().ToString(), "fe80::/10");
  EXPECT_EQ(HostPrefix(*IpAddress::Parse("192.0.2.1")).ToString(), "192.0.2.1/32");
  EXPECT_EQ(HostPrefix(*IpAddress::Parse("2001:db8::1")).ToString(), "2001:db8::1/128");
}

}  // namespace
}  // namespace hafw::firewall
