#include "carp/core/demotion_groups.h"

#include <algorithm>
#include <utility>

namespace hafw::carp {

std::string LinkReason(std::string_view ifname) {
  std::string reason = "link ";
  reason.append(ifname);
  return reason;
}

DemotionGroups::DemotionGroups() {
  counters_.emplace(std::string(kAllGroup), DemoteCounter{});
  members_.emplace(std::string(kAllGroup), std::set<std::string, std::less<>>{});
}

void DemotionGroups::AddGroup(const std::string& name, const std::vector<std::string>& interfaces) {
  if (name != kAllGroup) {
    counters_.try_emplace(name);
    auto& members = members_[name];
    for (const auto& ifname : interfaces) members.insert(ifname);
  }
  for (const auto& ifname : interfaces) AddInterface(ifname);
}

void DemotionGroups::AddInterface(std::string ifname) {
  members_[std::string(kAllGroup)].insert(std::move(ifname));
}

namespace {

using Snapshot = std::vector<std::pair<std::string, uint8_t>>;

// Interfaces a change of these groups can affect: every known one for "all".
std::vector<std::string> Affected(const DemotionGroups& groups,
                                  const std::vector<std::string_view>& changed_groups) {
  std::set<std::string, std::less<>> result;
  for (auto group : changed_groups) {
    const auto& members = groups.Members(group);
    result.insert(members.begin(), members.end());
  }
  return {result.begin(), result.end()};
}

Snapshot Take(const DemotionGroups& groups, const std::vector<std::string>& interfaces) {
  Snapshot snapshot;
  snapshot.reserve(interfaces.size());
  for (const auto& ifname : interfaces) {
    snapshot.emplace_back(ifname, groups.EffectiveDemotion(ifname));
  }
  return snapshot;
}

std::vector<std::string> Changed(const DemotionGroups& groups, const Snapshot& before) {
  std::vector<std::string> changed;
  for (const auto& [ifname, demote] : before) {
    if (groups.EffectiveDemotion(ifname) != demote) changed.push_back(ifname);
  }
  return changed;
}

}  // namespace

std::vector<std::string> DemotionGroups::Adjust(std::string_view group, std::string_view reason,
                                                int delta, TimePoint now) {
  auto it = counters_.find(group);
  if (it == counters_.end()) return {};
  const Snapshot before = Take(*this, Affected(*this, {group}));
  it->second.Adjust(reason, delta, now);
  return Changed(*this, before);
}

std::vector<std::string> DemotionGroups::Set(std::string_view group, std::string_view reason,
                                             int count, TimePoint now) {
  auto it = counters_.find(group);
  if (it == counters_.end()) return {};
  const Snapshot before = Take(*this, Affected(*this, {group}));
  it->second.Set(reason, count, now);
  return Changed(*this, before);
}

std::vector<std::string> DemotionGroups::AdjustGroupsOf(std::string_view ifname,
                                                        std::string_view reason, int delta,
                                                        TimePoint now) {
  std::vector<std::string_view> groups;
  for (const auto& [name, members] : members_) {
    if (name != kAllGroup && members.contains(ifname)) groups.push_back(name);
  }
  if (groups.empty()) return {};
  const Snapshot before = Take(*this, Affected(*this, groups));
  for (auto name : groups) counters_.find(name)->second.Adjust(reason, delta, now);
  return Changed(*this, before);
}

uint8_t DemotionGroups::EffectiveDemotion(std::string_view ifname) const {
  // "all" applies to every interface, also one not declared yet.
  int sum = 0;
  for (const auto& [name, members] : members_) {
    if (name != kAllGroup && !members.contains(ifname)) continue;
    auto it = counters_.find(name);
    if (it != counters_.end()) sum += it->second.Total();
  }
  return static_cast<uint8_t>(std::min(sum, DemoteCounter::kMaxTotal));
}

std::vector<std::string> DemotionGroups::GroupsOf(std::string_view ifname) const {
  std::vector<std::string> groups{std::string(kAllGroup)};
  for (const auto& [name, members] : members_) {
    if (name != kAllGroup && members.contains(ifname)) groups.push_back(name);
  }
  return groups;
}

const DemoteCounter* DemotionGroups::Counter(std::string_view group) const {
  auto it = counters_.find(group);
  return it == counters_.end() ? nullptr : &it->second;
}

const std::set<std::string, std::less<>>& DemotionGroups::Members(std::string_view group) const {
  static const std::set<std::string, std::less<>> kEmpty;
  auto it = members_.find(group);
  return it == members_.end() ? kEmpty : it->second;
}

}  // namespace hafw::carp
