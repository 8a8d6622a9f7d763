#pragma once

// Monotonic time for every hafw component. Cores never read a clock: each input
// carries `now` (a TimePoint), and only the I/O adapters ask a Clock for it.

#include <chrono>
#include <cstdint>

namespace hafw {

using Duration = std::chrono::nanoseconds;

// A point on the monotonic clock (CLOCK_MONOTONIC under SteadyClock). The
// simulator builds these from a virtual clock, so they never relate to wall time.
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// The smallest CARP timing unit: advskew counts 1/256 s.
constexpr Duration kSkewUnit = std::chrono::nanoseconds(1'000'000'000 / 256);

constexpr Duration Seconds(int64_t s) { return std::chrono::seconds(s); }
constexpr Duration Millis(int64_t ms) { return std::chrono::milliseconds(ms); }

// Seconds as a double, for logs and JSON.
inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace hafw
