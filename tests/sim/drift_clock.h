#pragma once

// A node's local monotonic clock, running at rate 1 + ppm/1e6 against global
// virtual time. The engine sees only local time; its deadlines are converted
// back to the earliest global instant at which the local clock has reached them.
// Integer arithmetic (128-bit) keeps both directions exact and reproducible.

#include <cstdint>

#include "common/time.h"

namespace hafw::carp::sim {

class DriftClock {
 public:
  static constexpr int64_t kPpmScale = 1'000'000;

  DriftClock() = default;
  // Global `global_origin` corresponds to local `local_origin`; |ppm| < 1e6.
  DriftClock(TimePoint global_origin, TimePoint local_origin, int64_t ppm);

  // floor(local_origin + (global - global_origin) * rate). `global` >= origin.
  TimePoint ToLocal(TimePoint global) const;
  // The smallest global time g >= global_origin with ToLocal(g) >= local.
  TimePoint ToGlobal(TimePoint local) const;
  // A local duration expressed as the (rounded up) global duration it takes.
  Duration ToGlobalDuration(Duration local) const;

  int64_t Ppm() const { return ppm_; }

 private:
  TimePoint global_origin_{};
  TimePoint local_origin_{};
  int64_t ppm_ = 0;
};

}  // namespace hafw::carp::sim
