#include "carp/core/vhost_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "carp/testing/vhost_test_util.h"

namespace hafw::carp {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;
using namespace testutil;  // NOLINT(google-build-using-namespace): test helpers only

const TimePoint kT0 = TimePoint{} + Seconds(1000);

PacketInfo Info(IpFamily family = IpFamily::kV4) {
  PacketInfo info;
  info.family = family;
  info.source = family == IpFamily::kV4 ? kPeerV4 : kPeerV6;
  info.destination = family == IpFamily::kV4 ? kGroupV4 : kGroupV6;
  info.ttl = 255;
  return info;
}

AdvertisementBytes PeerBytes(const VhostConfig& config, const PeerAd& peer) {
  return EncodeAdvertisement(MakeRx(config, peer).ad);
}

// "lan0/10 Send ipv4" etc.
std::vector<std::string> Describe(const VhostActions& actions) {
  std::vector<std::string> result;
  for (const auto& a : actions) {
    result.push_back(a.interface + "/" + std::to_string(a.vhid) + " " +
                     testutil::Describe(a.action));
  }
  return result;
}

// Groups: "fw" = {lan0, wan0}; "dmz" = {dmz0}. Vhids: lan0/1, lan0/2, wan0/1, dmz0/5.
VhostSet MakeSet() {
  DemotionGroups groups;
  groups.AddGroup("fw", {"lan0", "wan0"});
  groups.AddGroup("dmz", {"dmz0"});
  VhostSet set(std::move(groups));
  EXPECT_TRUE(set.Add("lan0", MakeConfig(0, {}, 1), 0x1001).has_value());
  EXPECT_TRUE(set.Add("lan0", MakeConfig(0, {}, 2), 0x1002).has_value());
  EXPECT_TRUE(set.Add("wan0", MakeConfig(0, {Ip("198.51.100.10")}, 1), 0x2001).has_value());
  EXPECT_TRUE(set.Add("dmz0", MakeConfig(0, {Ip("203.0.113.10")}, 5), 0x3005).has_value());
  return set;
}

// Started and every vhid MASTER after the master-down interval.
VhostSet AllMaster() {
  VhostSet set = MakeSet();
  set.Start(kT0);
  set.OnTimer(kT0 + Seconds(3));
  for (const auto& [key, engine] : set.Engines()) {
    EXPECT_EQ(engine.State(), VhostState::kMaster)
        << key.first << "/" << static_cast<int>(key.second);
  }
  return set;
}

TEST(VhostSetTest, AddRejectsDuplicateVhidOnSameInterface) {
  VhostSet set = MakeSet();
  auto result = set.Add("lan0", MakeConfig(0, {}, 1), 9);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().context, testing::HasSubstr("lan0"));
  EXPECT_TRUE(set.Add("dmz0", MakeConfig(0, {}, 1), 9).has_value());  // other interface: fine
}

TEST(VhostSetTest, AddRejectsInvalidConfigs) {
  VhostSet set{DemotionGroups{}};
  EXPECT_FALSE(set.Add("lan0", MakeConfig(0, {}, 0), 1).has_value());
  EXPECT_FALSE(set.Add("lan0", MakeConfig(255, {}, 1), 1).has_value());
  VhostConfig long_pass = MakeConfig();
  long_pass.passphrase = Pass("twenty-bytes-long-xx");
  EXPECT_FALSE(set.Add("lan0", long_pass, 1).has_value());
  VhostConfig no_vips = MakeConfig();
  no_vips.vips.clear();
  EXPECT_FALSE(set.Add("lan0", no_vips, 1).has_value());
  EXPECT_TRUE(set.Engines().empty());
}

TEST(VhostSetTest, StartTagsEveryVhid) {
  VhostSet set = MakeSet();
  EXPECT_THAT(Describe(set.Start(kT0)), ElementsAre("dmz0/5 StateChanged INIT->BACKUP started",
                                                    "lan0/1 StateChanged INIT->BACKUP started",
                                                    "lan0/2 StateChanged INIT->BACKUP started",
                                                    "wan0/1 StateChanged INIT->BACKUP started"));
  EXPECT_EQ(set.NextDeadline(), kT0 + Seconds(3));
}

TEST(VhostSetTest, NextDeadlineIsTheEarliestEngine) {
  VhostSet set{DemotionGroups{}};
  ASSERT_TRUE(set.Add("lan0", MakeConfig(200, {}, 1), 1).has_value());
  ASSERT_TRUE(set.Add("lan0", MakeConfig(100, {}, 2), 2).has_value());
  EXPECT_EQ(set.NextDeadline(), std::nullopt);
  set.Start(kT0);
  EXPECT_EQ(set.NextDeadline(), kT0 + Seconds(3) + 100 * kSkewUnit);
  auto actions = set.OnTimer(kT0 + Seconds(3) + 100 * kSkewUnit);
  EXPECT_EQ(set.Find("lan0", 2)->State(), VhostState::kMaster);
  EXPECT_EQ(set.Find("lan0", 1)->State(), VhostState::kBackup);
  EXPECT_EQ(set.NextDeadline(), kT0 + Seconds(3) + 200 * kSkewUnit);
}

TEST(VhostSetTest, OnPacketDispatchesByInterfaceAndVhid) {
  VhostSet set = MakeSet();
  set.Start(kT0);
  // A more demoted master on lan0/2 makes only lan0/2 take over.
  auto bytes = PeerBytes(MakeConfig(0, {}, 2), {.demote = 1});
  auto actions = set.OnPacket(kT0 + Seconds(1), "lan0", Info(), bytes);
  EXPECT_EQ(set.Find("lan0", 2)->State(), VhostState::kMaster);
  EXPECT_EQ(set.Find("lan0", 1)->State(), VhostState::kBackup);
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions[0].interface, "lan0");
  EXPECT_EQ(actions[0].vhid, 2);
  EXPECT_EQ(set.Find("lan0", 2)->Status().adverts_received, 1u);
}

TEST(VhostSetTest, OnPacketCountsDecodeFailuresPerInterface) {
  VhostSet set = MakeSet();
  set.Start(kT0);
  auto bytes = PeerBytes(MakeConfig(0, {}, 1), {});
  set.OnPacket(kT0, "lan0", Info(), std::span(bytes).first(20));
  auto bad_checksum = bytes;
  bad_checksum[7] ^= 0xff;
  set.OnPacket(kT0, "lan0", Info(), bad_checksum);
  auto bad_version = bytes;
  bad_version[0] = 0x31;
  set.OnPacket(kT0, "wan0", Info(), bad_version);
  EXPECT_EQ(set.InterfaceDrops().at("lan0").Get(DropReason::kShort), 1u);
  EXPECT_EQ(set.InterfaceDrops().at("lan0").Get(DropReason::kBadChecksum), 1u);
  EXPECT_EQ(set.InterfaceDrops().at("wan0").Get(DropReason::kBadVersion), 1u);
  EXPECT_EQ(set.Find("lan0", 1)->Status().drops.Total(), 0u);
}

TEST(VhostSetTest, OnPacketCountsUnknownVhidPerInterface) {
  VhostSet set = MakeSet();
  set.Start(kT0);
  auto bytes = PeerBytes(MakeConfig(0, {}, 5), {});
  // vhid 5 exists on dmz0 only.
  EXPECT_THAT(set.OnPacket(kT0, "lan0", Info(), bytes), IsEmpty());
  set.OnPacket(kT0, "eth9", Info(), bytes);
  EXPECT_EQ(set.InterfaceDrops().at("lan0").Get(DropReason::kUnknownVhid), 1u);
  EXPECT_EQ(set.InterfaceDrops().at("eth9").Get(DropReason::kUnknownVhid), 1u);
  EXPECT_EQ(set.Find("dmz0", 5)->Status().adverts_received, 0u);
}

TEST(VhostSetTest, OnPacketPassesEnvelopeToEngine) {
  VhostSet set = MakeSet();
  set.Start(kT0);
  auto bytes = PeerBytes(MakeConfig(0, {}, 1), {});
  PacketInfo low_ttl = Info();
  low_ttl.ttl = 1;
  set.OnPacket(kT0, "lan0", low_ttl, bytes);
  PacketInfo own = Info();
  own.from_local_address = true;
  set.OnPacket(kT0, "lan0", own, bytes);
  const auto& drops = set.Find("lan0", 1)->Status().drops;
  EXPECT_EQ(drops.Get(DropReason::kBadTtl), 1u);
  EXPECT_EQ(drops.Get(DropReason::kOwnPacket), 1u);
}

TEST(VhostSetTest, StopBowsOutEveryMaster) {
  VhostSet set = AllMaster();
  auto actions = set.Stop(kT0 + Seconds(4));
  int bow_outs = 0;
  for (const auto& a : actions) {
    if (auto* send = std::get_if<SendAdvertisement>(&a.action)) bow_outs += send->bow_out;
  }
  EXPECT_EQ(bow_outs, 4);
  for (const auto& [key, engine] : set.Engines()) EXPECT_EQ(engine.State(), VhostState::kInit);
  EXPECT_EQ(set.NextDeadline(), std::nullopt);
}

TEST(VhostSetTest, LinkDownGoesInitAndDemotesItsGroups) {
  VhostSet set = AllMaster();
  const TimePoint t = kT0 + Seconds(4);
  auto actions = set.OnLinkChange(t, "wan0", false);
  // wan0's vhid leaves; lan0's vhids (same group "fw") advertise demote 1 at once.
  EXPECT_THAT(Describe(actions),
              ElementsAre("wan0/1 StateChanged MASTER->INIT link-down", "wan0/1 RemoveVips",
                          "lan0/1 Send ipv4", "lan0/2 Send ipv4"));
  EXPECT_EQ(DecodeAdvertisement(std::get<SendAdvertisement>(actions[2].action).bytes)->demote, 1);
  EXPECT_EQ(set.Find("lan0", 1)->Status().demote, 1);
  EXPECT_EQ(set.Find("wan0", 1)->Status().demote, 1);
  EXPECT_EQ(set.Find("dmz0", 5)->Status().demote, 0);
  EXPECT_EQ(set.Groups().Counter("fw")->Count("link wan0"), 1);
  // A repeated report does not stack the demotion.
  EXPECT_THAT(set.OnLinkChange(t, "wan0", false), IsEmpty());
  EXPECT_EQ(set.Groups().EffectiveDemotion("lan0"), 1);
}

TEST(VhostSetTest, LinkUpGoesBackupAndUndemotes) {
  VhostSet set = AllMaster();
  const TimePoint t = kT0 + Seconds(4);
  set.OnLinkChange(t, "wan0", false);
  auto actions = set.OnLinkChange(t + Seconds(1), "wan0", true);
  EXPECT_THAT(Describe(actions), ElementsAre("wan0/1 StateChanged INIT->BACKUP link-up",
                                             "lan0/1 Send ipv4", "lan0/2 Send ipv4"));
  EXPECT_EQ(set.Find("lan0", 1)->Status().demote, 0);
  EXPECT_EQ(set.Find("wan0", 1)->Status().demote, 0);
  EXPECT_EQ(set.Find("wan0", 1)->NextDeadline(), t + Seconds(1) + Seconds(3));
}

TEST(VhostSetTest, LinkDownBeforeAddKeepsNewVhidInit) {
  VhostSet set{DemotionGroups{}};
  set.OnLinkChange(kT0, "lan0", false);
  ASSERT_TRUE(set.Add("lan0", MakeConfig(), 1).has_value());
  EXPECT_THAT(set.Start(kT0), IsEmpty());
  EXPECT_FALSE(set.Find("lan0", 10)->Status().link_up);
  EXPECT_THAT(Describe(set.OnLinkChange(kT0 + Seconds(1), "lan0", true)),
              ElementsAre("lan0/10 StateChanged INIT->BACKUP link-up"));
}

TEST(VhostSetTest, GroupDemotionMovesEveryVhidOfTheGroup) {
  VhostSet set = AllMaster();
  auto actions = set.AdjustDemotion(kT0 + Seconds(4), "fw", kReasonAdmin, 1);
  EXPECT_THAT(Describe(actions),
              ElementsAre("lan0/1 Send ipv4", "lan0/2 Send ipv4", "wan0/1 Send ipv4"));
  // A peer that is not demoted now takes every vhid of "fw" over (its backups
  // act on the demote byte), and none of "dmz".
  for (const auto& a : actions) {
    EXPECT_EQ(DecodeAdvertisement(std::get<SendAdvertisement>(a.action).bytes)->demote, 1);
  }
  const TimePoint t = kT0 + Seconds(5);
  set.OnPacket(t, "lan0", Info(), PeerBytes(MakeConfig(100, {}, 1), {.advskew = 100}));
  set.OnPacket(t, "lan0", Info(), PeerBytes(MakeConfig(100, {}, 2), {.advskew = 100}));
  set.OnPacket(t, "wan0", Info(),
               PeerBytes(MakeConfig(100, {Ip("198.51.100.10")}, 1), {.advskew = 100}));
  set.OnPacket(t, "dmz0", Info(),
               PeerBytes(MakeConfig(100, {Ip("203.0.113.10")}, 5), {.advskew = 100}));
  EXPECT_EQ(set.Find("lan0", 1)->State(), VhostState::kBackup);
  EXPECT_EQ(set.Find("lan0", 2)->State(), VhostState::kBackup);
  EXPECT_EQ(set.Find("wan0", 1)->State(), VhostState::kBackup);
  EXPECT_EQ(set.Find("dmz0", 5)->State(), VhostState::kMaster);
}

TEST(VhostSetTest, AllGroupDemotionReachesEveryVhid) {
  VhostSet set = AllMaster();
  auto actions = set.AdjustDemotion(kT0 + Seconds(4), kAllGroup, kReasonBulkSync, 32);
  EXPECT_EQ(actions.size(), 4u);
  for (const auto& [key, engine] : set.Engines()) EXPECT_EQ(engine.Status().demote, 32);
  EXPECT_THAT(set.AdjustDemotion(kT0 + Seconds(4), "nope", kReasonAdmin, 1), IsEmpty());
}

TEST(VhostSetTest, SetDemotionIsAbsoluteAndIdempotent) {
  VhostSet set = AllMaster();
  EXPECT_EQ(set.SetDemotion(kT0, "dmz", kReasonMaintenance, 5).size(), 1u);
  EXPECT_THAT(set.SetDemotion(kT0, "dmz", kReasonMaintenance, 5), IsEmpty());
  EXPECT_EQ(set.Find("dmz0", 5)->Status().demote, 5);
  EXPECT_EQ(set.SetDemotion(kT0, "dmz", kReasonMaintenance, 0).size(), 1u);
  EXPECT_EQ(set.Find("dmz0", 5)->Status().demote, 0);
}

TEST(VhostSetTest, VhidAddedToDemotedGroupStartsDemoted) {
  DemotionGroups groups;
  groups.AddGroup("fw", {"lan0"});
  VhostSet set(std::move(groups));
  set.AdjustDemotion(kT0, "fw", kReasonSyncLink, 3);
  ASSERT_TRUE(set.Add("lan0", MakeConfig(), 1).has_value());
  EXPECT_EQ(set.Find("lan0", 10)->Status().demote, 3);
}

}  // namespace
}  // namespace hafw::carp
