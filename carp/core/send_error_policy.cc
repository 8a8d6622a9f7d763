#include "carp/core/send_error_policy.h"

#include <algorithm>

namespace hafw::carp {

SendErrorPolicy::SendErrorPolicy(size_t vhids) : threshold_(3 * std::max<uint64_t>(1, vhids)) {}

int SendErrorPolicy::OnSend(TimePoint now, bool ok) {
  if (!ok) {
    ++consecutive_errors_;
    successes_while_demoted_ = 0;  // the successes that undo it must be consecutive too
    if (!Demoted() && consecutive_errors_ >= threshold_) {
      demoted_since_ = now;
      return +1;
    }
    return 0;
  }
  if (!Demoted()) {
    consecutive_errors_ = 0;
    return 0;
  }
  if (++successes_while_demoted_ < threshold_) return 0;
  demoted_since_.reset();
  consecutive_errors_ = 0;
  successes_while_demoted_ = 0;
  return -1;
}

}  // namespace hafw::carp
