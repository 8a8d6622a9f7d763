#include "haagent/config/describe_plan.h"

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "carp/core/election.h"
#include "haagent/config/config_test_fixture.h"

namespace hafw::agent::config_test {
namespace {

TEST_F(ConfigTest, DescribePlanShowsTimingButNoSecrets) {
  auto config = Load("good_minimal.toml");
  ASSERT_TRUE(config);
  auto plan = PlanForNode(*config, "fw2");
  ASSERT_TRUE(plan);
  std::string text = DescribePlan(*config, *plan);
  EXPECT_NE(text.find("node fw2 (cluster file "), std::string::npos) << text;
  EXPECT_NE(text.find("vhid 1 on lan0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("1 / 100 (advert every 1.391 s, master down after 3.391 s, classic rule)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("passphrase             10 bytes from "), std::string::npos) << text;
  EXPECT_EQ(text.find("lan-secret"), std::string::npos) << text;
}

// One vhid with the given timing, as PlanForNode would give it.
std::string TimingLineOf(uint8_t advbase, uint8_t advskew, carp::MasterDownRule rule) {
  ClusterConfig config;
  config.path = "/etc/hafw/hafw.toml";
  VhidConfig c;
  c.vhid = 1;
  c.interface = "lan0";
  c.passphrase_file = "/etc/hafw/secrets/vhid1.pass";
  config.vhids = {c};
  NodePlan plan;
  plan.node = "fw1";
  VhidPlan v;
  v.interface = "lan0";
  v.vhid = 1;
  v.advbase = advbase;
  v.advskew = advskew;
  v.master_down = rule;
  plan.vhids = {v};
  std::string text = DescribePlan(config, plan);
  size_t at = text.find("  advbase / advskew ");
  if (at == std::string::npos) return "(no timing line in)\n" + text;
  return text.substr(at, text.find('\n', at) - at);
}

// The engine's timing (carp/core), not a formula of the config layer: for
// every combination the text says what carp::AdvertisementInterval and
// carp::MasterDownInterval return.
TEST(DescribePlanTest, TimingIsTheEnginesForEveryAdvbaseAdvskewAndRule) {
  for (uint8_t advbase : {0, 1, 2, 255}) {
    for (uint8_t advskew : {0, 1, 2, 254}) {
      for (auto rule : {carp::MasterDownRule::kClassic, carp::MasterDownRule::kOpenBsd2025}) {
        SCOPED_TRACE(
            fmt::format("advbase {} advskew {} {}", advbase, advskew, MasterDownRuleName(rule)));
        std::string want = fmt::format(
            "  advbase / advskew      {} / {} (advert every {:.3f} s, master down after {:.3f} s, "
            "{} rule)",
            advbase, advskew, ToSeconds(carp::AdvertisementInterval(advbase, advskew)),
            ToSeconds(carp::MasterDownInterval(advbase, advskew, rule)), MasterDownRuleName(rule));
        EXPECT_EQ(TimingLineOf(advbase, advskew, rule), want);
      }
    }
  }
}

// The values the engine waits, spelled out (carp-protocol.md §3.2).
TEST(DescribePlanTest, SubSecondTimingsMatchTheEngine) {
  // 3 x 2/256 s: the engine's advbase-0 rule, not 3 x 0 + 2/256.
  EXPECT_NE(TimingLineOf(0, 2, carp::MasterDownRule::kClassic)
                .find("advert every 0.008 s, master down after 0.023 s"),
            std::string::npos);
  // advbase 0 and advskew 0: the 1/256 s floor, 3/256 s master down, both rules.
  for (auto rule : {carp::MasterDownRule::kClassic, carp::MasterDownRule::kOpenBsd2025}) {
    EXPECT_NE(TimingLineOf(0, 0, rule).find("advert every 0.004 s, master down after 0.012 s"),
              std::string::npos)
        << MasterDownRuleName(rule);
  }
  EXPECT_NE(TimingLineOf(255, 254, carp::MasterDownRule::kClassic)
                .find("advert every 255.992 s, master down after 765.992 s, classic rule"),
            std::string::npos);
  EXPECT_NE(TimingLineOf(255, 254, carp::MasterDownRule::kOpenBsd2025)
                .find("master down after 767.977 s, openbsd-2025 rule"),
            std::string::npos);
}

TEST(DescribePlanTest, SecondsHaveThreeDecimals) {
  EXPECT_EQ(FormatPlanSeconds(Millis(1500)), "1.500 s");
  EXPECT_EQ(FormatPlanSeconds(kSkewUnit), "0.004 s");
}

}  // namespace
}  // namespace hafw::agent::config_test
