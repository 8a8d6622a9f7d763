#pragma once

// Interface groups with demotion counters (carp-protocol.md §3.6, OpenBSD model).
// A vhid advertises the sum of the counters of every group its parent interface
// belongs to, capped at 255. The implicit group "all" contains every interface:
// node-wide sources (sync-link, bulk-sync, admin, maintenance) raise it.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/demote_counter.h"
#include "common/time.h"

namespace hafw::carp {

inline constexpr std::string_view kAllGroup = "all";

// Conventional reason names; "link <ifname>" is built by LinkReason().
inline constexpr std::string_view kReasonSyncLink = "sync-link";
inline constexpr std::string_view kReasonBulkSync = "bulk-sync";
inline constexpr std::string_view kReasonAdmin = "admin";
inline constexpr std::string_view kReasonMaintenance = "maintenance";
inline constexpr std::string_view kReasonSendErrors = "send-errors";
std::string LinkReason(std::string_view ifname);  // "link lan0"

class DemotionGroups {
 public:
  DemotionGroups();

  // Declares a group and its member interfaces (an interface may be in several).
  void AddGroup(const std::string& name, const std::vector<std::string>& interfaces);
  // Makes an interface known (members of "all" are every known interface).
  void AddInterface(std::string ifname);

  // Adjusts one group's reason. Returns the interfaces whose effective demotion
  // changed (empty if none or the group is unknown).
  std::vector<std::string> Adjust(std::string_view group, std::string_view reason, int delta,
                                  TimePoint now);
  std::vector<std::string> Set(std::string_view group, std::string_view reason, int count,
                               TimePoint now);
  // Adjusts `reason` in every explicit group that contains `ifname` (what a
  // parent link failure does). Returns the interfaces whose demotion changed.
  std::vector<std::string> AdjustGroupsOf(std::string_view ifname, std::string_view reason,
                                          int delta, TimePoint now);

  // Sum over "all" and every group containing ifname, capped at 255.
  uint8_t EffectiveDemotion(std::string_view ifname) const;
  // Groups containing ifname ("all" first).
  std::vector<std::string> GroupsOf(std::string_view ifname) const;
  const DemoteCounter* Counter(std::string_view group) const;
  const std::map<std::string, DemoteCounter, std::less<>>& Counters() const { return counters_; }
  const std::set<std::string, std::less<>>& Members(std::string_view group) const;

 private:
  std::map<std::string, DemoteCounter, std::less<>> counters_;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> members_;
};

}  // namespace hafw::carp
