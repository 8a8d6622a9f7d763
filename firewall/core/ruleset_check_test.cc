#include "firewall/core/ruleset_check.h"

#include <gtest/gtest.h>

namespace hafw::firewall {
namespace {

FirewallPlan Plan() {
  FirewallPlan plan;
  plan.carp_parents = {{"lan0", {}}};
  plan.sync = SyncLink{"sync0", 8007, {*IpAddress::Parse("198.51.100.2")}};
  return plan;
}

TEST(RulesetCheck, AFailedTcpProbeNeedsBothDirections) {
  EXPECT_EQ(RulesNeededFor(UserTraffic::kSyncIn),
            (std::vector<UserTraffic>{UserTraffic::kSyncIn, UserTraffic::kSyncReplyOut}));
  EXPECT_EQ(RulesNeededFor(UserTraffic::kSyncOut),
            (std::vector<UserTraffic>{UserTraffic::kSyncOut, UserTraffic::kSyncReplyIn}));
  EXPECT_EQ(RulesNeededFor(UserTraffic::kCarpIn), (std::vector<UserTraffic>{UserTraffic::kCarpIn}));
}

TEST(RulesetCheck, WarningsNameTheExactRules) {
  const std::vector<ProbeResult> results = {
      {UserTraffic::kCarpIn, "lan0", IpFamily::kV4, false},
      {UserTraffic::kCarpOut, "lan0", IpFamily::kV4, true},
      {UserTraffic::kSyncIn, "sync0", IpFamily::kV6, false},
  };
  const auto warnings = ProbeWarnings(results, Plan());
  ASSERT_EQ(warnings.size(), 2U);
  EXPECT_EQ(warnings[0],
            "your nftables ruleset drops CARP advertisements from the peers arriving on lan0 "
            "(ipv4); add to your hook input chains: `iifname \"lan0\" meta l4proto 112 accept "
            "comment \"hafw: CARP\"`");
  EXPECT_NE(warnings[1].find("(ipv6)"), std::string::npos);
  EXPECT_NE(warnings[1].find("hook input chains: `iifname \"sync0\" tcp dport 8007 accept"),
            std::string::npos);
  EXPECT_NE(warnings[1].find("hook output chains: `oifname \"sync0\" tcp sport 8007 ct state "
                             "established accept"),
            std::string::npos);
}

TEST(RulesetCheck, NoWarningWhenEverythingPassed) {
  EXPECT_TRUE(ProbeWarnings({{UserTraffic::kCarpIn, "lan0", IpFamily::kV4, true}}, Plan()).empty());
}

TEST(RulesetCheck, RemovesOnlyOurTableFromAListing) {
  const std::string listing =
      "table inet filter {\n\tchain input {\n\t}\n}\n"
      "table inet hafw { # progname ha-agent\n\tflags owner\n\tchain carp {\n\t}\n}\n"
      "table inet hafw2 {\n}\n"
      "table ip hafw {\n}\n";
  EXPECT_EQ(RemoveTableFromListing(listing, "hafw"),
            "table inet filter {\n\tchain input {\n\t}\n}\n"
            "table inet hafw2 {\n}\n"
            "table ip hafw {\n}\n");
  EXPECT_EQ(RemoveTableFromListing(listing, "absent"), listing);
}

}  // namespace
}  // namespace hafw::firewall
