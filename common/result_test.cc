#include "common/result.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace hafw {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return MakeError(ErrorCode::kInvalidArgument, std::to_string(x) + " is odd");
  return x / 2;
}

TEST(ResultTest, CarriesValueOrError) {
  EXPECT_EQ(*Half(8), 4);
  auto r = Half(3);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().ToString(), "invalid-argument: 3 is odd");
}

TEST(ResultTest, EveryCodeHasAName) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kConfig), "config");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kIo), "io");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInternal), "internal");
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock;
  TimePoint t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(Millis(250));
  EXPECT_EQ(clock.Now() - t0, Millis(250));
}

TEST(ClockTest, SteadyClockIsMonotonic) {
  SteadyClock clock;
  TimePoint a = clock.Now();
  TimePoint b = clock.Now();
  EXPECT_LE(a, b);
}

TEST(TimeTest, SkewUnitIsOne256thSecond) {
  EXPECT_EQ(kSkewUnit * 256, Seconds(1));  // 1e9 / 256 = 3906250 ns exactly
  EXPECT_NEAR(ToSeconds(kSkewUnit * 100), 100.0 / 256, 1e-6);
}

}  // namespace
}  // namespace hafw
