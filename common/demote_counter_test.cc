#include "common/demote_counter.h"

#include <gtest/gtest.h>

namespace hafw {
namespace {

TEST(DemoteCounterTest, StartsEmpty) {
  DemoteCounter c;
  EXPECT_TRUE(c.Empty());
  EXPECT_EQ(c.Total(), 0);
  EXPECT_EQ(c.Count("link lan0"), 0);
}

TEST(DemoteCounterTest, SumsNamedReasons) {
  DemoteCounter c;
  EXPECT_TRUE(c.Adjust("link lan0", 1));
  EXPECT_TRUE(c.Adjust("bulk-sync", 32));
  EXPECT_EQ(c.Total(), 33);
  EXPECT_EQ(c.Count("bulk-sync"), 32);
  EXPECT_EQ(c.Reasons().size(), 2u);
}

TEST(DemoteCounterTest, ReasonAtZeroDisappears) {
  DemoteCounter c;
  c.Adjust("admin", 2);
  c.Adjust("admin", -2);
  EXPECT_TRUE(c.Empty());
}

TEST(DemoteCounterTest, NeverBelowZero) {
  DemoteCounter c;
  EXPECT_FALSE(c.Adjust("admin", -5));
  EXPECT_EQ(c.Count("admin"), 0);
  c.Adjust("admin", 1);
  c.Adjust("admin", -3);
  EXPECT_EQ(c.Total(), 0);
}

TEST(DemoteCounterTest, TotalCappedAt255) {
  DemoteCounter c;
  c.Set("a", 200);
  c.Set("b", 200);
  EXPECT_EQ(c.Total(), 255);
  EXPECT_FALSE(c.Adjust("c", 1));  // still capped: the total did not change
  c.Set("a", 0);
  EXPECT_EQ(c.Total(), 201);
}

TEST(DemoteCounterTest, PerReasonClampedAt255) {
  DemoteCounter c;
  c.Set("a", 1000);
  EXPECT_EQ(c.Count("a"), 255);
}

TEST(DemoteCounterTest, RemembersSinceFromFirstRaise) {
  DemoteCounter c;
  TimePoint t1 = TimePoint{} + Seconds(10);
  TimePoint t2 = TimePoint{} + Seconds(20);
  c.Adjust("maintenance", 1, t1);
  c.Adjust("maintenance", 1, t2);
  EXPECT_EQ(c.Reasons().at("maintenance").since, t1);
  EXPECT_EQ(c.Count("maintenance"), 2);
}

TEST(DemoteCounterTest, ReportsWhetherTotalChanged) {
  DemoteCounter c;
  EXPECT_TRUE(c.Set("x", 3));
  EXPECT_FALSE(c.Set("x", 3));
  EXPECT_TRUE(c.Set("x", 0));
}

}  // namespace
}  // namespace hafw
