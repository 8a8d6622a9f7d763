#include "haagent/services/carp_vhosts.h"

#include <gtest/gtest.h>

#include "haagent/services/maintenance_service.h"

namespace hafw::agent {
namespace {

VhidPlan LanVhid() {
  VhidPlan v;
  v.interface = "lan0";
  v.vhid = 1;
  v.advbase = 2;
  v.advskew = 100;
  v.preempt = true;
  v.vips = {*IpPrefix::Parse("192.0.2.1/24"), *IpPrefix::Parse("2001:db8:1::1/64")};
  v.passphrase = {'s', 'e', 'c', 'r', 'e', 't'};
  v.unicast_peer_v4 = *IpAddress::Parse("192.0.2.3");
  v.master_down = carp::MasterDownRule::kOpenBsd2025;
  v.demote_raises_advskew = true;
  v.groups = {"edge"};
  return v;
}

TEST(CarpVhostsTest, VhidPlanMapsOntoEngineConfig) {
  carp::VhostConfig c = ToVhostConfig(LanVhid());
  EXPECT_EQ(c.vhid, 1);
  EXPECT_EQ(c.advbase, 2);
  EXPECT_EQ(c.advskew, 100);
  EXPECT_TRUE(c.preempt);
  EXPECT_EQ(c.master_down_rule, carp::MasterDownRule::kOpenBsd2025);
  EXPECT_TRUE(c.demote_raises_advskew);
  ASSERT_EQ(c.vips.size(), 2u);
  EXPECT_EQ(c.vips[0].ToString(), "192.0.2.1");  // the HMAC covers addresses, not prefixes
  EXPECT_EQ(c.vips[1].ToString(), "2001:db8:1::1");
  EXPECT_EQ(c.passphrase.size(), 6u);
  EXPECT_EQ(c.unicast_peer_v4->ToString(), "192.0.2.3");
  EXPECT_FALSE(c.unicast_peer_v6.has_value());
}

TEST(CarpVhostsTest, ClassicRuleIsTheDefault) {
  VhidPlan v = LanVhid();
  v.master_down = carp::MasterDownRule::kClassic;
  EXPECT_EQ(ToVhostConfig(v).master_down_rule, carp::MasterDownRule::kClassic);
}

TEST(CarpVhostsTest, GroupsCoverPlannedInterfaces) {
  NodePlan plan;
  plan.node = "fw1";
  plan.vhids = {LanVhid()};
  VhidPlan wan = LanVhid();
  wan.interface = "wan0";
  wan.vhid = 2;
  plan.vhids.push_back(wan);
  VhidPlan dmz = LanVhid();
  dmz.interface = "dmz0";
  dmz.vhid = 3;
  plan.vhids.push_back(dmz);
  plan.groups = {InterfaceGroup{"edge", {"lan0", "wan0"}}};
  carp::DemotionGroups groups = ToDemotionGroups(plan);
  // A link reason on lan0 demotes the group, so wan0 follows; dmz0 is not in it.
  groups.AdjustGroupsOf("lan0", carp::LinkReason("lan0"), 1, TimePoint{});
  EXPECT_EQ(groups.EffectiveDemotion("lan0"), 1);
  EXPECT_EQ(groups.EffectiveDemotion("wan0"), 1);
  EXPECT_EQ(groups.EffectiveDemotion("dmz0"), 0);
  // "all" reaches every planned interface, including dmz0.
  groups.Adjust(carp::kAllGroup, carp::kReasonMaintenance, kMaintenanceDemotion, TimePoint{});
  EXPECT_EQ(groups.EffectiveDemotion("dmz0"), kMaintenanceDemotion);
}

}  // namespace
}  // namespace hafw::agent
