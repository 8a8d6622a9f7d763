#pragma once

// The start-up check of the user's ruleset, evaluated rather than guessed: a
// copy of it is loaded into a scratch "firewall" namespace whose interfaces
// carry the real names, each wired by a veth to a scratch "peer" namespace,
// and synthetic CARP and sync traffic is sent through it both ways. What
// reaches its socket passed. Nothing touches the agent's own namespace; the
// scratch namespaces vanish with the call. docs/firewall.md has the design
// and its limits (a snapshot of the rules, not of routes or sockets).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "firewall/core/ruleset_check.h"

namespace hafw::firewall::nft {

// One interface as the user's rules know it, with this node's address on it
// and a peer's, of one family. For IPv6 CARP, link-local addresses (that is
// what CARP sends from).
struct ProbeLink {
  std::string interface;
  IpAddress local;
  IpAddress peer;
};

struct ProbeSetup {
  std::vector<ProbeLink> carp;    // a parent per family to check
  std::optional<ProbeLink> sync;  // the sync link
  uint16_t sync_port = 0;
  // How long one exchange may take before it counts as dropped.
  std::chrono::milliseconds wait{300};
};

// Every probe's outcome; an Error when the copy could not be evaluated (it
// does not load in the scratch namespace: nftables' message says why).
Result<std::vector<ProbeResult>> ProbeRuleset(std::string_view ruleset, const ProbeSetup& setup);

}  // namespace hafw::firewall::nft
