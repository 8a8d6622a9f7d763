#include "common/demote_counter.h"

#include <algorithm>

namespace hafw {

bool DemoteCounter::Adjust(std::string_view reason, int delta, TimePoint now) {
  return Set(reason, Count(reason) + delta, now);
}

bool DemoteCounter::Set(std::string_view reason, int count, TimePoint now) {
  uint8_t before = Total();
  count = std::clamp(count, 0, kMaxPerReason);
  auto it = reasons_.find(reason);
  if (count == 0) {
    if (it != reasons_.end()) reasons_.erase(it);
  } else if (it == reasons_.end()) {
    reasons_.emplace(std::string(reason), Entry{count, now});
  } else {
    it->second.count = count;
  }
  return Total() != before;
}

int DemoteCounter::Count(std::string_view reason) const {
  auto it = reasons_.find(reason);
  return it == reasons_.end() ? 0 : it->second.count;
}

uint8_t DemoteCounter::Total() const {
  int sum = 0;
  for (const auto& [name, entry] : reasons_) {
    sum += entry.count;
    if (sum >= kMaxTotal) return kMaxTotal;
  }
  return static_cast<uint8_t>(sum);
}

}  // namespace hafw
