#include "firewall/core/table_watch.h"

#include <gtest/gtest.h>

namespace hafw::firewall {
namespace {

constexpr uint32_t kOwnPort = 4242;
constexpr uint32_t kUserPort = 1234;

TEST(TableWatch, ForeignTransactionOnOurTableCallsForARestore) {
  TableWatch watch("hafw", kOwnPort);
  watch.OnChange("filter", true, kUserPort);
  watch.OnChange("hafw", true, kUserPort);  // e.g. DELTABLE from `flush ruleset`
  EXPECT_TRUE(watch.OnGeneration());
  // The next transaction starts clean.
  EXPECT_FALSE(watch.OnGeneration());
}

TEST(TableWatch, OwnTransactionDoesNot) {
  TableWatch watch("hafw", kOwnPort);
  watch.OnChange("hafw", true, kOwnPort);
  EXPECT_FALSE(watch.OnGeneration());
}

TEST(TableWatch, OtherTablesAndFamiliesDoNot) {
  TableWatch watch("hafw", kOwnPort);
  watch.OnChange("filter", true, kUserPort);
  watch.OnChange("hafw", false, kUserPort);  // `table ip hafw` is not ours
  watch.OnChange("hafw2", true, kUserPort);
  EXPECT_FALSE(watch.OnGeneration());
}

TEST(TableWatch, KernelOriginatedChangeIsForeign) {
  TableWatch watch("hafw", kOwnPort);
  watch.OnChange("hafw", true, 0);
  EXPECT_TRUE(watch.OnGeneration());
}

TEST(TableWatch, OverrunForgetsTheHalfSeenTransaction) {
  TableWatch watch("hafw", kOwnPort);
  watch.OnChange("hafw", true, kUserPort);
  watch.OnOverrun();
  EXPECT_FALSE(watch.OnGeneration());
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
