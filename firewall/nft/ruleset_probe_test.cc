// The start-up check against real kernels: rulesets that drop the agent's
// traffic are caught, the rules `hactl nft-rules` prints make them pass, and
// a ruleset that cannot load is reported rather than guessed at. The probe's
// namespaces are unnamed and die with it.

#include "firewall/nft/ruleset_probe.h"

#include <gtest/gtest.h>

#include "firewall/core/user_rules.h"
#include "firewall/nft/table_keeper.h"
#include "testing/netns_lab.h"

namespace hafw::firewall::nft {
namespace {

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

FirewallPlan Plan() {
  FirewallPlan plan;
  plan.carp_parents = {{"lan0", {}}};
  plan.sync = SyncLink{"sync0", 8007, {Ip("198.51.100.2")}};
  return plan;
}

ProbeSetup LabSetup() {
  ProbeSetup setup;
  setup.carp = {{"lan0", Ip("192.0.2.2"), Ip("192.0.2.3")}, {"lan0", Ip("fe80::2"), Ip("fe80::3")}};
  setup.sync = ProbeLink{"sync0", Ip("198.51.100.1"), Ip("198.51.100.2")};
  setup.sync_port = 8007;
  return setup;
}

// A strict ruleset; `input_extra` / `output_extra` go before its drops.
std::string Strict(const std::string& input_extra, const std::string& output_extra) {
  return "table inet filter {\n"
         "\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n"
         "\t\tct state established,related accept\n\t\tiif \"lo\" accept\n" +
         input_extra +
         "\t}\n"
         "\tchain output {\n\t\ttype filter hook output priority filter; policy drop;\n"
         "\t\tct state established,related accept\n\t\toif \"lo\" accept\n" +
         output_extra + "\t}\n}\n";
}

std::string RulesOf(UserHook hook, bool carp, bool sync) {
  std::string out;
  for (const UserRule& r : UserAcceptRules(Plan())) {
    const bool is_carp = r.traffic == UserTraffic::kCarpIn || r.traffic == UserTraffic::kCarpOut;
    if (r.hook == hook && (is_carp ? carp : sync)) out += "\t\t" + r.rule + "\n";
  }
  return out;
}

int Passed(const std::vector<ProbeResult>& results, UserTraffic traffic) {
  int n = 0;
  for (const ProbeResult& r : results) n += r.traffic == traffic && r.passed ? 1 : 0;
  return n;
}

class RulesetProbeTest : public ::testing::Test {
 protected:
  void SetUp() override { HAFW_REQUIRE_ROOT_OR_SKIP(); }
};

TEST_F(RulesetProbeTest, AnOpenRulesetPassesEverything) {
  auto results = ProbeRuleset("", LabSetup());
  ASSERT_TRUE(results) << results.error().ToString();
  ASSERT_EQ(results->size(), 6U);  // CARP in and out for two families, sync both ways
  for (const ProbeResult& r : *results) {
    EXPECT_TRUE(r.passed) << static_cast<int>(r.traffic) << " " << r.interface << " "
                          << IpFamilyName(r.family);
  }
  EXPECT_TRUE(ProbeWarnings(*results, Plan()).empty());
}

TEST_F(RulesetProbeTest, AStrictRulesetIsCaughtWithTheRulesToAdd) {
  auto results = ProbeRuleset(Strict("", ""), LabSetup());
  ASSERT_TRUE(results) << results.error().ToString();
  for (const ProbeResult& r : *results) EXPECT_FALSE(r.passed) << static_cast<int>(r.traffic);
  const auto warnings = ProbeWarnings(*results, Plan());
  ASSERT_EQ(warnings.size(), 6U);
  EXPECT_NE(warnings[0].find("iifname \"lan0\" meta l4proto 112 accept"), std::string::npos)
      << warnings[0];
}

TEST_F(RulesetProbeTest, TheRulesHactlPrintsMakeAStrictRulesetPass) {
  auto results = ProbeRuleset(
      Strict(RulesOf(UserHook::kInput, true, true), RulesOf(UserHook::kOutput, true, true)),
      LabSetup());
  ASSERT_TRUE(results) << results.error().ToString();
  for (const ProbeResult& r : *results) {
    EXPECT_TRUE(r.passed) << static_cast<int>(r.traffic) << " " << IpFamilyName(r.family);
  }
}

TEST_F(RulesetProbeTest, EachKindIsJudgedOnItsOwn) {
  // Sync accepted, CARP not; and CARP accepted inbound only.
  auto results = ProbeRuleset(Strict(RulesOf(UserHook::kInput, false, true) +
                                         "\t\tiifname \"lan0\" meta l4proto 112 accept\n",
                                     RulesOf(UserHook::kOutput, false, true)),
                              LabSetup());
  ASSERT_TRUE(results) << results.error().ToString();
  EXPECT_EQ(Passed(*results, UserTraffic::kCarpIn), 2);
  EXPECT_EQ(Passed(*results, UserTraffic::kCarpOut), 0);
  EXPECT_EQ(Passed(*results, UserTraffic::kSyncIn), 1);
  EXPECT_EQ(Passed(*results, UserTraffic::kSyncOut), 1);
}

TEST_F(RulesetProbeTest, ARulesetThatCannotLoadIsReportedNotGuessed) {
  auto results = ProbeRuleset(
      "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0;\n"
      "\t\tiif \"nosuchdev0\" drop\n\t}\n}\n",
      LabSetup());
  ASSERT_FALSE(results);
  EXPECT_EQ(results.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(results.error().context.find("could not be evaluated"), std::string::npos);
}

TEST_F(RulesetProbeTest, TheKeeperHandsOverTheLiveRulesetWithoutItsOwnTable) {
  testkit::NetnsGroup group;
  auto ns = group.Add("fw");
  ASSERT_TRUE(ns) << ns.error().ToString();
  boost::asio::io_context io;
  SteadyClock clock;
  auto keeper = testkit::RunIn(*ns, [&] { return TableKeeper::Create(io, {}, nullptr, clock); });
  ASSERT_TRUE(keeper && *keeper);
  ASSERT_TRUE((**keeper)->Apply(Plan()));
  ASSERT_EQ(group.Exec(*ns, {"nft", "add", "table", "inet", "filter"}), 0);
  auto ruleset = (**keeper)->UserRuleset();
  ASSERT_TRUE(ruleset) << ruleset.error().ToString();
  EXPECT_EQ(*ruleset, "table inet filter {\n}\n");
}

}  // namespace
}  // namespace hafw::firewall::nft
