#pragma once

// What the agent (haagent/services/firewall_service) sees of its nftables
// table: apply a plan (start and reload), stop, read the drop counters, show
// a status. TableKeeper is the real one; firewall/testing has a fake.

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/time.h"
#include "firewall/core/drop_reason.h"
#include "firewall/core/firewall_plan.h"

namespace hafw::firewall {

struct TableStatus {
  std::string table_name;
  bool installed = false;   // the table is in the kernel as far as the agent knows
  bool owner_flag = false;  // it carries NFT_TABLE_F_OWNER (bound to the agent's socket)
  uint64_t applies = 0;     // transactions that put a plan in place (start, reloads)
  uint64_t restores = 0;    // re-creations after someone else changed or removed it
  uint64_t restore_failures = 0;
  uint64_t notifications_lost = 0;  // overruns of the change-notification socket
  std::optional<TimePoint> last_restore;
  std::string last_error;  // "" when the last operation succeeded
};

class FirewallTable {
 public:
  virtual ~FirewallTable() = default;
  // Puts `plan` in place as one transaction: creates the table on the first
  // call, replaces it atomically on later ones (reload). Nothing changes when
  // it fails.
  virtual Result<void> Apply(const FirewallPlan& plan) = 0;
  // Removes the table, or leaves it in place when configured to.
  virtual Result<void> Stop() = 0;
  // The drop counters as the kernel has them now.
  virtual Result<DropCounters> ReadCounters() = 0;
  virtual TableStatus Status() const = 0;
};

}  // namespace hafw::firewall
