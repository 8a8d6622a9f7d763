#include "carp/core/vhost_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

#include "carp/core/election.h"
#include "carp/testing/vhost_test_util.h"

namespace hafw::carp {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;
using namespace testutil;  // NOLINT(google-build-using-namespace): test helpers only

const TimePoint kT0 = TimePoint{} + Seconds(1000);
const Duration kMasterDown0 = Seconds(3);  // advbase 1, advskew 0, classic

// An engine already in BACKUP, started at kT0.
VhostEngine StartedEngine(const VhostConfig& config, uint64_t cookie = 0xC00C1E) {
  VhostEngine engine(config, cookie);
  engine.Start(kT0);
  return engine;
}

// An engine that became MASTER by master-down at kT0 + master-down interval.
VhostEngine MasterEngine(const VhostConfig& config, uint64_t cookie = 0xC00C1E) {
  VhostEngine engine = StartedEngine(config, cookie);
  engine.OnTimer(*engine.NextDeadline());
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  return engine;
}

TimePoint MasterSince(const VhostEngine& engine) { return engine.Status().last_transition->at; }

// --- Startup and timers (§3.1, §3.2) ---

TEST(VhostEngineTest, StartsInInitAndIgnoresTimers) {
  VhostEngine engine(MakeConfig(), 1);
  EXPECT_EQ(engine.State(), VhostState::kInit);
  EXPECT_EQ(engine.NextDeadline(), std::nullopt);
  EXPECT_THAT(engine.OnTimer(kT0 + Seconds(100)), IsEmpty());
}

TEST(VhostEngineTest, StartGoesBackupAndWaitsOneMasterDownInterval) {
  VhostEngine engine(MakeConfig(100), 1);
  EXPECT_THAT(Describe(engine.Start(kT0)), ElementsAre("StateChanged INIT->BACKUP started"));
  EXPECT_EQ(engine.NextDeadline(), kT0 + Seconds(3) + 100 * kSkewUnit);
  EXPECT_THAT(engine.OnTimer(kT0 + Seconds(3)), IsEmpty());
  EXPECT_EQ(engine.State(), VhostState::kBackup);
}

TEST(VhostEngineTest, StartTwiceIsNoOp) {
  VhostEngine engine(MakeConfig(), 1);
  engine.Start(kT0);
  EXPECT_THAT(engine.Start(kT0 + Seconds(1)), IsEmpty());
  EXPECT_EQ(engine.NextDeadline(), kT0 + kMasterDown0);
}

TEST(VhostEngineTest, MasterDownTakeoverActionsInOrder) {
  VhostEngine engine = StartedEngine(MakeConfig());
  Actions actions = engine.OnTimer(kT0 + kMasterDown0);
  EXPECT_THAT(Describe(actions), ElementsAre("StateChanged BACKUP->MASTER master-down",
                                             "InstallVips", "Send ipv4", "AnnounceVips"));
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.NextDeadline(), kT0 + kMasterDown0 + Seconds(1));
}

TEST(VhostEngineTest, OpenBsd2025MasterDownRule) {
  VhostConfig config = MakeConfig(128);
  config.master_down_rule = MasterDownRule::kOpenBsd2025;
  VhostEngine engine = StartedEngine(config);
  EXPECT_EQ(engine.NextDeadline(), kT0 + Millis(4500));  // 3 x 1.5 s
}

TEST(VhostEngineTest, ClassicMasterDownRule) {
  VhostEngine engine = StartedEngine(MakeConfig(128));
  EXPECT_EQ(engine.NextDeadline(), kT0 + Millis(3500));  // 3 x 1 s + 0.5 s
}

TEST(VhostEngineTest, AdvbaseZeroAdvertisesSubSecond) {
  VhostConfig config = MakeConfig(64);
  config.advbase = 0;
  VhostEngine engine = StartedEngine(config);
  EXPECT_EQ(engine.NextDeadline(), kT0 + Millis(750));  // 3 x 64/256 s
  engine.OnTimer(kT0 + Millis(750));
  ASSERT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.NextDeadline(), kT0 + Millis(1000));  // every 250 ms
  EXPECT_EQ(Only<SendAdvertisement>(engine.OnTimer(kT0 + Millis(1000))).size(), 1u);
  EXPECT_EQ(engine.NextDeadline(), kT0 + Millis(1250));
}

TEST(VhostEngineTest, MasterAdvertisesEveryIntervalWithCookieAndHmac) {
  VhostConfig config = MakeConfig(64);
  VhostEngine engine = MasterEngine(config, 0xABCDEF0123456789);
  const TimePoint next = *engine.NextDeadline();
  EXPECT_EQ(next, MasterSince(engine) + Millis(1250));
  auto sends = Only<SendAdvertisement>(engine.OnTimer(next));
  ASSERT_EQ(sends.size(), 1u);
  Advertisement ad = DecodeAdvertisement(sends[0].bytes).value();
  EXPECT_EQ(ad.vhid, 10);
  EXPECT_EQ(ad.advbase, 1);
  EXPECT_EQ(ad.advskew, 64);
  EXPECT_EQ(ad.demote, 0);
  EXPECT_EQ(ad.counter, 0xABCDEF0123456789u);
  CarpAuthenticator auth(config.passphrase, config.vhid, config.vips);
  EXPECT_TRUE(auth.Verify(ad.counter, ad.hmac));
  EXPECT_FALSE(sends[0].bow_out);
  EXPECT_EQ(sends[0].unicast_destination, std::nullopt);
  EXPECT_EQ(engine.Status().adverts_sent, 2u);
}

TEST(VhostEngineTest, AnnouncesAgainAfterTwoMoreAdvertisements) {
  VhostEngine engine = MasterEngine(MakeConfig());
  const TimePoint t = MasterSince(engine);
  EXPECT_THAT(Describe(engine.OnTimer(t + Seconds(1))), ElementsAre("Send ipv4"));
  EXPECT_THAT(Describe(engine.OnTimer(t + Seconds(2))), ElementsAre("Send ipv4", "AnnounceVips"));
  EXPECT_THAT(Describe(engine.OnTimer(t + Seconds(3))), ElementsAre("Send ipv4"));
}

TEST(VhostEngineTest, UnicastPeerIsTheDestination) {
  VhostConfig config = MakeConfig();
  config.unicast_peer_v4 = Ip("192.0.2.2");
  VhostEngine engine = StartedEngine(config);
  auto sends = Only<SendAdvertisement>(engine.OnTimer(kT0 + kMasterDown0));
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].unicast_destination, Ip("192.0.2.2"));
}

// --- MASTER receipt rules (§3.3) ---

TEST(VhostEngineTest, MasterYieldsToEqualTiming) {
  VhostConfig config = MakeConfig(50);
  VhostEngine engine = MasterEngine(config);
  const TimePoint t = MasterSince(engine) + Millis(200);
  Actions actions = engine.OnAdvertisement(t, MakeRx(config, {.advskew = 50}));
  EXPECT_THAT(Describe(actions),
              ElementsAre("StateChanged MASTER->BACKUP better-master", "RemoveVips"));
  EXPECT_EQ(engine.NextDeadline(), t + Seconds(3) + 50 * kSkewUnit);
}

TEST(VhostEngineTest, MasterYieldsToFasterWithLowerOrEqualDemote) {
  VhostConfig config = MakeConfig(50);
  VhostEngine engine = MasterEngine(config);
  engine.OnDemotionChange(MasterSince(engine), 2);
  engine.OnAdvertisement(MasterSince(engine), MakeRx(config, {.advskew = 10, .demote = 2}));
  EXPECT_EQ(engine.State(), VhostState::kBackup);
}

TEST(VhostEngineTest, MasterIgnoresFasterButMoreDemotedPeer) {
  VhostConfig config = MakeConfig(50);
  VhostEngine engine = MasterEngine(config);
  EXPECT_THAT(engine.OnAdvertisement(MasterSince(engine), MakeRx(config, {.demote = 1})),
              IsEmpty());
  EXPECT_EQ(engine.State(), VhostState::kMaster);
}

TEST(VhostEngineTest, MasterYieldsToLessDemotedEvenIfSlower) {
  VhostConfig config = MakeConfig(0);
  VhostEngine engine = MasterEngine(config);
  engine.OnDemotionChange(MasterSince(engine), 1);
  engine.OnAdvertisement(MasterSince(engine), MakeRx(config, {.advbase = 2, .advskew = 200}));
  EXPECT_EQ(engine.State(), VhostState::kBackup);
  EXPECT_EQ(engine.Status().last_transition->cause, TransitionCause::kBetterMaster);
}

TEST(VhostEngineTest, MasterIgnoresSlowerPeer) {
  VhostConfig config = MakeConfig(50);
  VhostEngine engine = MasterEngine(config);
  const TimePoint next = *engine.NextDeadline();
  EXPECT_THAT(engine.OnAdvertisement(MasterSince(engine), MakeRx(config, {.advskew = 51})),
              IsEmpty());
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.NextDeadline(), next);
  EXPECT_EQ(engine.Status().adverts_received, 1u);
}

// --- BACKUP receipt rules (§3.3) ---

TEST(VhostEngineTest, BackupPreemptsSlowerMasterWithPreempt) {
  VhostConfig config = MakeConfig(0);
  config.preempt = true;
  VhostEngine engine = StartedEngine(config);
  Actions actions = engine.OnAdvertisement(kT0 + Seconds(1), MakeRx(config, {.advskew = 100}));
  EXPECT_THAT(Describe(actions), ElementsAre("StateChanged BACKUP->MASTER preempted", "InstallVips",
                                             "Send ipv4", "AnnounceVips"));
}

TEST(VhostEngineTest, BackupDoesNotPreemptWithoutPreempt) {
  VhostConfig config = MakeConfig(0);
  VhostEngine engine = StartedEngine(config);
  EXPECT_THAT(engine.OnAdvertisement(kT0 + Seconds(1), MakeRx(config, {.advskew = 100})),
              IsEmpty());
  EXPECT_EQ(engine.State(), VhostState::kBackup);
}

TEST(VhostEngineTest, BackupTakesOverMoreDemotedMasterWithoutPreempt) {
  VhostConfig config = MakeConfig(100);
  VhostEngine engine = StartedEngine(config);
  engine.OnAdvertisement(kT0 + Seconds(1), MakeRx(config, {.advskew = 0, .demote = 1}));
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.Status().last_transition->cause, TransitionCause::kMasterDemoted);
}

TEST(VhostEngineTest, BackupTakesOverOnBowOut) {
  VhostConfig config = MakeConfig(100);
  VhostEngine engine = StartedEngine(config);
  engine.OnAdvertisement(kT0 + Seconds(1), MakeRx(config, {.advbase = 255, .advskew = 255}));
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.Status().last_transition->cause, TransitionCause::kMasterTooSlow);
}

TEST(VhostEngineTest, BackupTakesOverMasterSlowerThanThreeAdvbase) {
  VhostConfig config = MakeConfig(0);
  VhostEngine engine = StartedEngine(config);
  engine.OnAdvertisement(kT0 + Seconds(1), MakeRx(config, {.advbase = 3, .advskew = 1}));
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.Status().last_transition->cause, TransitionCause::kMasterTooSlow);
}

TEST(VhostEngineTest, AdvbaseZeroBackupTakesOverOnBowOut) {
  // Unlike OpenBSD, where the advbase-0 exemption of the "too slow" rule also
  // swallows the bow-out (docs/carp.md).
  VhostConfig config = MakeConfig(100);
  config.advbase = 0;
  VhostEngine engine = StartedEngine(config);
  const TimePoint t = kT0 + Millis(100);
  engine.OnAdvertisement(t, MakeRx(config, {.advbase = 255, .advskew = 255}));
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  ASSERT_TRUE(engine.Status().last_transition.has_value());
  EXPECT_EQ(engine.Status().last_transition->cause, TransitionCause::kMasterTooSlow);
}

TEST(VhostEngineTest, AdvbaseZeroBackupWaitsOutOrdinarySlowMaster) {
  VhostConfig config = MakeConfig(100);
  config.advbase = 0;
  VhostEngine engine = StartedEngine(config);
  const TimePoint t = kT0 + Millis(100);
  EXPECT_THAT(engine.OnAdvertisement(t, MakeRx(config, {.advbase = 2, .advskew = 0})), IsEmpty());
  EXPECT_EQ(engine.State(), VhostState::kBackup);
  EXPECT_EQ(engine.NextDeadline(), t + 300 * kSkewUnit);
}

TEST(VhostEngineTest, BackupRearmsOnFasterMaster) {
  VhostConfig config = MakeConfig(100);
  VhostEngine engine = StartedEngine(config);
  const TimePoint t = kT0 + Seconds(2);
  EXPECT_THAT(engine.OnAdvertisement(t, MakeRx(config, {.advskew = 0})), IsEmpty());
  EXPECT_EQ(engine.NextDeadline(), t + Seconds(3) + 100 * kSkewUnit);
  // The master keeps advertising, so the backup never takes over.
  for (int i = 1; i <= 10; ++i) {
    EXPECT_THAT(engine.OnTimer(t + Seconds(i)), IsEmpty());
    engine.OnAdvertisement(t + Seconds(i), MakeRx(config, {.advskew = 0}));
  }
  EXPECT_EQ(engine.State(), VhostState::kBackup);
  EXPECT_EQ(engine.Status().adverts_received, 11u);
  EXPECT_EQ(engine.Status().last_peer, kPeerV4);
}

// --- Receive checks (§1.4) ---

TEST(VhostEngineTest, DropsOwnCookie) {
  VhostConfig config = MakeConfig();
  VhostEngine engine = StartedEngine(config, 0x5555);
  engine.OnAdvertisement(kT0, MakeRx(config, {.advskew = 200, .counter = 0x5555}));
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kOwnPacket), 1u);
  EXPECT_EQ(engine.Status().adverts_received, 0u);
}

TEST(VhostEngineTest, DropsOwnLoopedBackAdvertisement) {
  VhostEngine engine = MasterEngine(MakeConfig());
  auto sends = Only<SendAdvertisement>(engine.OnTimer(*engine.NextDeadline()));
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_THAT(engine.OnAdvertisement(MasterSince(engine), Deliver(sends[0], kPeerV4)), IsEmpty());
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kOwnPacket), 1u);
}

TEST(VhostEngineTest, DropsOwnSourceAddress) {
  VhostConfig config = MakeConfig();
  VhostEngine engine = MasterEngine(config);
  ReceivedAdvertisement rx = MakeRx(config, {});
  rx.from_local_address = true;
  engine.OnAdvertisement(MasterSince(engine), rx);
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kOwnPacket), 1u);
}

TEST(VhostEngineTest, DropsBadTtl) {
  VhostConfig config = MakeConfig();
  VhostEngine engine = MasterEngine(config);
  engine.OnAdvertisement(MasterSince(engine), MakeRx(config, {.ttl = 254}));
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kBadTtl), 1u);
}

TEST(VhostEngineTest, DropsWrongPassphrase) {
  VhostConfig config = MakeConfig();
  VhostEngine engine = MasterEngine(config);
  VhostConfig other = config;
  other.passphrase = Pass("secreT");
  engine.OnAdvertisement(MasterSince(engine), MakeRx(other, {}));
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kBadAuth), 1u);
}

TEST(VhostEngineTest, DropsDifferentVipList) {
  VhostConfig config = MakeConfig();
  VhostEngine engine = MasterEngine(config);
  VhostConfig other = config;
  other.vips.push_back(Ip("192.0.2.101"));
  engine.OnAdvertisement(MasterSince(engine), MakeRx(other, {}));
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kBadAuth), 1u);
}

TEST(VhostEngineTest, DropsWhileInit) {
  VhostConfig config = MakeConfig();
  VhostEngine engine(config, 1);
  engine.OnAdvertisement(kT0, MakeRx(config, {}));
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kNotRunning), 1u);
  EXPECT_EQ(engine.State(), VhostState::kInit);
}

TEST(VhostEngineTest, DropsFamilyWithoutVips) {
  VhostConfig config = MakeConfig();
  VhostEngine engine = StartedEngine(config);
  engine.OnAdvertisement(kT0, MakeRx(config, {.family = IpFamily::kV6}));
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kWrongFamily), 1u);
}

TEST(VhostEngineTest, DropsForeignMulticastDestination) {
  VhostConfig config = MakeConfig();
  VhostEngine engine = StartedEngine(config);
  ReceivedAdvertisement rx = MakeRx(config, {});
  rx.destination = Ip("224.0.0.1");
  engine.OnAdvertisement(kT0, rx);
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kBadDestination), 1u);
}

TEST(VhostEngineTest, AcceptsUnicastDestination) {
  VhostConfig config = MakeConfig();
  VhostEngine engine = StartedEngine(config);
  ReceivedAdvertisement rx = MakeRx(config, {});
  rx.destination = Ip("192.0.2.1");
  engine.OnAdvertisement(kT0, rx);
  EXPECT_EQ(engine.Status().adverts_received, 1u);
}

// --- Administrative down, link, demotion ---

TEST(VhostEngineTest, StopFromMasterBowsOut) {
  VhostEngine engine = MasterEngine(MakeConfig(20));
  const TimePoint t = MasterSince(engine) + Millis(10);
  Actions actions = engine.Stop(t);
  EXPECT_THAT(Describe(actions),
              ElementsAre("Send ipv4 bow-out", "StateChanged MASTER->INIT stopped", "RemoveVips"));
  Advertisement ad = DecodeAdvertisement(Only<SendAdvertisement>(actions)[0].bytes).value();
  EXPECT_EQ(ad.advbase, 255);
  EXPECT_EQ(ad.advskew, 255);
  EXPECT_EQ(engine.NextDeadline(), std::nullopt);
  EXPECT_FALSE(engine.Status().running);
}

TEST(VhostEngineTest, StopFromBackupIsSilent) {
  VhostEngine engine = StartedEngine(MakeConfig());
  EXPECT_THAT(Describe(engine.Stop(kT0)), ElementsAre("StateChanged BACKUP->INIT stopped"));
  EXPECT_THAT(engine.Stop(kT0), IsEmpty());
}

TEST(VhostEngineTest, BowOutMakesPeerMasterAtOnce) {
  VhostConfig config = MakeConfig(0);
  VhostEngine master = MasterEngine(config, 1);
  VhostEngine backup = StartedEngine(MakeConfig(100), 2);
  const TimePoint t = kT0 + Seconds(10);
  for (const auto& send : Only<SendAdvertisement>(master.Stop(t))) {
    backup.OnAdvertisement(t, Deliver(send, kPeerV4));
  }
  EXPECT_EQ(backup.State(), VhostState::kMaster);
}

TEST(VhostEngineTest, LinkDownGoesInitAndRemovesVips) {
  VhostEngine engine = MasterEngine(MakeConfig());
  const TimePoint t = MasterSince(engine) + Seconds(1);
  EXPECT_THAT(Describe(engine.OnLinkChange(t, false)),
              ElementsAre("StateChanged MASTER->INIT link-down", "RemoveVips"));
  EXPECT_EQ(engine.NextDeadline(), std::nullopt);
  EXPECT_THAT(engine.OnLinkChange(t, false), IsEmpty());
}

TEST(VhostEngineTest, LinkUpGoesBackupAndWaits) {
  VhostEngine engine = MasterEngine(MakeConfig());
  const TimePoint t = MasterSince(engine) + Seconds(1);
  engine.OnLinkChange(t, false);
  EXPECT_THAT(Describe(engine.OnLinkChange(t + Seconds(5), true)),
              ElementsAre("StateChanged INIT->BACKUP link-up"));
  EXPECT_EQ(engine.NextDeadline(), t + Seconds(5) + kMasterDown0);
}

TEST(VhostEngineTest, LinkUpWhileStoppedStaysInit) {
  VhostEngine engine(MakeConfig(), 1);
  engine.OnLinkChange(kT0, false);
  EXPECT_THAT(engine.OnLinkChange(kT0, true), IsEmpty());
  EXPECT_THAT(engine.Start(kT0), testing::SizeIs(1));
}

TEST(VhostEngineTest, StartWithLinkDownWaitsForLink) {
  VhostEngine engine(MakeConfig(), 1);
  engine.OnLinkChange(kT0, false);
  EXPECT_THAT(engine.Start(kT0), IsEmpty());
  EXPECT_EQ(engine.State(), VhostState::kInit);
  EXPECT_THAT(Describe(engine.OnLinkChange(kT0 + Seconds(1), true)),
              ElementsAre("StateChanged INIT->BACKUP link-up"));
}

TEST(VhostEngineTest, MasterAdvertisesAtOnceOnDemotionChange) {
  VhostEngine engine = MasterEngine(MakeConfig());
  const TimePoint next = *engine.NextDeadline();
  auto sends = Only<SendAdvertisement>(engine.OnDemotionChange(MasterSince(engine), 3));
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(DecodeAdvertisement(sends[0].bytes)->demote, 3);
  EXPECT_EQ(engine.Status().demote, 3);
  EXPECT_EQ(engine.NextDeadline(), next);  // the periodic phase is kept
  EXPECT_THAT(engine.OnDemotionChange(MasterSince(engine), 3), IsEmpty());
}

TEST(VhostEngineTest, BackupDemotionChangeSendsNothing) {
  VhostEngine engine = StartedEngine(MakeConfig());
  EXPECT_THAT(engine.OnDemotionChange(kT0, 3), IsEmpty());
  EXPECT_EQ(engine.Status().demote, 3);
}

TEST(VhostEngineTest, DemoteRaisesAdvertisedAdvskew) {
  VhostConfig config = MakeConfig(10);
  config.demote_raises_advskew = true;
  VhostEngine engine = MasterEngine(config);
  auto sends = Only<SendAdvertisement>(engine.OnDemotionChange(MasterSince(engine), 1));
  ASSERT_EQ(sends.size(), 1u);
  Advertisement ad = DecodeAdvertisement(sends[0].bytes).value();
  EXPECT_EQ(ad.advskew, 240);
  EXPECT_EQ(ad.demote, 1);
  EXPECT_EQ(engine.Status().advertised_advskew, 240);
  EXPECT_EQ(engine.AdvertisementInterval(), Seconds(1) + 240 * kSkewUnit);
  // Our own side of the comparison uses the advertised skew: a FreeBSD-style
  // peer at skew 100 without a demote byte is now "faster" and wins.
  engine.OnAdvertisement(MasterSince(engine), MakeRx(config, {.advskew = 100, .demote = 1}));
  EXPECT_EQ(engine.State(), VhostState::kBackup);
  // Undemoted, the configured skew is back.
  engine.OnDemotionChange(MasterSince(engine), 0);
  EXPECT_EQ(engine.Status().advertised_advskew, 10);
}

TEST(VhostEngineTest, DemotionWithoutRaiseKeepsAdvskew) {
  VhostEngine engine = MasterEngine(MakeConfig(10));
  auto sends = Only<SendAdvertisement>(engine.OnDemotionChange(MasterSince(engine), 1));
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(DecodeAdvertisement(sends[0].bytes)->advskew, 10);
}

// --- Dual stack (§3.1) ---

TEST(VhostEngineTest, DualStackSendsOneAdvertisementPerFamily) {
  VhostConfig config = MakeConfig(0, {Ip("192.0.2.100"), Ip("2001:db8::100")});
  config.unicast_peer_v4 = Ip("192.0.2.2");
  VhostEngine engine = StartedEngine(config);
  Actions actions = engine.OnTimer(kT0 + kMasterDown0);
  EXPECT_THAT(Describe(actions),
              ElementsAre("StateChanged BACKUP->MASTER master-down", "InstallVips", "Send ipv4",
                          "Send ipv6", "AnnounceVips"));
  auto sends = Only<SendAdvertisement>(actions);
  EXPECT_EQ(sends[0].unicast_destination, Ip("192.0.2.2"));
  EXPECT_EQ(sends[1].unicast_destination, std::nullopt);
  EXPECT_THAT(Describe(engine.OnTimer(kT0 + kMasterDown0 + Seconds(1))),
              ElementsAre("Send ipv4", "Send ipv6"));
}

TEST(VhostEngineTest, DualStackKeepsSeparateMasterDownDeadlines) {
  VhostConfig config = MakeConfig(100, {Ip("192.0.2.100"), Ip("2001:db8::100")});
  VhostEngine engine = StartedEngine(config);
  const Duration down = Seconds(3) + 100 * kSkewUnit;
  // Only IPv4 advertisements arrive: they re-arm only the IPv4 deadline.
  engine.OnAdvertisement(kT0 + Seconds(1), MakeRx(config, {.advskew = 0}));
  engine.OnAdvertisement(kT0 + Seconds(2), MakeRx(config, {.advskew = 0}));
  EXPECT_EQ(engine.NextDeadline(), kT0 + down);  // IPv6 one, untouched
  Actions actions = engine.OnTimer(kT0 + down);
  EXPECT_EQ(engine.State(), VhostState::kMaster);
  EXPECT_EQ(Only<SendAdvertisement>(actions).size(), 2u);
}

TEST(VhostEngineTest, DualStackBothFamiliesKeepBackup) {
  VhostConfig config = MakeConfig(100, {Ip("192.0.2.100"), Ip("2001:db8::100")});
  VhostEngine engine = StartedEngine(config);
  for (int i = 1; i <= 10; ++i) {
    const TimePoint t = kT0 + Seconds(i);
    engine.OnAdvertisement(t, MakeRx(config, {.advskew = 0}));
    engine.OnAdvertisement(t, MakeRx(config, {.advskew = 0, .family = IpFamily::kV6}));
    EXPECT_THAT(engine.OnTimer(t), IsEmpty());
  }
  EXPECT_EQ(engine.State(), VhostState::kBackup);
}

// --- Status ---

TEST(VhostEngineTest, StatusRecordsTransitionsAndPeer) {
  VhostConfig config = MakeConfig(100);
  VhostEngine engine = StartedEngine(config);
  engine.OnAdvertisement(kT0 + Seconds(1), MakeRx(config, {.advskew = 7, .demote = 4}));
  const VhostStatus& s = engine.Status();
  EXPECT_EQ(s.transitions, 2u);  // INIT->BACKUP, BACKUP->MASTER (demoted master)
  ASSERT_TRUE(s.last_transition.has_value());
  EXPECT_EQ(s.last_transition->at, kT0 + Seconds(1));
  EXPECT_EQ(s.last_transition->from, VhostState::kBackup);
  EXPECT_EQ(s.last_transition->to, VhostState::kMaster);
  EXPECT_EQ(s.last_transition->cause, TransitionCause::kMasterDemoted);
  EXPECT_EQ(s.last_peer, kPeerV4);
  EXPECT_EQ(s.last_peer_advbase, 1);
  EXPECT_EQ(s.last_peer_advskew, 7);
  EXPECT_EQ(s.last_peer_demote, 4);
  EXPECT_EQ(s.adverts_received, 1u);
  EXPECT_EQ(s.adverts_sent, 1u);
}

TEST(VhostEngineTest, Names) {
  EXPECT_EQ(VhostStateName(VhostState::kMaster), "MASTER");
  EXPECT_EQ(TransitionCauseName(TransitionCause::kMasterTooSlow), "master-too-slow");
  EXPECT_EQ(TransitionCauseName(TransitionCause::kBetterMaster), "better-master");
}

// --- Two engines on one virtual wire ---

class Wire {
 public:
  static constexpr Duration kLatency = Millis(1);

  Wire(VhostConfig a, VhostConfig b, TimePoint start_a, TimePoint start_b) {
    nodes_.push_back(Node{VhostEngine(std::move(a), 0xA), Ip("192.0.2.1"), start_a});
    nodes_.push_back(Node{VhostEngine(std::move(b), 0xB), Ip("192.0.2.2"), start_b});
  }

  // Runs the event loop (starts, timers, deliveries) up to and including `end`.
  void RunUntil(TimePoint end) {
    for (;;) {
      std::optional<TimePoint> next;
      auto consider = [&next](std::optional<TimePoint> t) {
        if (t && (!next || *t < *next)) next = t;
      };
      for (auto& n : nodes_) {
        if (!n.started) consider(n.start_at);
        consider(n.engine.NextDeadline());
      }
      if (!queue_.empty()) consider(queue_.front().at);
      if (!next || *next > end) break;
      now_ = *next;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        Node& n = nodes_[i];
        if (!n.started && n.start_at <= now_) {
          n.started = true;
          Emit(i, n.engine.Start(now_));
        }
        if (auto d = n.engine.NextDeadline(); d && *d <= now_) Emit(i, n.engine.OnTimer(now_));
      }
      while (!queue_.empty() && queue_.front().at <= now_) {
        Packet p = queue_.front();
        queue_.pop_front();
        Node& to = nodes_[p.to];
        if (!up_[p.to]) continue;
        Emit(p.to, to.engine.OnAdvertisement(now_, p.rx));
      }
      CheckMasters();
    }
  }

  VhostEngine& Engine(size_t i) { return nodes_[i].engine; }
  void SetUp(size_t i, bool up) { up_[i] = up; }
  TimePoint Now() const { return now_; }
  int Masters() const {
    int count = 0;
    for (const auto& n : nodes_) count += n.engine.State() == VhostState::kMaster;
    return count;
  }
  Duration DualMasterTime() const { return dual_master_; }
  void ResetDualMasterTime() { dual_master_ = Duration::zero(); }

 private:
  struct Node {
    VhostEngine engine;
    IpAddress address;
    TimePoint start_at;
    bool started = false;
  };
  struct Packet {
    TimePoint at;
    size_t to;
    ReceivedAdvertisement rx;
  };

  void Emit(size_t from, const Actions& actions) {
    if (!up_[from]) return;
    for (const auto& send : Only<SendAdvertisement>(actions)) {
      for (size_t to = 0; to < nodes_.size(); ++to) {
        if (to != from) {
          queue_.push_back(Packet{now_ + kLatency, to, Deliver(send, nodes_[from].address)});
        }
      }
    }
  }

  void CheckMasters() {
    if (last_check_ && Masters() > 1) dual_master_ += now_ - *last_check_;
    last_check_ = now_;
  }

  std::vector<Node> nodes_;
  std::deque<Packet> queue_;
  bool up_[2] = {true, true};
  TimePoint now_ = kT0;
  std::optional<TimePoint> last_check_;
  Duration dual_master_ = Duration::zero();
};

TEST(VhostEngineWireTest, DistinctSkewsElectExactlyOneMaster) {
  Wire wire(MakeConfig(100), MakeConfig(0), kT0, kT0);
  wire.RunUntil(kT0 + Seconds(60));
  EXPECT_EQ(wire.Masters(), 1);
  EXPECT_EQ(wire.Engine(1).State(), VhostState::kMaster);  // the faster node
  EXPECT_EQ(wire.Engine(0).State(), VhostState::kBackup);
  EXPECT_EQ(wire.Engine(1).Status().transitions, 2u);  // no flapping
}

TEST(VhostEngineWireTest, FirstStartedNodeStaysMasterWithoutPreempt) {
  Wire wire(MakeConfig(100), MakeConfig(0), kT0, kT0 + Seconds(10));
  wire.RunUntil(kT0 + Seconds(60));
  EXPECT_EQ(wire.Engine(0).State(), VhostState::kMaster);
  EXPECT_EQ(wire.Engine(1).State(), VhostState::kBackup);
  EXPECT_EQ(wire.DualMasterTime(), Duration::zero());
}

TEST(VhostEngineWireTest, PreemptingNodeTakesOverOnce) {
  VhostConfig better = MakeConfig(0);
  better.preempt = true;
  Wire wire(MakeConfig(100), better, kT0, kT0 + Seconds(10));
  wire.RunUntil(kT0 + Seconds(60));
  EXPECT_EQ(wire.Engine(0).State(), VhostState::kBackup);
  EXPECT_EQ(wire.Engine(1).State(), VhostState::kMaster);
  EXPECT_EQ(wire.Engine(0).Status().transitions, 3u);  // BACKUP, MASTER, BACKUP
  EXPECT_LT(wire.DualMasterTime(), Millis(5));
}

TEST(VhostEngineWireTest, EqualSkewsStaggeredStartElectOneMaster) {
  Wire wire(MakeConfig(50), MakeConfig(50), kT0, kT0 + Millis(300));
  wire.RunUntil(kT0 + Seconds(60));
  EXPECT_EQ(wire.Masters(), 1);
  EXPECT_EQ(wire.Engine(0).State(), VhostState::kMaster);
}

TEST(VhostEngineWireTest, BackupTakesOverWhenMasterFallsSilent) {
  Wire wire(MakeConfig(0), MakeConfig(100), kT0, kT0);
  wire.RunUntil(kT0 + Seconds(20));
  ASSERT_EQ(wire.Engine(0).State(), VhostState::kMaster);
  wire.SetUp(0, false);  // crash: nothing in, nothing out
  const TimePoint crash = wire.Now();
  // An advertisement sent just before the crash may still be on the wire.
  const TimePoint latest = crash + Wire::kLatency + Seconds(3) + 100 * kSkewUnit;
  wire.RunUntil(latest);
  EXPECT_EQ(wire.Engine(1).State(), VhostState::kMaster);
  EXPECT_EQ(wire.Engine(1).Status().last_transition->cause, TransitionCause::kMasterDown);
  EXPECT_LE(wire.Engine(1).Status().last_transition->at, latest);
  EXPECT_GT(wire.Engine(1).Status().last_transition->at, crash + Seconds(2));
}

TEST(VhostEngineWireTest, DemotedMasterHandsOverToBackup) {
  Wire wire(MakeConfig(0), MakeConfig(100), kT0, kT0);
  wire.RunUntil(kT0 + Seconds(20));
  ASSERT_EQ(wire.Engine(0).State(), VhostState::kMaster);
  // Demote the master; its immediate advertisement moves the election. The
  // wire loop delivers it on the next run.
  Actions actions = wire.Engine(0).OnDemotionChange(wire.Now(), 1);
  ASSERT_EQ(Only<SendAdvertisement>(actions).size(), 1u);
  wire.Engine(1).OnAdvertisement(wire.Now(),
                                 Deliver(Only<SendAdvertisement>(actions)[0], Ip("192.0.2.1")));
  EXPECT_EQ(wire.Engine(1).State(), VhostState::kMaster);
  wire.RunUntil(wire.Now() + Seconds(20));
  EXPECT_EQ(wire.Engine(0).State(), VhostState::kBackup);
  EXPECT_EQ(wire.Engine(1).State(), VhostState::kMaster);
}

}  // namespace
}  // namespace hafw::carp
