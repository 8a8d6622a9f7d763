#pragma once

// The agent's nftables table as text, rendered deterministically from a
// FirewallPlan: what firewall/nft hands to libnftables in one transaction,
// what the golden tests pin down, and what `nft list table inet hafw` shows.
//
// Layout (docs/firewall.md explains every rule):
//   counters   one per DropReason, named as DropReasonName() says
//   sets       carp-sources-v4/-v6 (ifname . address, intervals),
//              sync-peers-v4/-v6 (addresses); only the non-empty ones
//   prerouting base chain at priority raw - 10 (-310): before conntrack
//              (-200) and every usual user chain, so our drops count first
//              and dropped packets create no conntrack entry. It jumps to:
//   carp       TTL / hop limit 255, then the allowed sources; else drop
//   sync       the peers' sync addresses; else drop
//   conntrack-labels  never jumped to: `ct label set` only makes the kernel
//              attach the labels extension to new conntrack entries
// The table never accepts on the user's behalf: its base chain's policy is
// accept, which only means "not dropped here"; every other table still sees
// the packet.

#include <string>
#include <string_view>

#include "firewall/core/drop_reason.h"
#include "firewall/core/firewall_plan.h"

namespace hafw::firewall {

// nftables priority of the base chain: NF_IP_PRI_RAW (-300) minus 10.
inline constexpr int kHookPriority = -310;
inline constexpr std::string_view kBaseChain = "prerouting";
inline constexpr std::string_view kCarpChain = "carp";
inline constexpr std::string_view kSyncChain = "sync";
inline constexpr std::string_view kLabelsChain = "conntrack-labels";
// IANA protocol number of CARP (shared with VRRP; /etc/protocols says "vrrp").
inline constexpr int kCarpProtocol = 112;
// The bit `ct label set` names. The rule never runs (its chain is never
// jumped to), so which bit does not matter; 127 is hafw's own (stale bit).
inline constexpr int kLabelsRuleBit = 127;

// The table's comment marks it as the agent's: a table of our name without it
// was not made by an agent and is not taken over unless adoption is configured.
inline constexpr std::string_view kTableComment =
    "hafw: managed by ha-agent, do not edit (docs/firewall.md)";
inline constexpr std::string_view kTableCommentPrefix = "hafw: managed by ha-agent";
bool IsAgentTableComment(std::string_view comment);

struct TableOptions {
  // NFT_TABLE_F_OWNER: the table belongs to the netlink socket that creates it
  // (docs/firewall.md, "Ownership").
  bool owner = false;
  // Counts the counters start from, so a replace keeps the totals.
  DropCounters initial_counters;
};

// `table inet <name> { ... }` for a plan that ValidatePlan() accepted.
std::string RenderTable(const FirewallPlan& plan, const TableOptions& options);

// One transaction that leaves exactly RenderTable() in place: the table alone
// when none exists, else a delete of the old one first (nftables applies the
// whole buffer atomically, so no packet sees the table missing).
std::string RenderApply(const FirewallPlan& plan, const TableOptions& options, bool table_exists);

// One transaction that turns our table, as `old_plan` rendered it, into
// `new_plan` in place: every rule, chain and set is replaced, the counters
// stay (with their counts, to the packet). Same table name in both plans.
std::string RenderReload(const FirewallPlan& old_plan, const FirewallPlan& new_plan,
                         const TableOptions& options);

// `delete table inet <name>`.
std::string RenderDelete(std::string_view table_name);

}  // namespace hafw::firewall
