#include "tests/sim/drift_clock.h"

namespace hafw::carp::sim {

namespace {

// ceil(a / b) for a >= 0, b > 0.
__int128 CeilDiv(__int128 a, __int128 b) { return (a + b - 1) / b; }

}  // namespace

DriftClock::DriftClock(TimePoint global_origin, TimePoint local_origin, int64_t ppm)
    : global_origin_(global_origin), local_origin_(local_origin), ppm_(ppm) {}

TimePoint DriftClock::ToLocal(TimePoint global) const {
  const __int128 elapsed = (global - global_origin_).count();
  const __int128 scaled = elapsed * (kPpmScale + ppm_) / kPpmScale;
  return local_origin_ + Duration(static_cast<int64_t>(scaled));
}

TimePoint DriftClock::ToGlobal(TimePoint local) const {
  if (local <= local_origin_) return global_origin_;
  return global_origin_ + ToGlobalDuration(local - local_origin_);
}

Duration DriftClock::ToGlobalDuration(Duration local) const {
  if (local.count() <= 0) return Duration(0);
  const __int128 scaled =
      CeilDiv(static_cast<__int128>(local.count()) * kPpmScale, kPpmScale + ppm_);
  return Duration(static_cast<int64_t>(scaled));
}

}  // namespace hafw::carp::sim
