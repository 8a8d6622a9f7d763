#pragma once

// Where demotion sources outside the election meet it (design.md rule 4): state
// sync raises "sync-link" and "bulk-sync", maintenance and the operator their
// own reasons, each in an interface group or the implicit group "all"; the
// election reads only the sums. The carp service implements it; the group and
// reason names are carp/core/demotion_groups.h's (kAllGroup, kReasonSyncLink...).

#include <string_view>

namespace hafw::agent {

class Demotion {
 public:
  virtual ~Demotion() = default;

  // A configured interface group, or "all".
  virtual bool HasGroup(std::string_view group) const = 0;
  // Adds `delta` to the reason's count (a count reaching 0 drops the reason).
  virtual void AdjustDemotion(std::string_view group, std::string_view reason, int delta) = 0;
  // Sets the reason's count; 0 removes it.
  virtual void SetDemotion(std::string_view group, std::string_view reason, int count) = 0;
  // The reason's current count; 0 when absent.
  virtual int DemotionCount(std::string_view group, std::string_view reason) const = 0;
};

}  // namespace hafw::agent
