#include "carp/core/election.h"

#include <gtest/gtest.h>

namespace hafw::carp {
namespace {

using std::nullopt;

constexpr ElectionView View(uint8_t advbase, uint8_t advskew, uint8_t demote = 0) {
  return ElectionView{advbase, advskew, demote};
}

// --- Timing (§3.2) ---

TEST(AdvertisementIntervalTest, AdvbasePlusSkew) {
  EXPECT_EQ(AdvertisementInterval(1, 100), Seconds(1) + 100 * kSkewUnit);
}

TEST(AdvertisementIntervalTest, AdvbaseZeroGivesSubSecond) {
  EXPECT_EQ(AdvertisementInterval(0, 128), Millis(500));
}

TEST(AdvertisementIntervalTest, BothZeroIsOneSkewUnit) {
  EXPECT_EQ(AdvertisementInterval(0, 0), kSkewUnit);
}

TEST(MasterDownIntervalTest, ClassicIsThreeAdvbasePlusSkew) {
  EXPECT_EQ(MasterDownInterval(1, 100, MasterDownRule::kClassic), Seconds(3) + 100 * kSkewUnit);
}

TEST(MasterDownIntervalTest, OpenBsd2025IsThreeIntervals) {
  EXPECT_EQ(MasterDownInterval(1, 100, MasterDownRule::kOpenBsd2025),
            3 * (Seconds(1) + 100 * kSkewUnit));
}

TEST(MasterDownIntervalTest, ClassicAdvbaseZeroIsThreeSkews) {
  EXPECT_EQ(MasterDownInterval(0, 64, MasterDownRule::kClassic), 3 * 64 * kSkewUnit);
}

TEST(MasterDownIntervalTest, ClassicAllZeroIsThreeUnits) {
  EXPECT_EQ(MasterDownInterval(0, 0, MasterDownRule::kClassic), 3 * kSkewUnit);
}

TEST(MasterDownIntervalTest, OpenBsd2025AllZeroIsThreeUnits) {
  EXPECT_EQ(MasterDownInterval(0, 0, MasterDownRule::kOpenBsd2025), 3 * kSkewUnit);
}

// §3.2 in plain numbers (the simulator's expectations come from these functions).
TEST(MasterDownIntervalTest, AdvbaseZeroInMilliseconds) {
  EXPECT_EQ(MasterDownInterval(0, 64, MasterDownRule::kClassic), Millis(750));
  EXPECT_EQ(MasterDownInterval(0, 64, MasterDownRule::kOpenBsd2025), Millis(750));
  EXPECT_EQ(AdvertisementInterval(0, 1), std::chrono::nanoseconds(3'906'250));
  EXPECT_EQ(MasterDownInterval(2, 128, MasterDownRule::kClassic), Millis(6500));
  EXPECT_EQ(MasterDownInterval(2, 128, MasterDownRule::kOpenBsd2025), Millis(7500));
}

// With advbase 0 the two rules agree: 3 x advskew/256 either way. They differ
// only from advbase 1 on, by 2 x advskew/256.
TEST(MasterDownIntervalTest, RulesAgreeAtAdvbaseZeroAndDifferByTwoSkewsAbove) {
  for (int skew = 1; skew <= 254; ++skew) {
    const auto s = static_cast<uint8_t>(skew);
    EXPECT_EQ(MasterDownInterval(0, s, MasterDownRule::kClassic),
              MasterDownInterval(0, s, MasterDownRule::kOpenBsd2025))
        << skew;
    EXPECT_EQ(MasterDownInterval(1, s, MasterDownRule::kOpenBsd2025) -
                  MasterDownInterval(1, s, MasterDownRule::kClassic),
              2 * skew * kSkewUnit)
        << skew;
  }
}

// --- Advertised skew (§3.6) ---

TEST(AdvertisedAdvskewTest, NotDemotedKeepsSkew) { EXPECT_EQ(AdvertisedAdvskew(10, 0, true), 10); }

TEST(AdvertisedAdvskewTest, DemotedWithoutOptionKeepsSkew) {
  EXPECT_EQ(AdvertisedAdvskew(10, 5, false), 10);
}

TEST(AdvertisedAdvskewTest, DemotedRaisesTo240) { EXPECT_EQ(AdvertisedAdvskew(10, 1, true), 240); }

TEST(AdvertisedAdvskewTest, DemotedKeepsHigherSkew) {
  EXPECT_EQ(AdvertisedAdvskew(250, 1, true), 250);
}

// --- MASTER receipt rules (§3.3, OpenBSD) ---

TEST(MasterShouldYieldTest, YieldsToEqualTiming) {
  EXPECT_EQ(MasterShouldYield(View(1, 50), View(1, 50)), TransitionCause::kBetterMaster);
}

TEST(MasterShouldYieldTest, YieldsToFasterWithLowerDemote) {
  EXPECT_EQ(MasterShouldYield(View(1, 50, 2), View(1, 10, 1)), TransitionCause::kBetterMaster);
}

TEST(MasterShouldYieldTest, YieldsToFasterWithEqualDemote) {
  EXPECT_EQ(MasterShouldYield(View(1, 50, 3), View(1, 10, 3)), TransitionCause::kBetterMaster);
}

TEST(MasterShouldYieldTest, IgnoresFasterButMoreDemoted) {
  EXPECT_EQ(MasterShouldYield(View(1, 50, 0), View(1, 10, 1)), nullopt);
}

TEST(MasterShouldYieldTest, YieldsToLessDemotedEvenIfSlower) {
  EXPECT_EQ(MasterShouldYield(View(1, 0, 2), View(5, 200, 1)), TransitionCause::kBetterMaster);
}

TEST(MasterShouldYieldTest, IgnoresSlower) {
  EXPECT_EQ(MasterShouldYield(View(1, 10), View(1, 11)), nullopt);
}

TEST(MasterShouldYieldTest, AdvbaseOutweighsSkew) {
  EXPECT_EQ(MasterShouldYield(View(1, 255), View(2, 0)), nullopt);
}

TEST(MasterShouldYieldTest, IgnoresLessDemotedBowOut) {
  // Found by tests/sim seed 20823: yielding here left the vhid masterless.
  EXPECT_EQ(MasterShouldYield(View(1, 0, 3), View(255, 255, 0)), nullopt);
}

TEST(MasterShouldYieldTest, IgnoresBowOut) {
  EXPECT_EQ(MasterShouldYield(View(1, 0), View(255, 255)), nullopt);
}

// --- BACKUP receipt rules (§3.3, OpenBSD) ---

TEST(BackupShouldTakeOverTest, PreemptsSlowerMaster) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 0), View(1, 100), true), TransitionCause::kPreempted);
}

TEST(BackupShouldTakeOverTest, NoPreemptWithoutOption) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 0), View(1, 100), false), nullopt);
}

TEST(BackupShouldTakeOverTest, PreemptNeedsStrictlySlower) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 100), View(1, 100), true), nullopt);
}

TEST(BackupShouldTakeOverTest, NoPreemptOfLessDemotedMaster) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 0, 1), View(1, 100, 0), true), nullopt);
}

TEST(BackupShouldTakeOverTest, NoPreemptOfFasterMaster) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 100), View(1, 0), true), nullopt);
}

TEST(BackupShouldTakeOverTest, TakesOverMoreDemotedMasterWithoutPreempt) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 100, 0), View(1, 0, 1), false),
            TransitionCause::kMasterDemoted);
}

TEST(BackupShouldTakeOverTest, PreemptWinsOverDemoteCauseWhenBothHold) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 0, 0), View(1, 100, 1), true),
            TransitionCause::kPreempted);
}

TEST(BackupShouldTakeOverTest, MasterWillTimeOutAnyway) {
  // 3 x 1 s + 0 < 3 s + 1/256 s.
  EXPECT_EQ(BackupShouldTakeOver(View(1, 0), View(3, 1), false), TransitionCause::kMasterTooSlow);
}

TEST(BackupShouldTakeOverTest, MasterExactlyAtThresholdIsNotTooSlow) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 0), View(3, 0), false), nullopt);
}

TEST(BackupShouldTakeOverTest, BowOutTriggersTakeOverEvenAtAdvbaseZero) {
  EXPECT_EQ(BackupShouldTakeOver(View(0, 20), View(255, 255), /*preempt=*/false),
            TransitionCause::kMasterTooSlow);
}

TEST(BackupShouldTakeOverTest, AdvbaseZeroIgnoresOrdinarySlowMaster) {
  EXPECT_EQ(BackupShouldTakeOver(View(0, 20), View(1, 0), /*preempt=*/false), std::nullopt);
}

TEST(BackupShouldTakeOverTest, BowOutTriggersTakeOver) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 100), View(255, 255), false),
            TransitionCause::kMasterTooSlow);
}

TEST(BackupShouldTakeOverTest, AdvbaseZeroIgnoresTooSlowRule) {
  EXPECT_EQ(BackupShouldTakeOver(View(0, 100), View(2, 0), false), nullopt);
}

TEST(BackupShouldTakeOverTest, FasterMasterRearms) {
  EXPECT_EQ(BackupShouldTakeOver(View(1, 100), View(1, 0), true), nullopt);
}

}  // namespace
}  // namespace hafw::carp
