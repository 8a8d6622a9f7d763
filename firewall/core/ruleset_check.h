#pragma once

// The start-up check of the user's ruleset, pure part: what the probe
// (firewall/nft/ruleset_probe.h) found, and the warnings that name the exact
// rules to add. docs/firewall.md, "Warning at start-up", has the design.

#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "firewall/core/firewall_plan.h"
#include "firewall/core/user_rules.h"

namespace hafw::firewall {

// One synthetic exchange through a copy of the user's ruleset. `traffic` is
// kCarpIn, kCarpOut, kSyncIn (a peer connects to us) or kSyncOut (we connect
// to a peer); a TCP exchange needs its reply direction too.
struct ProbeResult {
  UserTraffic traffic;
  std::string interface;
  IpFamily family;
  bool passed = false;
};

// The accept rules (of UserAcceptRules) that a failed probe calls for.
std::vector<UserTraffic> RulesNeededFor(UserTraffic probed);

// One warning per failed probe: what is dropped, and the rules to add with
// their hook. Nothing when every probe passed.
std::vector<std::string> ProbeWarnings(const std::vector<ProbeResult>& results,
                                       const FirewallPlan& plan);

// `nft list ruleset` output without the block of `table inet <name>` (its
// "table inet <name> {" line, possibly followed by a "# progname" comment,
// through the closing "}" at the start of a line).
std::string RemoveTableFromListing(std::string_view listing, std::string_view table_name);

}  // namespace hafw::firewall
