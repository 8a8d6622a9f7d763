#pragma once

// Test-only helpers for the firewall's netns tests: the lab (two namespaces
// on a veth, documentation addresses), the user's `nft` in a namespace,
// rulesets compared as nftables lists them, forged CARP and sync packets
// sent from the "peer" namespace and counted where they arrive, and a
// conntrack label probe. Never touches the root namespace.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "firewall/core/firewall_plan.h"

namespace hafw::firewall::testing {

// Addresses the lab puts on the peer side (ns_a / if_a) next to the
// NetnsLab's 192.0.2.1/24: allowed ones and forbidden ones of each family.
// The firewall side (ns_b / if_b) has 192.0.2.2/24 and 2001:db8::2/64.
inline constexpr const char* kPeerV4 = "192.0.2.1";
inline constexpr const char* kStrangerV4 = "192.0.2.9";
inline constexpr const char* kFirewallV4 = "192.0.2.2";
inline constexpr const char* kPeerV6 = "2001:db8::1";
inline constexpr const char* kStrangerV6 = "2001:db8::9";
inline constexpr const char* kFirewallV6 = "2001:db8::2";
inline constexpr const char* kPeerLinkLocal = "fe80::a";
inline constexpr const char* kStrangerLinkLocal = "fe80::9";
inline constexpr uint16_t kSyncPort = 8007;

// Adds the addresses above to a NetnsLab's interfaces.
Result<void> AddLabAddresses(const std::string& ns_a, const std::string& if_a,
                             const std::string& ns_b, const std::string& if_b);

// The plan the lab tests use: CARP on `parent` from the peer's addresses
// (192.0.2.1, 2001:db8::1, fe80::a), sync on `parent` from 192.0.2.1 and
// 2001:db8::1, labels on.
FirewallPlan LabPlan(const std::string& parent);

// `nft <args...>` in `ns`; its stdout in `out`. The exit status.
int Nft(const std::string& ns, const std::vector<std::string>& args, std::string* out = nullptr);
// `nft -f <file holding text>` in `ns`.
int NftFile(const std::string& ns, const std::string& text);
std::string ListRuleset(const std::string& ns);
// A listing and our rendering made comparable: no "# progname" comments, no
// blank lines, set elements on one line, indentation and protocol names
// ("vrrp" for 112) as the renderer writes them.
std::string Normalized(const std::string& text);

// A raw protocol-112 packet (36 zero bytes: the firewall does not look inside)
// from `source` to `destination` with TTL / hop limit `ttl`, sent in `ns` out
// of `ifname`. False when it could not be sent.
bool SendCarp(const std::string& ns, const std::string& ifname, const IpAddress& source,
              const IpAddress& destination, int ttl);

// Counts protocol-112 packets that reach a raw socket in `ns` (both families;
// joined to 224.0.0.18 and ff02::12 on `ifname`).
class CarpReceiver {
 public:
  CarpReceiver(const std::string& ns, const std::string& ifname);
  ~CarpReceiver();
  CarpReceiver(const CarpReceiver&) = delete;
  CarpReceiver& operator=(const CarpReceiver&) = delete;
  bool Ok() const { return v4_ >= 0 && v6_ >= 0; }
  // Packets received since construction (reads what is queued).
  int Count();

 private:
  int v4_ = -1;
  int v6_ = -1;
  int count_ = 0;
};

// A TCP listener on `port` in `ns` (both families), closed on destruction.
class TcpListener {
 public:
  TcpListener(const std::string& ns, uint16_t port);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  bool Ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Whether a TCP connection from `source` to `destination`:`port`, opened in
// `ns`, completes within `timeout_ms`.
bool TcpConnects(const std::string& ns, const IpAddress& source, const IpAddress& destination,
                 uint16_t port, int timeout_ms);

// One UDP datagram from `source`:`sport` to `destination`:9999 sent in `ns`,
// so the receiving namespace's conntrack gets a new entry.
bool SendUdp(const std::string& ns, const IpAddress& source, uint16_t sport,
             const IpAddress& destination);
// In `ns`, sets conntrack label bit `bit` on the UDP entry from
// `source`:`sport` to `destination`:9999 through ctnetlink: 0 on success,
// else the errno (ENOSPC when the entry has no labels extension).
int SetConntrackLabel(const std::string& ns, const IpAddress& source, uint16_t sport,
                      const IpAddress& destination, int bit);

// In `ns`, creates through ctnetlink (as state sync installs a peer's flow)
// a UDP entry `source`:`sport` -> `destination`:9999 with label bit `bit`,
// then reads it back: whether it carries the label; nullopt when the create
// or the read failed. (The kernel accepts the labels silently when the entry
// cannot hold them.)
std::optional<bool> CreateLabelledEntry(const std::string& ns, const IpAddress& source,
                                        uint16_t sport, const IpAddress& destination, int bit);

}  // namespace hafw::firewall::testing
