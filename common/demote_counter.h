#pragma once

// A demotion counter made of named reasons ("link lan0", "sync-link", "admin"),
// each with a count and the time it was first raised. The effective demotion is
// the sum over the reasons, capped at 255 as the CARP demote byte is.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/time.h"

namespace hafw {

class DemoteCounter {
 public:
  static constexpr int kMaxTotal = 255;
  static constexpr int kMaxPerReason = 255;

  struct Entry {
    int count = 0;
    TimePoint since{};  // when this reason went from 0 to non-zero
  };

  // Adds delta (negative to lower) to a reason. A count is clamped to
  // 0..kMaxPerReason; a reason that reaches 0 disappears. Returns true when the
  // capped total changed.
  bool Adjust(std::string_view reason, int delta, TimePoint now = {});
  // Sets a reason to an absolute count (0 removes it). Returns true when the total changed.
  bool Set(std::string_view reason, int count, TimePoint now = {});

  int Count(std::string_view reason) const;
  // Sum of all counts, capped at 255.
  uint8_t Total() const;
  bool Empty() const { return reasons_.empty(); }
  const std::map<std::string, Entry, std::less<>>& Reasons() const { return reasons_; }

 private:
  std::map<std::string, Entry, std::less<>> reasons_;
};

}  // namespace hafw
