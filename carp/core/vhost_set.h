#pragma once

// All vhids of one node: demultiplexes received packets by (interface, vhid),
// owns the demotion groups, feeds demotion changes to the affected engines and
// merges their deadlines. Still sans-I/O: the carp/io adapter and the simulator
// both drive it.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "carp/core/demotion_groups.h"
#include "carp/core/drop_reason.h"
#include "carp/core/vhost_engine.h"
#include "common/result.h"

namespace hafw::carp {

// An action together with the vhost that asked for it.
struct VhostAction {
  std::string interface;
  uint8_t vhid = 0;
  Action action;
};
using VhostActions = std::vector<VhostAction>;

// IP envelope of a received CARP packet, filled in by the adapter.
struct PacketInfo {
  IpFamily family = IpFamily::kV4;
  IpAddress source;
  IpAddress destination;
  uint8_t ttl = 0;
  bool from_local_address = false;
};

class VhostSet {
 public:
  explicit VhostSet(DemotionGroups groups);

  // Adds a vhid on a parent interface. Errors: the vhid exists on that interface.
  Result<void> Add(const std::string& interface, const VhostConfig& config, uint64_t cookie);

  VhostActions Start(TimePoint now);  // every vhid
  VhostActions Stop(TimePoint now);   // every vhid: bow-outs, VIPs removed
  // Decodes, checks and dispatches one packet received on `interface`; decode
  // failures and unknown vhids are counted per interface.
  VhostActions OnPacket(TimePoint now, std::string_view interface, const PacketInfo& info,
                        std::span<const uint8_t> carp_bytes);
  VhostActions OnTimer(TimePoint now);
  // Parent link change: vhids on it go INIT / BACKUP, and every group containing
  // it is demoted (+1, reason "link <ifname>") or undemoted.
  VhostActions OnLinkChange(TimePoint now, std::string_view interface, bool up);
  // A demotion source (admin, sync, maintenance) adjusts a group's reason.
  VhostActions AdjustDemotion(TimePoint now, std::string_view group, std::string_view reason,
                              int delta);
  VhostActions SetDemotion(TimePoint now, std::string_view group, std::string_view reason,
                           int count);

  std::optional<TimePoint> NextDeadline() const;

  const DemotionGroups& Groups() const { return groups_; }
  const VhostEngine* Find(std::string_view interface, uint8_t vhid) const;
  // (interface, vhid) -> engine, in order.
  const std::map<std::pair<std::string, uint8_t>, VhostEngine, std::less<>>& Engines() const {
    return engines_;
  }
  // Drops that cannot be attributed to a vhid (short, bad version/checksum, unknown vhid).
  const std::map<std::string, DropCounters, std::less<>>& InterfaceDrops() const {
    return interface_drops_;
  }

 private:
  // What OnPacket needs per interface, found by string_view: the packet path
  // builds no key and allocates nothing.
  struct InterfaceEngines {
    DropCounters* drops = nullptr;                        // in interface_drops_
    std::vector<std::pair<uint8_t, VhostEngine*>> vhids;  // into engines_ (stable nodes)
  };
  VhostEngine* FindEngine(std::string_view interface, uint8_t vhid) const;

  DemotionGroups groups_;
  std::map<std::pair<std::string, uint8_t>, VhostEngine, std::less<>> engines_;
  std::map<std::string, DropCounters, std::less<>> interface_drops_;
  std::map<std::string, bool, std::less<>> link_up_;
  std::map<std::string, InterfaceEngines, std::less<>> by_interface_;
};

}  // namespace hafw::carp
