#include "firewall/core/table_watch.h"

#include <gtest/gtest.h>

namespace hafw::firewall {
namespace {

constexpr uint32_t kOwnPid = 4242;

TEST(TableWatch, ForeignTransactionOnOurTableCallsForARestore) {
  TableWatch watch("hafw", kOwnPid);
  watch.OnChange("filter", true);
  watch.OnChange("hafw", true);  // e.g. DELTABLE from `flush ruleset`
  EXPECT_TRUE(watch.OnGeneration(1234));
  // The next transaction starts clean.
  EXPECT_FALSE(watch.OnGeneration(1234));
}

TEST(TableWatch, OwnTransactionDoesNot) {
  TableWatch watch("hafw", kOwnPid);
  watch.OnChange("hafw", true);
  EXPECT_FALSE(watch.OnGeneration(kOwnPid));
}

TEST(TableWatch, OtherTablesAndFamiliesDoNot) {
  TableWatch watch("hafw", kOwnPid);
  watch.OnChange("filter", true);
  watch.OnChange("hafw", false);  // `table ip hafw` is not ours
  watch.OnChange("hafw2", true);
  EXPECT_FALSE(watch.OnGeneration(1234));
}

TEST(TableWatch, UnknownCommitterIsForeign) {
  TableWatch watch("hafw", kOwnPid);
  watch.OnChange("hafw", true);
  EXPECT_TRUE(watch.OnGeneration(std::nullopt));
}

TEST(TableWatch, OverrunForgetsTheHalfSeenTransaction) {
  TableWatch watch("hafw", kOwnPid);
  watch.OnChange("hafw", true);
  watch.OnOverrun();
  EXPECT_FALSE(watch.OnGeneration(1234));
}

TEST(RestorePacer, BurstRunsAtOnceThenWaitsForTheWindow) {
  RestorePacer pacer;
  const TimePoint t0 = TimePoint{} + Seconds(100);
  TimePoint now = t0;
  for (size_t i = 0; i < RestorePacer::kBurst; ++i) {
    EXPECT_EQ(pacer.Due(now), now) << i;
    pacer.Ran(now);
    now += Millis(10);
  }
  // The fourth waits until the first is a window old.
  EXPECT_EQ(pacer.Due(now), t0 + RestorePacer::kWindow);
  pacer.Ran(t0 + RestorePacer::kWindow);
  // Then the second sets the pace.
  EXPECT_EQ(pacer.Due(t0 + RestorePacer::kWindow), t0 + Millis(10) + RestorePacer::kWindow);
  // Once things calm down, restores run at once again.
  const TimePoint later = t0 + Seconds(60);
  EXPECT_EQ(pacer.Due(later), later);
}

}  // namespace
}  // namespace hafw::firewall
