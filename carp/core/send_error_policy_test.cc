#include "carp/core/send_error_policy.h"

#include <gtest/gtest.h>

namespace hafw::carp {
namespace {

constexpr TimePoint kT0{Seconds(100)};

// Feeds `n` outcomes and returns the sum of the deltas.
int Feed(SendErrorPolicy& policy, bool ok, int n, TimePoint now = kT0) {
  int sum = 0;
  for (int i = 0; i < n; ++i) sum += policy.OnSend(now, ok);
  return sum;
}

TEST(SendErrorPolicyTest, ThresholdIsThreeTimesTheVhids) {
  EXPECT_EQ(SendErrorPolicy(1).Threshold(), 3u);
  EXPECT_EQ(SendErrorPolicy(4).Threshold(), 12u);
  EXPECT_EQ(SendErrorPolicy(0).Threshold(), 3u);  // no vhids still needs a threshold
}

TEST(SendErrorPolicyTest, DemotesOnceAfterThresholdConsecutiveErrors) {
  SendErrorPolicy policy(2);  // threshold 6
  EXPECT_EQ(Feed(policy, false, 5), 0);
  EXPECT_FALSE(policy.Demoted());
  EXPECT_EQ(policy.OnSend(kT0 + Seconds(1), false), +1);
  EXPECT_TRUE(policy.Demoted());
  EXPECT_EQ(policy.DemotedSince(), kT0 + Seconds(1));
  // More errors never stack the demotion.
  EXPECT_EQ(Feed(policy, false, 20), 0);
  EXPECT_EQ(policy.ConsecutiveErrors(), 26u);
}

TEST(SendErrorPolicyTest, ASuccessBeforeTheThresholdResetsTheCount) {
  SendErrorPolicy policy(1);
  EXPECT_EQ(Feed(policy, false, 2), 0);
  EXPECT_EQ(policy.OnSend(kT0, true), 0);
  EXPECT_EQ(policy.ConsecutiveErrors(), 0u);
  EXPECT_EQ(Feed(policy, false, 2), 0);
  EXPECT_FALSE(policy.Demoted());
  EXPECT_EQ(policy.OnSend(kT0, false), +1);
}

TEST(SendErrorPolicyTest, ThresholdConsecutiveSuccessesUndoTheDemotion) {
  SendErrorPolicy policy(1);
  ASSERT_EQ(Feed(policy, false, 3), +1);
  EXPECT_EQ(Feed(policy, true, 2), 0);
  EXPECT_TRUE(policy.Demoted());
  EXPECT_EQ(policy.OnSend(kT0, true), -1);
  EXPECT_FALSE(policy.Demoted());
  EXPECT_FALSE(policy.DemotedSince().has_value());
  EXPECT_EQ(policy.ConsecutiveErrors(), 0u);
  // Back to normal: a fresh run of errors demotes again.
  EXPECT_EQ(Feed(policy, false, 3), +1);
}

TEST(SendErrorPolicyTest, AnErrorWhileRecoveringRestartsTheSuccessCount) {
  SendErrorPolicy policy(1);
  ASSERT_EQ(Feed(policy, false, 3), +1);
  EXPECT_EQ(Feed(policy, true, 2), 0);
  EXPECT_EQ(policy.OnSend(kT0, false), 0);  // still demoted, count restarts
  EXPECT_EQ(Feed(policy, true, 2), 0);
  EXPECT_TRUE(policy.Demoted());
  EXPECT_EQ(policy.OnSend(kT0, true), -1);
}

}  // namespace
}  // namespace hafw::carp
