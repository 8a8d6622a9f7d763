#pragma once

// The cluster file's rules on single values and across fields, nodes and
// vhids, as pure functions on loaded values: no TOML here. Each check adds
// its messages to `diag` at the position it is given and returns whether the
// value passed.

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "haagent/config/cluster_config.h"
#include "haagent/config/diagnostics.h"

namespace hafw::agent {

inline constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
inline constexpr size_t kMaxName = 63;
inline constexpr size_t kMaxPassphraseBytes = 19;  // CARP key: 19 bytes + NUL (§2.1)
inline constexpr size_t kMinSyncKeyBytes = 32;

// 1..15 printable characters, no space, '/' or ':' (what Linux accepts).
bool ValidInterfaceName(std::string_view name);
std::string InvalidInterfaceNameMessage(std::string_view name);

// Node and group names: letters, digits, '-', '_', '.'; they appear in hook
// environments, logs and metrics labels.
bool ValidName(std::string_view name);

// --- nodes ---

// Sync addresses are distinct and of one family, so the peers reach each other.
void CheckSyncAddresses(const std::vector<NodeConfig>& nodes, Diagnostics& diag);

// After its renames, no two cluster interfaces of `node` share a local name.
// `used`: every cluster interface name the file uses.
void CheckLocalNamesDistinct(const NodeConfig& node, const std::set<std::string>& used,
                             SourcePosition at, Diagnostics& diag);

// --- one vhid against the others ---

// The same vhid may appear on two interfaces, not twice on one.
bool CheckVhidUnique(const VhidConfig& vhid, const std::vector<VhidConfig>& earlier,
                     SourcePosition at, Diagnostics& diag);

// A VIP is unicast and listed once in `vhid` (which holds the VIPs before it).
bool CheckVip(const IpAddress& vip, const VhidConfig& vhid, SourcePosition at, Diagnostics& diag);

// A VIP belongs to no earlier vhid (one message per vhid that has it).
bool CheckVipFree(const IpAddress& vip, const std::vector<VhidConfig>& earlier, SourcePosition at,
                  Diagnostics& diag);

// --- one vhid across its fields and the nodes ---

// advbase 0 needs advskew 1..254 on every node (the 1/256 s floor of §3.2).
bool CheckAdvbaseZero(const VhidConfig& vhid, SourcePosition advbase_at, Diagnostics& diag);

// CARP has no tie-break between equal timings (carp-protocol.md §3.4).
bool CheckDistinctAdvskew(const VhidConfig& vhid, const std::vector<NodeConfig>& nodes,
                          Diagnostics& diag);

// One unicast peer address of `node`: unicast, not one of the vhid's VIPs, of
// a family the vhid has a VIP in, and the only one of its family (`peers` holds
// the node's addresses before it).
bool CheckUnicastPeer(const IpAddress& peer, const VhidConfig& vhid, std::string_view node,
                      const UnicastPeers& peers, SourcePosition at, Diagnostics& diag);

// unicast_peer is set for every node or for none.
bool CheckUnicastCoverage(const VhidConfig& vhid, const std::vector<NodeConfig>& nodes,
                          SourcePosition at, Diagnostics& diag);

}  // namespace hafw::agent
