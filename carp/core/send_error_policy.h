#pragma once

// OpenBSD's send-error demotion (carp_send_ad): when advertisements fail to go
// out 3 x (number of vhids) times in a row, group "all" is demoted once with
// reason "send-errors"; as many consecutive successes afterwards undo it.
// Pure: the adapter (or a simulated node) reports each send outcome and
// applies the returned delta to (kAllGroup, kReasonSendErrors).
//
//   SendErrorPolicy policy(vhids);
//   if (int d = policy.OnSend(now, sent.has_value()); d != 0)
//     set.AdjustDemotion(now, kAllGroup, kReasonSendErrors, d);

#include <cstddef>
#include <cstdint>
#include <optional>

#include "carp/core/demotion_groups.h"  // kAllGroup, kReasonSendErrors
#include "common/time.h"

namespace hafw::carp {

class SendErrorPolicy {
 public:
  // `vhids`: how many vhids this node runs (0 counts as 1).
  explicit SendErrorPolicy(size_t vhids);

  // One advertisement's outcome. Returns +1 when the demotion starts, -1 when
  // it ends, 0 otherwise.
  int OnSend(TimePoint now, bool ok);

  bool Demoted() const { return demoted_since_.has_value(); }
  std::optional<TimePoint> DemotedSince() const { return demoted_since_; }
  // Failures in a row (kept while demoted until the successes undo it).
  uint64_t ConsecutiveErrors() const { return consecutive_errors_; }
  uint64_t Threshold() const { return threshold_; }

 private:
  uint64_t threshold_;
  uint64_t consecutive_errors_ = 0;
  uint64_t successes_while_demoted_ = 0;
  std::optional<TimePoint> demoted_since_;
};

}  // namespace hafw::carp
