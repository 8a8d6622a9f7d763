#pragma once

// What the agent's own nftables table must enforce, as a plain value built by
// the agent from its cluster file (no config types here). firewall/core
// renders it (table_text.h); firewall/nft applies it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::firewall {

inline constexpr std::string_view kDefaultTableName = "hafw";

// A parent interface that carries CARP, and who may speak CARP on it.
struct CarpParent {
  std::string interface;
  // Both families. Hosts as /32 or /128 (HostPrefix), a range of extra peers
  // as a wider prefix. IPv6 advertisements leave from the sender's link-local
  // address (carp/io picks it), so IPv6 CARP needs the peers' link-local
  // addresses here, or fe80::/10 (kLinkLocalV6) to accept any on-link sender.
  // A family with no entry drops all CARP of that family on this parent.
  std::vector<IpPrefix> allowed_sources;
};

// The dedicated state-sync link: TCP to `port` on `interface` must come from
// one of `peer_addresses` (either family).
struct SyncLink {
  std::string interface;
  uint16_t port = 0;
  std::vector<IpAddress> peer_addresses;
};

struct FirewallPlan {
  // The table is always of family inet.
  std::string table_name = std::string(kDefaultTableName);
  std::vector<CarpParent> carp_parents;
  std::optional<SyncLink> sync;  // none: no sync rules (the counter stays, at 0)
  // A rule using `ct label set`, so the kernel gives new conntrack entries the
  // labels extension (state sync keeps per-flow metadata in bits 120..127).
  bool conntrack_labels = false;
};

// fe80::/10: any IPv6 link-local source (see CarpParent::allowed_sources).
IpPrefix LinkLocalV6();
// `address`/32 or /128.
IpPrefix HostPrefix(const IpAddress& address);

// Interface names as Linux accepts them (1..15 bytes), further restricted to
// what needs no escaping in nftables text: no quote, backslash, whitespace,
// control character, '/' or '*' (a trailing '*' is an nftables wildcard).
bool IsValidInterfaceName(std::string_view name);
// [a-z][a-z0-9_-]*, at most 32 bytes.
bool IsValidTableName(std::string_view name);

// The whole plan, before anything is rendered or applied: valid names, no
// parent twice, a sync link with a port, an interface and at least one peer,
// prefixes within their family's length.
Result<void> ValidatePlan(const FirewallPlan& plan);

// The allowed sources in a canonical form: host bits cleared, sorted (IPv4
// first), and every prefix covered by another one removed, so an nftables
// interval set accepts them and the rendering does not depend on input order.
std::vector<IpPrefix> NormalizeSources(std::vector<IpPrefix> sources);

}  // namespace hafw::firewall
