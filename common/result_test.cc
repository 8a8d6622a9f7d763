#include "common/result.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/function_ref.h"

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

TEST(ResultTest, SysErrorCarriesTheErrno) {
  Error error = SysError("bind 192.0.2.1", EADDRINUSE);
  EXPECT_EQ(error.code, ErrorCode::kIo);
  EXPECT_EQ(error.sys_errno, EADDRINUSE);
  EXPECT_EQ(error.context, "bind 192.0.2.1: Address already in use");
  errno = ENODEV;
  EXPECT_EQ(SysError("open").sys_errno, ENODEV);  // errno at the call by default
  Result<void> failed = SysFailure("send", EPERM);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().sys_errno, EPERM);
  // Errors that are not system errors keep 0.
  EXPECT_EQ((Error{ErrorCode::kConfig, "x"}).sys_errno, 0);
  EXPECT_EQ(MakeError(ErrorCode::kInternal, "y").value().sys_errno, 0);
}

TEST(FunctionRefTest, CallsTheReferencedCallable) {
  int sum = 0;
  auto add = [&sum](int x) { sum += x; };
  FunctionRef<void(int)> ref = add;
  ASSERT_TRUE(static_cast<bool>(ref));
  ref(2);
  ref(3);
  EXPECT_EQ(sum, 5);
  FunctionRef<int(int, int)> mul = [](int a, int b) { return a * b; };
  EXPECT_EQ(mul(6, 7), 42);
  FunctionRef<void(int)> empty;
  EXPECT_FALSE(static_cast<bool>(empty));
  FunctionRef<void(int)> null = nullptr;
  EXPECT_FALSE(static_cast<bool>(null));
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
