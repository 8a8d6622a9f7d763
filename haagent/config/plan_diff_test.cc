#include "haagent/config/plan_diff.h"

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hafw::agent {
namespace {

IpPrefix Prefix(std::string_view text) { return *IpPrefix::Parse(text); }
IpAddress Address(std::string_view text) { return *IpAddress::Parse(text); }

VhidPlan Vhid(std::string interface, uint8_t vhid) {
  VhidPlan v;
  v.interface = std::move(interface);
  v.vhid = vhid;
  v.advbase = 1;
  v.advskew = 0;
  v.vips = {Prefix("192.0.2.1/24")};
  v.passphrase = {'p', 'w'};
  v.groups = {"edge"};
  return v;
}

NodePlan Plan() {
  NodePlan p;
  p.node = "fw1";
  p.vhids = {Vhid("lan0", 1), Vhid("wan0", 2)};
  p.groups = {{"edge", {"lan0", "wan0"}}};
  p.sync = SyncPlan{
      "sync0", 7788, Address("203.0.113.1"), {{"fw2", Address("203.0.113.2")}}, {'k', 'e', 'y'}};
  p.hooks.master = "/usr/local/lib/hafw/master.sh";
  return p;
}

TEST(PlanDiffTest, EqualPlansHaveNoChange) {
  PlanDiff d = DiffPlans(Plan(), Plan());
  EXPECT_TRUE(d.Empty());
  EXPECT_TRUE(d.InPlace());
  EXPECT_TRUE(d.ApplicableLive());
  EXPECT_EQ(DescribeDiff(d), "no change");
}

TEST(PlanDiffTest, VhidOrderAndGroupMemberOrderAreNotChanges) {
  NodePlan b = Plan();
  std::swap(b.vhids[0], b.vhids[1]);
  b.groups[0].interfaces = {"wan0", "lan0"};
  EXPECT_TRUE(DiffPlans(Plan(), b).Empty()) << DescribeDiff(DiffPlans(Plan(), b));
}

struct FieldCase {
  VhidField field;
  std::function<void(VhidPlan&)> change;
  bool in_place;
};

// Each VhidPlan field alone: the diff names exactly that field and says
// whether it applies in place.
TEST(PlanDiffTest, EveryVhidFieldIsNamedWithItsImpact) {
  const std::vector<FieldCase> cases = {
      {VhidField::kAdvbase, [](VhidPlan& v) { v.advbase = 2; }, true},
      {VhidField::kAdvskew, [](VhidPlan& v) { v.advskew = 100; }, true},
      {VhidField::kPreempt, [](VhidPlan& v) { v.preempt = true; }, true},
      {VhidField::kVips, [](VhidPlan& v) { v.vips.push_back(Prefix("2001:db8::1/64")); }, false},
      {VhidField::kPassphrase,
       [](VhidPlan& v) {
         v.passphrase = {'n', 'e', 'w'};
       },
       false},
      {VhidField::kUnicastPeerV4, [](VhidPlan& v) { v.unicast_peer_v4 = Address("192.0.2.3"); },
       true},
      {VhidField::kUnicastPeerV6, [](VhidPlan& v) { v.unicast_peer_v6 = Address("2001:db8::3"); },
       true},
      {VhidField::kMasterDown,
       [](VhidPlan& v) { v.master_down = carp::MasterDownRule::kOpenBsd2025; }, true},
      {VhidField::kDemoteRaisesAdvskew, [](VhidPlan& v) { v.demote_raises_advskew = true; }, true},
      {VhidField::kVmac, [](VhidPlan& v) { v.vmac = true; }, false},
      {VhidField::kGroups, [](VhidPlan& v) { v.groups.clear(); }, true},
  };
  ASSERT_EQ(cases.size(), kVhidFieldCount);
  for (const FieldCase& c : cases) {
    SCOPED_TRACE(std::string(VhidFieldName(c.field)));
    NodePlan b = Plan();
    c.change(b.vhids[1]);
    PlanDiff d = DiffPlans(Plan(), b);
    ASSERT_EQ(d.changed_vhids.size(), 1u);
    EXPECT_EQ(d.changed_vhids[0].key, (VhidKey{"wan0", 2}));
    EXPECT_EQ(d.changed_vhids[0].fields, std::vector<VhidField>{c.field});
    EXPECT_EQ(AppliesInPlace(c.field), c.in_place);
    EXPECT_EQ(d.changed_vhids[0].RestartsVhid(), !c.in_place);
    EXPECT_EQ(d.InPlace(), c.in_place);
    EXPECT_TRUE(d.ApplicableLive());
    EXPECT_EQ(d.RestartedVhids().size(), c.in_place ? 0u : 1u);
    EXPECT_TRUE(d.added_vhids.empty() && d.removed_vhids.empty());
    EXPECT_TRUE(d.hook_fields.empty() && d.sync_fields.empty());
  }
}

TEST(PlanDiffTest, SeveralFieldsOfOneVhidInEnumOrder) {
  NodePlan b = Plan();
  b.vhids[0].vmac = true;
  b.vhids[0].advskew = 7;
  PlanDiff d = DiffPlans(Plan(), b);
  ASSERT_EQ(d.changed_vhids.size(), 1u);
  EXPECT_EQ(d.changed_vhids[0].fields,
            (std::vector<VhidField>{VhidField::kAdvskew, VhidField::kVmac}));
  EXPECT_EQ(DescribeDiff(d), "vhid 1 on lan0: advskew, vmac (restarts the vhid)");
}

TEST(PlanDiffTest, AddedRemovedAndMovedVhids) {
  NodePlan b = Plan();
  b.vhids[1].interface = "wan1";  // a vhid that moves is removed and added
  b.vhids.push_back(Vhid("dmz0", 3));
  PlanDiff d = DiffPlans(Plan(), b);
  EXPECT_EQ(d.added_vhids, (std::vector<VhidKey>{{"wan1", 2}, {"dmz0", 3}}));
  EXPECT_EQ(d.removed_vhids, (std::vector<VhidKey>{{"wan0", 2}}));
  EXPECT_TRUE(d.changed_vhids.empty());
  EXPECT_TRUE(d.ApplicableLive());
  EXPECT_FALSE(d.InPlace());
  EXPECT_EQ(DescribeDiff(d), "vhid 2 on wan1 added; vhid 3 on dmz0 added; vhid 2 on wan0 removed");
}

TEST(PlanDiffTest, Groups) {
  NodePlan b = Plan();
  b.groups[0].interfaces = {"lan0", "dmz0"};
  b.groups.push_back({"spare", {"dmz1"}});
  NodePlan a = Plan();
  a.groups.push_back({"old", {"lan0"}});
  PlanDiff d = DiffPlans(a, b);
  EXPECT_EQ(d.added_groups, std::vector<std::string>{"spare"});
  EXPECT_EQ(d.removed_groups, std::vector<std::string>{"old"});
  ASSERT_EQ(d.changed_groups.size(), 1u);
  EXPECT_EQ(d.changed_groups[0], (GroupChange{"edge", {"dmz0"}, {"wan0"}}));
  EXPECT_TRUE(d.InPlace());
  EXPECT_EQ(DescribeDiff(d), "group spare added; group old removed; group edge: +dmz0 -wan0");
}

TEST(PlanDiffTest, SyncFieldsAndTheLink) {
  const std::vector<std::pair<SyncField, std::function<void(SyncPlan&)>>> cases = {
      {SyncField::kInterface, [](SyncPlan& s) { s.interface = "sync1"; }},
      {SyncField::kPort, [](SyncPlan& s) { s.port = 7789; }},
      {SyncField::kLocalAddress, [](SyncPlan& s) { s.local_address = Address("203.0.113.9"); }},
      {SyncField::kPeers,
       [](SyncPlan& s) {
         s.peers.push_back({"fw3", Address("203.0.113.3")});
       }},
      {SyncField::kKey,
       [](SyncPlan& s) {
         s.key = {'n', 'e', 'w'};
       }},
  };
  ASSERT_EQ(cases.size(), kSyncFieldCount);
  for (const auto& [field, change] : cases) {
    SCOPED_TRACE(std::string(SyncFieldName(field)));
    NodePlan b = Plan();
    change(*b.sync);
    PlanDiff d = DiffPlans(Plan(), b);
    EXPECT_EQ(d.sync_fields, std::vector<SyncField>{field});
    EXPECT_EQ(d.RestartsSyncLink(), field != SyncField::kPeers);
    EXPECT_EQ(d.InPlace(), field == SyncField::kPeers);
  }
  NodePlan off = Plan();
  off.sync.reset();
  EXPECT_TRUE(DiffPlans(Plan(), off).sync_removed);
  EXPECT_TRUE(DiffPlans(off, Plan()).sync_added);
  EXPECT_FALSE(DiffPlans(off, Plan()).InPlace());
  EXPECT_TRUE(DiffPlans(off, off).Empty());
}

TEST(PlanDiffTest, HookFields) {
  NodePlan b = Plan();
  b.hooks.master.clear();
  b.hooks.init = "/usr/local/lib/hafw/init.sh";
  b.hooks.timeout_seconds = 5;
  PlanDiff d = DiffPlans(Plan(), b);
  EXPECT_EQ(d.hook_fields,
            (std::vector<HookField>{HookField::kMaster, HookField::kInit, HookField::kTimeout}));
  EXPECT_TRUE(d.InPlace());
  EXPECT_EQ(DescribeDiff(d), "hooks: master, init, timeout_seconds");
  b.hooks.backup = "/x";
  EXPECT_EQ(DiffPlans(Plan(), b).hook_fields.size(), kHookFieldCount);
}

TEST(PlanDiffTest, AnotherNodeIsNotApplicableLive) {
  NodePlan b = Plan();
  b.node = "fw2";
  PlanDiff d = DiffPlans(Plan(), b);
  EXPECT_FALSE(d.Empty());
  EXPECT_FALSE(d.ApplicableLive());
  EXPECT_FALSE(d.InPlace());
  EXPECT_EQ(DescribeDiff(d), "another node");
}

}  // namespace
}  // namespace hafw::agent
