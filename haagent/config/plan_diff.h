#pragma once

// What changes between two plans of a node: the value a reload (SIGHUP) acts
// on. Pure: two NodePlans in, a PlanDiff out. Every NodePlan field is covered,
// and each change says whether it applies to running objects in place or
// needs its vhid or the sync link restarted. Order-only changes (vhids listed
// in another order in the file) are not changes.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "haagent/config/node_plan.h"

namespace hafw::agent {

// A vhid's identity on a node: its local interface and number.
struct VhidKey {
  std::string interface;
  uint8_t vhid = 0;
  friend auto operator<=>(const VhidKey&, const VhidKey&) = default;
};

enum class VhidField : uint8_t {
  kAdvbase,
  kAdvskew,
  kPreempt,
  kVips,
  kPassphrase,
  kUnicastPeerV4,
  kUnicastPeerV6,
  kMasterDown,
  kDemoteRaisesAdvskew,
  kVmac,
  kGroups,
};
inline constexpr size_t kVhidFieldCount = 11;
std::string_view VhidFieldName(VhidField field);  // "advbase", "unicast_peer_v4", ...

// Timing, preempt, peers and groups change what a running engine advertises
// or counts, so they apply in place. The VIPs and the passphrase make the
// advertisement's HMAC, which an engine computes once, and a virtual MAC is a
// macvlan made at start: those restart the vhid (bow-out, then INIT).
bool AppliesInPlace(VhidField field);

struct VhidChange {
  VhidKey key;
  std::vector<VhidField> fields;  // in enum order, never empty
  bool RestartsVhid() const;
  friend bool operator==(const VhidChange&, const VhidChange&) = default;
};

struct GroupChange {
  std::string name;
  std::vector<std::string> added;    // member interfaces (local names), new order
  std::vector<std::string> removed;  // old order
  friend bool operator==(const GroupChange&, const GroupChange&) = default;
};

enum class SyncField : uint8_t { kInterface, kPort, kLocalAddress, kPeers, kKey };
inline constexpr size_t kSyncFieldCount = 5;
std::string_view SyncFieldName(SyncField field);  // "interface", "local_address", ...
// A peer list changes in place; a new interface, port, address or key needs
// the sync link set up again.
bool AppliesInPlace(SyncField field);

enum class HookField : uint8_t { kMaster, kBackup, kInit, kTimeout };
inline constexpr size_t kHookFieldCount = 4;
std::string_view HookFieldName(HookField field);  // "master", ..., "timeout_seconds"

struct PlanDiff {
  bool node_changed = false;              // the plans are of different nodes
  std::vector<VhidKey> added_vhids;       // new plan order
  std::vector<VhidKey> removed_vhids;     // old plan order
  std::vector<VhidChange> changed_vhids;  // new plan order
  std::vector<std::string> added_groups;
  std::vector<std::string> removed_groups;
  std::vector<GroupChange> changed_groups;  // membership changed
  bool sync_added = false;
  bool sync_removed = false;
  std::vector<SyncField> sync_fields;  // when both plans have sync; enum order
  std::vector<HookField> hook_fields;  // enum order

  bool Empty() const;
  // The running agent could take every change without a restart of ha-agent:
  // anything but a plan of another node (vhids and the sync link can be
  // started, stopped or restarted one by one).
  bool ApplicableLive() const { return !node_changed; }
  // Applicable live, and no vhid or sync link starts, stops or restarts.
  bool InPlace() const;
  // The vhids a live reload stops and starts again (changed ones only).
  std::vector<VhidKey> RestartedVhids() const;
  bool RestartsSyncLink() const;

  friend bool operator==(const PlanDiff&, const PlanDiff&) = default;
};

PlanDiff DiffPlans(const NodePlan& old_plan, const NodePlan& new_plan);

// One line for logs: "vhid 1 on lan0: advskew, vips (restarts the vhid);
// vhid 3 on dmz0 added; group edge: +dmz0; hooks: master", or "no change".
std::string DescribeDiff(const PlanDiff& diff);

}  // namespace hafw::agent
