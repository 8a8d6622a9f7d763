#pragma once

// The accept rules the user's own ruleset needs for the agent's traffic.
// nftables runs every base chain of a hook, and a drop in any of them is
// final: an accept in the agent's table cannot let CARP or the sync link
// through the user's chains. `hactl nft-rules` prints these rules; the
// start-up check (docs/firewall.md) probes the live ruleset for them.

#include <string>
#include <string_view>
#include <vector>

#include "firewall/core/firewall_plan.h"

namespace hafw::firewall {

enum class UserHook : uint8_t { kInput, kOutput };
std::string_view UserHookName(UserHook hook);  // "input" / "output"

// What the rule lets through, for the probe and the messages.
enum class UserTraffic : uint8_t {
  kCarpIn,        // advertisements from the peers on a parent
  kCarpOut,       // our own advertisements
  kSyncIn,        // a peer connecting to our sync port
  kSyncReplyIn,   // the peer's answers on connections we opened
  kSyncOut,       // our connections to the peers' sync port
  kSyncReplyOut,  // our answers on connections the peers opened
};

struct UserRule {
  UserHook hook;
  UserTraffic traffic;
  std::string rule;  // one nftables rule, ending in accept, with a comment
};

// The rules a plan needs, in the order to add them (none without parents or sync).
std::vector<UserRule> UserAcceptRules(const FirewallPlan& plan);

// The rules as text for an operator: grouped by hook, with a header that says
// where they go and why.
std::string RenderUserAcceptRules(const FirewallPlan& plan);

}  // namespace hafw::firewall
