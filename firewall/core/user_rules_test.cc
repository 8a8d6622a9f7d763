#include "firewall/core/user_rules.h"

#include <gtest/gtest.h>

namespace hafw::firewall {
namespace {

FirewallPlan Plan() {
  FirewallPlan plan;
  plan.carp_parents = {{"wan0", {}}, {"lan0", {}}};
  plan.sync = SyncLink{"sync0", 8007, {*IpAddress::Parse("198.51.100.2")}};
  return plan;
}

TEST(UserRules, CarpOnEveryParentAndTheSyncPortBothWays) {
  const auto rules = UserAcceptRules(Plan());
  ASSERT_EQ(rules.size(), 6U);
  EXPECT_EQ(rules[0].hook, UserHook::kInput);
  EXPECT_EQ(rules[0].traffic, UserTraffic::kCarpIn);
  EXPECT_EQ(rules[0].rule,
            "iifname { \"lan0\", \"wan0\" } meta l4proto 112 accept comment \"hafw: CARP\"");
  EXPECT_EQ(rules[1].rule, "iifname \"sync0\" tcp dport 8007 accept comment \"hafw: state sync\"");
  EXPECT_EQ(rules[2].rule,
            "iifname \"sync0\" tcp sport 8007 ct state established accept comment "
            "\"hafw: state sync\"");
  EXPECT_EQ(rules[3].hook, UserHook::kOutput);
  EXPECT_EQ(rules[3].rule,
            "oifname { \"lan0\", \"wan0\" } meta l4proto 112 accept comment \"hafw: CARP\"");
  EXPECT_EQ(rules[4].traffic, UserTraffic::kSyncOut);
  EXPECT_EQ(rules[5].traffic, UserTraffic::kSyncReplyOut);
}

TEST(UserRules, NoSyncNoSyncRules) {
  FirewallPlan plan = Plan();
  plan.sync.reset();
  plan.carp_parents = {{"lan0", {}}};
  const auto rules = UserAcceptRules(plan);
  ASSERT_EQ(rules.size(), 2U);
  EXPECT_EQ(rules[0].rule, "iifname \"lan0\" meta l4proto 112 accept comment \"hafw: CARP\"");
  EXPECT_EQ(rules[1].rule, "oifname \"lan0\" meta l4proto 112 accept comment \"hafw: CARP\"");
}

TEST(UserRules, TextGroupsByHook) {
  const std::string text = RenderUserAcceptRules(Plan());
  const size_t input = text.find("# hook input:");
  const size_t output = text.find("# hook output");
  ASSERT_NE(input, std::string::npos);
  ASSERT_NE(output, std::string::npos);
  EXPECT_LT(input, text.find("iifname \"sync0\" tcp dport 8007"));
  EXPECT_LT(output, text.find("oifname \"sync0\" tcp dport 8007"));
  EXPECT_GT(text.find("iifname \"sync0\" tcp dport 8007"), input);
  EXPECT_LT(text.find("iifname \"sync0\" tcp dport 8007"), output);
}

TEST(UserRules, NothingNeeded) {
  const std::string text = RenderUserAcceptRules(FirewallPlan{});
  EXPECT_NE(text.find("needs none"), std::string::npos);
  EXPECT_TRUE(UserAcceptRules(FirewallPlan{}).empty());
}

}  // namespace
}  // namespace hafw::firewall
