#include "haagent/config/plan_diff.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace hafw::agent {
namespace {

template <typename Field>
void AddIf(bool changed, Field field, std::vector<Field>& out) {
  if (changed) out.push_back(field);
}

// The structured bindings fail to compile when VhidPlan gains a member, so a
// new field cannot be forgotten here.
std::vector<VhidField> VhidFields(const VhidPlan& a, const VhidPlan& b) {
  const auto& [interface, vhid, advbase, advskew, preempt, vips, passphrase, peer_v4, peer_v6,
               master_down, demote_raises_advskew, vmac, groups] = a;
  std::vector<VhidField> out;
  // interface and vhid are the key: a vhid that moves is removed and added.
  (void)interface;
  (void)vhid;
  AddIf(advbase != b.advbase, VhidField::kAdvbase, out);
  AddIf(advskew != b.advskew, VhidField::kAdvskew, out);
  AddIf(preempt != b.preempt, VhidField::kPreempt, out);
  AddIf(vips != b.vips, VhidField::kVips, out);
  AddIf(passphrase != b.passphrase, VhidField::kPassphrase, out);
  AddIf(peer_v4 != b.unicast_peer_v4, VhidField::kUnicastPeerV4, out);
  AddIf(peer_v6 != b.unicast_peer_v6, VhidField::kUnicastPeerV6, out);
  AddIf(master_down != b.master_down, VhidField::kMasterDown, out);
  AddIf(demote_raises_advskew != b.demote_raises_advskew, VhidField::kDemoteRaisesAdvskew, out);
  AddIf(vmac != b.vmac, VhidField::kVmac, out);
  AddIf(groups != b.groups, VhidField::kGroups, out);
  return out;
}

std::vector<SyncField> SyncFields(const SyncPlan& a, const SyncPlan& b) {
  const auto& [interface, port, local_address, peers, key] = a;
  std::vector<SyncField> out;
  AddIf(interface != b.interface, SyncField::kInterface, out);
  AddIf(port != b.port, SyncField::kPort, out);
  AddIf(local_address != b.local_address, SyncField::kLocalAddress, out);
  AddIf(peers != b.peers, SyncField::kPeers, out);
  AddIf(key != b.key, SyncField::kKey, out);
  return out;
}

std::vector<HookField> HookFields(const HookConfig& a, const HookConfig& b) {
  const auto& [master, backup, init, timeout_seconds] = a;
  std::vector<HookField> out;
  AddIf(master != b.master, HookField::kMaster, out);
  AddIf(backup != b.backup, HookField::kBackup, out);
  AddIf(init != b.init, HookField::kInit, out);
  AddIf(timeout_seconds != b.timeout_seconds, HookField::kTimeout, out);
  return out;
}

void DiffVhids(const std::vector<VhidPlan>& old_vhids, const std::vector<VhidPlan>& new_vhids,
               PlanDiff& diff) {
  std::map<VhidKey, const VhidPlan*> old_by_key;
  for (const VhidPlan& v : old_vhids) old_by_key[{v.interface, v.vhid}] = &v;
  std::set<VhidKey> new_keys;
  for (const VhidPlan& v : new_vhids) {
    VhidKey key{v.interface, v.vhid};
    new_keys.insert(key);
    auto old = old_by_key.find(key);
    if (old == old_by_key.end()) {
      diff.added_vhids.push_back(key);
    } else if (auto fields = VhidFields(*old->second, v); !fields.empty()) {
      diff.changed_vhids.push_back({key, std::move(fields)});
    }
  }
  for (const VhidPlan& v : old_vhids) {
    VhidKey key{v.interface, v.vhid};
    if (new_keys.count(key) == 0) diff.removed_vhids.push_back(key);
  }
}

std::vector<std::string> Missing(const std::vector<std::string>& from,
                                 const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const std::string& s : from) {
    if (std::find(in.begin(), in.end(), s) == in.end()) out.push_back(s);
  }
  return out;
}

void DiffGroups(const std::vector<InterfaceGroup>& old_groups,
                const std::vector<InterfaceGroup>& new_groups, PlanDiff& diff) {
  std::map<std::string, const InterfaceGroup*> old_by_name;
  for (const InterfaceGroup& g : old_groups) old_by_name[g.name] = &g;
  std::set<std::string> new_names;
  for (const InterfaceGroup& g : new_groups) {
    new_names.insert(g.name);
    auto old = old_by_name.find(g.name);
    if (old == old_by_name.end()) {
      diff.added_groups.push_back(g.name);
      continue;
    }
    GroupChange change{g.name, Missing(g.interfaces, old->second->interfaces),
                       Missing(old->second->interfaces, g.interfaces)};
    if (!change.added.empty() || !change.removed.empty()) {
      diff.changed_groups.push_back(std::move(change));
    }
  }
  for (const InterfaceGroup& g : old_groups) {
    if (new_names.count(g.name) == 0) diff.removed_groups.push_back(g.name);
  }
}

std::string KeyText(const VhidKey& key) {
  return fmt::format("vhid {} on {}", key.vhid, key.interface);
}

template <typename Field, typename NameOf>
std::string FieldList(const std::vector<Field>& fields, NameOf name_of) {
  std::string out;
  for (Field f : fields) out += (out.empty() ? "" : ", ") + std::string(name_of(f));
  return out;
}

}  // namespace

std::string_view VhidFieldName(VhidField field) {
  switch (field) {
    case VhidField::kAdvbase:
      return "advbase";
    case VhidField::kAdvskew:
      return "advskew";
    case VhidField::kPreempt:
      return "preempt";
    case VhidField::kVips:
      return "vips";
    case VhidField::kPassphrase:
      return "passphrase";
    case VhidField::kUnicastPeerV4:
      return "unicast_peer_v4";
    case VhidField::kUnicastPeerV6:
      return "unicast_peer_v6";
    case VhidField::kMasterDown:
      return "master_down";
    case VhidField::kDemoteRaisesAdvskew:
      return "demote_raises_advskew";
    case VhidField::kVmac:
      return "vmac";
    case VhidField::kGroups:
      return "groups";
  }
  return "?";
}

bool AppliesInPlace(VhidField field) {
  switch (field) {
    case VhidField::kVips:
    case VhidField::kPassphrase:
    case VhidField::kVmac:
      return false;
    default:
      return true;
  }
}

bool VhidChange::RestartsVhid() const {
  return std::any_of(fields.begin(), fields.end(), [](VhidField f) { return !AppliesInPlace(f); });
}

std::string_view SyncFieldName(SyncField field) {
  switch (field) {
    case SyncField::kInterface:
      return "interface";
    case SyncField::kPort:
      return "port";
    case SyncField::kLocalAddress:
      return "local_address";
    case SyncField::kPeers:
      return "peers";
    case SyncField::kKey:
      return "key";
  }
  return "?";
}

bool AppliesInPlace(SyncField field) { return field == SyncField::kPeers; }

std::string_view HookFieldName(HookField field) {
  switch (field) {
    case HookField::kMaster:
      return "master";
    case HookField::kBackup:
      return "backup";
    case HookField::kInit:
      return "init";
    case HookField::kTimeout:
      return "timeout_seconds";
  }
  return "?";
}

bool PlanDiff::Empty() const {
  return !node_changed && added_vhids.empty() && removed_vhids.empty() && changed_vhids.empty() &&
         added_groups.empty() && removed_groups.empty() && changed_groups.empty() && !sync_added &&
         !sync_removed && sync_fields.empty() && hook_fields.empty();
}

std::vector<VhidKey> PlanDiff::RestartedVhids() const {
  std::vector<VhidKey> out;
  for (const VhidChange& c : changed_vhids) {
    if (c.RestartsVhid()) out.push_back(c.key);
  }
  return out;
}

bool PlanDiff::RestartsSyncLink() const {
  return std::any_of(sync_fields.begin(), sync_fields.end(),
                     [](SyncField f) { return !AppliesInPlace(f); });
}

bool PlanDiff::InPlace() const {
  return ApplicableLive() && added_vhids.empty() && removed_vhids.empty() &&
         RestartedVhids().empty() && !sync_added && !sync_removed && !RestartsSyncLink();
}

PlanDiff DiffPlans(const NodePlan& old_plan, const NodePlan& new_plan) {
  const auto& [node, vhids, groups, sync, hooks] = old_plan;
  PlanDiff diff;
  diff.node_changed = node != new_plan.node;
  DiffVhids(vhids, new_plan.vhids, diff);
  DiffGroups(groups, new_plan.groups, diff);
  diff.sync_added = !sync && new_plan.sync;
  diff.sync_removed = sync && !new_plan.sync;
  if (sync && new_plan.sync) diff.sync_fields = SyncFields(*sync, *new_plan.sync);
  diff.hook_fields = HookFields(hooks, new_plan.hooks);
  return diff;
}

std::string DescribeDiff(const PlanDiff& diff) {
  if (diff.Empty()) return "no change";
  std::vector<std::string> parts;
  if (diff.node_changed) parts.emplace_back("another node");
  for (const VhidKey& k : diff.added_vhids) parts.push_back(KeyText(k) + " added");
  for (const VhidKey& k : diff.removed_vhids) parts.push_back(KeyText(k) + " removed");
  for (const VhidChange& c : diff.changed_vhids) {
    parts.push_back(fmt::format("{}: {}{}", KeyText(c.key), FieldList(c.fields, VhidFieldName),
                                c.RestartsVhid() ? " (restarts the vhid)" : ""));
  }
  for (const std::string& g : diff.added_groups) parts.push_back("group " + g + " added");
  for (const std::string& g : diff.removed_groups) parts.push_back("group " + g + " removed");
  for (const GroupChange& g : diff.changed_groups) {
    std::string members;
    for (const std::string& i : g.added) members += " +" + i;
    for (const std::string& i : g.removed) members += " -" + i;
    parts.push_back(fmt::format("group {}:{}", g.name, members));
  }
  if (diff.sync_added) parts.emplace_back("sync added");
  if (diff.sync_removed) parts.emplace_back("sync removed");
  if (!diff.sync_fields.empty()) {
    parts.push_back("sync: " + FieldList(diff.sync_fields, SyncFieldName));
  }
  if (!diff.hook_fields.empty()) {
    parts.push_back("hooks: " + FieldList(diff.hook_fields, HookFieldName));
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace hafw::agent
