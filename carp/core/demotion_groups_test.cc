#include "carp/core/demotion_groups.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hafw::carp {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;

const TimePoint kNow = TimePoint{} + Seconds(50);

// lan0 and wan0 form the firewall group "fw"; dmz0 is only in "dmz".
DemotionGroups Firewall() {
  DemotionGroups groups;
  groups.AddGroup("fw", {"lan0", "wan0"});
  groups.AddGroup("dmz", {"dmz0"});
  return groups;
}

TEST(DemotionGroupsTest, LinkReasonNamesTheInterface) {
  EXPECT_EQ(LinkReason("lan0"), "link lan0");
}

TEST(DemotionGroupsTest, AllGroupExistsAndContainsEveryInterface) {
  DemotionGroups groups = Firewall();
  groups.AddInterface("mgmt0");
  ASSERT_NE(groups.Counter(kAllGroup), nullptr);
  EXPECT_THAT(groups.Members(kAllGroup), ElementsAre("dmz0", "lan0", "mgmt0", "wan0"));
  EXPECT_THAT(groups.Members("fw"), ElementsAre("lan0", "wan0"));
  EXPECT_THAT(groups.Members("nope"), IsEmpty());
  EXPECT_EQ(groups.Counter("nope"), nullptr);
}

TEST(DemotionGroupsTest, GroupsOfListsAllFirst) {
  DemotionGroups groups = Firewall();
  groups.AddGroup("edge", {"wan0"});
  EXPECT_THAT(groups.GroupsOf("wan0"), ElementsAre("all", "edge", "fw"));
  EXPECT_THAT(groups.GroupsOf("dmz0"), ElementsAre("all", "dmz"));
}

TEST(DemotionGroupsTest, AdjustReturnsTheMembersWhoseDemotionChanged) {
  DemotionGroups groups = Firewall();
  EXPECT_THAT(groups.Adjust("fw", kReasonAdmin, 2, kNow), ElementsAre("lan0", "wan0"));
  EXPECT_EQ(groups.EffectiveDemotion("lan0"), 2);
  EXPECT_EQ(groups.EffectiveDemotion("dmz0"), 0);
  EXPECT_EQ(groups.Counter("fw")->Count(kReasonAdmin), 2);
  EXPECT_EQ(groups.Counter("fw")->Reasons().at(std::string(kReasonAdmin)).since, kNow);
}

TEST(DemotionGroupsTest, AdjustOfUnknownGroupChangesNothing) {
  DemotionGroups groups = Firewall();
  EXPECT_THAT(groups.Adjust("nope", kReasonAdmin, 1, kNow), IsEmpty());
}

TEST(DemotionGroupsTest, AllGroupDemotesEveryInterface) {
  DemotionGroups groups = Firewall();
  EXPECT_THAT(groups.Adjust(kAllGroup, kReasonBulkSync, 32, kNow),
              ElementsAre("dmz0", "lan0", "wan0"));
  EXPECT_EQ(groups.EffectiveDemotion("dmz0"), 32);
  EXPECT_EQ(groups.EffectiveDemotion("unknown0"), 32);
}

TEST(DemotionGroupsTest, EffectiveDemotionSumsAllAndGroups) {
  DemotionGroups groups = Firewall();
  groups.AddGroup("edge", {"wan0"});
  groups.Adjust(kAllGroup, kReasonSyncLink, 1, kNow);
  groups.Adjust("fw", kReasonAdmin, 2, kNow);
  groups.Adjust("edge", kReasonMaintenance, 4, kNow);
  EXPECT_EQ(groups.EffectiveDemotion("wan0"), 7);
  EXPECT_EQ(groups.EffectiveDemotion("lan0"), 3);
  EXPECT_EQ(groups.EffectiveDemotion("dmz0"), 1);
}

TEST(DemotionGroupsTest, EffectiveDemotionIsCappedAt255) {
  DemotionGroups groups = Firewall();
  groups.Adjust(kAllGroup, kReasonAdmin, 200, kNow);
  groups.Adjust("fw", kReasonAdmin, 200, kNow);
  EXPECT_EQ(groups.EffectiveDemotion("lan0"), 255);
  // Beyond the cap nothing changes for lan0/wan0, so nothing is reported.
  EXPECT_THAT(groups.Adjust("fw", kReasonMaintenance, 10, kNow), IsEmpty());
}

TEST(DemotionGroupsTest, LoweringToZeroIsAChange) {
  DemotionGroups groups = Firewall();
  groups.Adjust("dmz", kReasonAdmin, 1, kNow);
  EXPECT_THAT(groups.Adjust("dmz", kReasonAdmin, -1, kNow), ElementsAre("dmz0"));
  EXPECT_EQ(groups.EffectiveDemotion("dmz0"), 0);
  EXPECT_THAT(groups.Adjust("dmz", kReasonAdmin, -1, kNow), IsEmpty());  // clamped at 0
}

TEST(DemotionGroupsTest, SetIsAbsolute) {
  DemotionGroups groups = Firewall();
  EXPECT_THAT(groups.Set("fw", kReasonMaintenance, 50, kNow), ElementsAre("lan0", "wan0"));
  EXPECT_THAT(groups.Set("fw", kReasonMaintenance, 50, kNow), IsEmpty());
  EXPECT_EQ(groups.EffectiveDemotion("wan0"), 50);
  EXPECT_THAT(groups.Set("fw", kReasonMaintenance, 0, kNow), ElementsAre("lan0", "wan0"));
  EXPECT_TRUE(groups.Counter("fw")->Empty());
}

TEST(DemotionGroupsTest, AdjustGroupsOfDemotesEveryExplicitGroupOfTheInterface) {
  DemotionGroups groups = Firewall();
  groups.AddGroup("edge", {"wan0", "dmz0"});
  // wan0 is in fw (with lan0) and edge (with dmz0): all three change.
  EXPECT_THAT(groups.AdjustGroupsOf("wan0", LinkReason("wan0"), +1, kNow),
              ElementsAre("dmz0", "lan0", "wan0"));
  EXPECT_EQ(groups.EffectiveDemotion("wan0"), 2);
  EXPECT_EQ(groups.EffectiveDemotion("lan0"), 1);
  EXPECT_EQ(groups.EffectiveDemotion("dmz0"), 1);
  EXPECT_EQ(groups.Counter(kAllGroup)->Total(), 0);  // "all" is not touched
  EXPECT_EQ(groups.Counter("fw")->Count("link wan0"), 1);
  EXPECT_THAT(groups.AdjustGroupsOf("wan0", LinkReason("wan0"), -1, kNow),
              ElementsAre("dmz0", "lan0", "wan0"));
  EXPECT_EQ(groups.EffectiveDemotion("lan0"), 0);
}

TEST(DemotionGroupsTest, AdjustGroupsOfInterfaceWithoutGroupsChangesNothing) {
  DemotionGroups groups = Firewall();
  groups.AddInterface("mgmt0");
  EXPECT_THAT(groups.AdjustGroupsOf("mgmt0", LinkReason("mgmt0"), +1, kNow), IsEmpty());
  EXPECT_EQ(groups.EffectiveDemotion("mgmt0"), 0);
}

TEST(DemotionGroupsTest, AddGroupTwiceMergesMembersAndKeepsCounter) {
  DemotionGroups groups = Firewall();
  groups.Adjust("fw", kReasonAdmin, 1, kNow);
  groups.AddGroup("fw", {"dmz0"});
  EXPECT_THAT(groups.Members("fw"), ElementsAre("dmz0", "lan0", "wan0"));
  EXPECT_EQ(groups.EffectiveDemotion("dmz0"), 1);
}

}  // namespace
}  // namespace hafw::carp
