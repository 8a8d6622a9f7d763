// Golden tests of the rendered table (testdata/*.nft). To refresh the files
// after an intended change: HAFW_UPDATE_GOLDEN=1 ./firewall_core_test, then
// review the diff.

#include "firewall/core/table_text.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "firewall/core/firewall_plan.h"

namespace hafw::firewall {
namespace {

IpAddress Ip(std::string_view text) { return *IpAddress::Parse(text); }
IpPrefix Host(std::string_view text) { return HostPrefix(Ip(text)); }
IpPrefix Net(std::string_view text) { return *IpPrefix::Parse(text); }

std::string GoldenPath(const std::string& name) {
  const char* dir = std::getenv("HAFW_SOURCE_DIR");
  return std::string(dir ? dir : ".") + "/firewall/core/testdata/" + name;
}

void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = GoldenPath(name);
  if (std::getenv("HAFW_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing golden file " << path << " (set HAFW_SOURCE_DIR)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(expected.str(), actual) << "differs from " << path;
}

// Two nodes (192.0.2.2, .3) and a UCARP box (.50) on lan0; sync over sync0.
FirewallPlan V4Plan() {
  FirewallPlan plan;
  plan.carp_parents = {{"lan0", {Host("192.0.2.2"), Host("192.0.2.3"), Host("192.0.2.50")}}};
  plan.sync = SyncLink{"sync0", 8007, {Ip("198.51.100.2"), Ip("198.51.100.1")}};
  plan.conntrack_labels = true;
  return plan;
}

TEST(TableText, Ipv4Only) { ExpectGolden("v4_only.nft", RenderTable(V4Plan(), {})); }

TEST(TableText, Ipv6Only) {
  FirewallPlan plan;
  plan.carp_parents = {{"lan0", {LinkLocalV6(), Host("2001:db8:1::2"), Host("2001:db8:1::3")}}};
  plan.sync = SyncLink{"sync0", 8007, {Ip("2001:db8:ff::1"), Ip("2001:db8:ff::2")}};
  plan.conntrack_labels = true;
  ExpectGolden("v6_only.nft", RenderTable(plan, {}));
}

TEST(TableText, BothFamiliesSeveralParents) {
  FirewallPlan plan;
  plan.carp_parents = {
      {"wan0", {Host("203.0.113.2"), Host("203.0.113.3"), LinkLocalV6()}},
      {"lan0", {Host("192.0.2.2"), Host("192.0.2.3"), Host("2001:db8:1::2"), LinkLocalV6()}},
      {"dmz0", {Net("198.51.100.0/28")}},
  };
  plan.sync = SyncLink{"sync0", 8007, {Ip("198.51.100.65"), Ip("2001:db8:ff::2")}};
  plan.conntrack_labels = true;
  ExpectGolden("dual_stack.nft", RenderTable(plan, {}));
}

TEST(TableText, NoSyncNoLabels) {
  FirewallPlan plan = V4Plan();
  plan.sync.reset();
  plan.conntrack_labels = false;
  ExpectGolden("no_sync.nft", RenderTable(plan, {}));
}

TEST(TableText, LabelsOnly) {
  FirewallPlan plan;
  plan.conntrack_labels = true;
  ExpectGolden("labels_only.nft", RenderTable(plan, {}));
}

TEST(TableText, OwnerFlagAndCounterStartValues) {
  TableOptions options;
  options.owner = true;
  options.initial_counters[DropReason::kCarpTtl] = {7, 392};
  options.initial_counters[DropReason::kSyncSource] = {2, 120};
  ExpectGolden("owner_counters.nft", RenderTable(V4Plan(), options));
}

TEST(TableText, RenderingDoesNotDependOnInputOrder) {
  FirewallPlan a;
  a.carp_parents = {{"lan0", {Host("192.0.2.3"), Host("192.0.2.2"), Host("2001:db8::2")}},
                    {"wan0", {Host("203.0.113.2")}}};
  a.sync = SyncLink{"sync0", 8007, {Ip("198.51.100.2"), Ip("198.51.100.1"), Ip("198.51.100.2")}};
  FirewallPlan b;
  b.carp_parents = {{"wan0", {Host("203.0.113.2")}},
                    {"lan0", {Host("2001:db8::2"), Host("192.0.2.2"), Host("192.0.2.3")}}};
  b.sync = SyncLink{"sync0", 8007, {Ip("198.51.100.1"), Ip("198.51.100.2")}};
  EXPECT_EQ(RenderTable(a, {}), RenderTable(b, {}));
}

TEST(TableText, OneParentIsNotASet) {
  const std::string text = RenderTable(V4Plan(), {});
  EXPECT_NE(text.find("iifname \"lan0\" meta l4proto 112 jump carp"), std::string::npos);
}

TEST(TableText, EveryReasonHasItsCounterWhateverThePlan) {
  const std::string text = RenderTable(FirewallPlan{}, {});
  for (DropReason reason : kDropReasons) {
    EXPECT_NE(text.find("counter " + std::string(DropReasonName(reason)) + " {"), std::string::npos)
        << DropReasonName(reason);
  }
  // Nothing to filter: no hooked chain at all.
  EXPECT_EQ(text.find("hook"), std::string::npos);
}

TEST(TableText, AFamilyWithoutSourcesHasNoSetAndIsDropped) {
  // IPv4-only parents: no IPv6 set, so IPv6 CARP falls through to the drop.
  const std::string text = RenderTable(V4Plan(), {});
  EXPECT_EQ(text.find("carp-sources-v6"), std::string::npos);
  EXPECT_NE(text.find("counter name \"carp-source\" drop"), std::string::npos);
}

TEST(TableText, ApplyReplacesAnExistingTableInTheSameTransaction) {
  const FirewallPlan plan = V4Plan();
  const std::string create = RenderApply(plan, {}, /*table_exists=*/false);
  const std::string replace = RenderApply(plan, {}, /*table_exists=*/true);
  EXPECT_EQ(create, RenderTable(plan, {}));
  EXPECT_EQ(replace, "delete table inet hafw\n" + RenderTable(plan, {}));
}

TEST(TableText, ReloadReplacesWhatTheOldPlanRenderedAndKeepsTheCounters) {
  FirewallPlan old_plan = V4Plan();
  FirewallPlan new_plan = V4Plan();
  new_plan.sync.reset();
  new_plan.carp_parents[0].allowed_sources.push_back(LinkLocalV6());
  const std::string reload = RenderReload(old_plan, new_plan, {});
  EXPECT_EQ(reload,
            "flush table inet hafw\n"
            "delete chain inet hafw prerouting\n"
            "delete chain inet hafw carp\n"
            "delete chain inet hafw sync\n"
            "delete chain inet hafw conntrack-labels\n"
            "delete set inet hafw carp-sources-v4\n"
            "delete set inet hafw sync-peers-v4\n" +
                RenderTable(new_plan, {}));
}

TEST(TableText, TableNameIsThePlans) {
  FirewallPlan plan = V4Plan();
  plan.table_name = "hafw-test";
  EXPECT_EQ(RenderTable(plan, {}).rfind("table inet hafw-test {\n", 0), 0U);
  EXPECT_EQ(RenderDelete("hafw-test"), "delete table inet hafw-test\n");
}

TEST(TableText, AgentCommentIsRecognised) {
  EXPECT_TRUE(IsAgentTableComment(kTableComment));
  EXPECT_TRUE(IsAgentTableComment(std::string(kTableCommentPrefix) + " (older wording)"));
  EXPECT_FALSE(IsAgentTableComment(""));
  EXPECT_FALSE(IsAgentTableComment("my own hafw table"));
}

TEST(TableText, DropReasonNamesRoundTrip) {
  for (DropReason reason : kDropReasons) {
    EXPECT_EQ(DropReasonFromName(DropReasonName(reason)), reason);
  }
  EXPECT_EQ(DropReasonFromName("bad_ttl"), std::nullopt);
  DropCounters c;
  c[DropReason::kCarpSource] = {3, 100};
  c[DropReason::kSyncSource] = {4, 200};
  EXPECT_EQ(c.TotalPackets(), 7U);
}

}  // namespace
}  // namespace hafw::firewall
