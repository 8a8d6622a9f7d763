#include "firewall/core/table_watch.h"

#include <algorithm>

namespace hafw::firewall {

void TableWatch::OnChange(std::string_view table, bool inet_family, uint32_t sender_port) {
  if (inet_family && sender_port != own_port_ && table == table_name_) touched_ = true;
}

bool TableWatch::OnGeneration() {
  const bool foreign = touched_;
  touched_ = false;
  return foreign;
}

TimePoint RestorePacer::Due(TimePoint now) const {
  if (count_ < kBurst) return now;
  return std::max(now, runs_[next_] + kWindow);
}

void RestorePacer::Ran(TimePoint now) {
  runs_[next_] = now;
  next_ = (next_ + 1) % kBurst;
  count_ = std::min(count_ + 1, kBurst);
}

}  // namespace hafw::firewall
