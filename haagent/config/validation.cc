#include "haagent/config/validation.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace hafw::agent {

bool ValidInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxInterfaceName || name == "." || name == "..") {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c > ' ' && c < 0x7f && c != '/' && c != ':'; });
}

std::string InvalidInterfaceNameMessage(std::string_view name) {
  return fmt::format("'{}' is not a valid interface name (1..15 characters, no space, '/' or ':')",
                     name);
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

void CheckSyncAddresses(const std::vector<NodeConfig>& nodes, Diagnostics& diag) {
  const NodeConfig* first = nullptr;
  for (const NodeConfig& n : nodes) {
    if (!n.sync_address) continue;
    if (first == nullptr) {
      first = &n;
      continue;
    }
    for (const NodeConfig& other : nodes) {
      if (&other == &n) break;
      if (other.sync_address == n.sync_address) {
        diag.Add(n.position, fmt::format("node '{}' has the same sync_address {} as node '{}'",
                                         n.name, n.sync_address->ToString(), other.name));
        break;
      }
    }
    if (n.sync_address->Family() != first->sync_address->Family()) {
      diag.Add(n.position, fmt::format("node '{}' has an {} sync_address but node '{}' an {} one; "
                                       "the sync link uses one family",
                                       n.name, IpFamilyName(n.sync_address->Family()), first->name,
                                       IpFamilyName(first->sync_address->Family())));
    }
  }
}

void CheckLocalNamesDistinct(const NodeConfig& node, const std::set<std::string>& used,
                             SourcePosition at, Diagnostics& diag) {
  std::map<std::string, std::string> local_to_cluster;
  for (const std::string& cluster_name : used) {
    auto it = node.interface_renames.find(cluster_name);
    const std::string& local = it == node.interface_renames.end() ? cluster_name : it->second;
    auto [seen, inserted] = local_to_cluster.emplace(local, cluster_name);
    if (!inserted) {
      diag.Add(at, fmt::format("on node '{}' interfaces '{}' and '{}' would both be '{}'",
                               node.name, seen->second, cluster_name, local));
    }
  }
}

bool CheckVhidUnique(const VhidConfig& vhid, const std::vector<VhidConfig>& earlier,
                     SourcePosition at, Diagnostics& diag) {
  bool ok = true;
  for (const VhidConfig& other : earlier) {
    if (other.vhid == vhid.vhid && other.interface == vhid.interface) {
      diag.Add(at, fmt::format("vhid {} is already used on interface '{}' (line {})", vhid.vhid,
                               vhid.interface, other.position.line));
      ok = false;
    }
  }
  return ok;
}

bool CheckVip(const IpAddress& vip, const VhidConfig& vhid, SourcePosition at, Diagnostics& diag) {
  if (vip.IsUnspecified() || vip.IsMulticast() || vip.IsLoopback()) {
    diag.Add(at, fmt::format("VIP {} must be a unicast address", vip.ToString()));
    return false;
  }
  if (std::any_of(vhid.vips.begin(), vhid.vips.end(),
                  [&](const IpPrefix& p) { return p.address == vip; })) {
    diag.Add(at, fmt::format("VIP {} is listed twice", vip.ToString()));
    return false;
  }
  return true;
}

bool CheckVipFree(const IpAddress& vip, const std::vector<VhidConfig>& earlier, SourcePosition at,
                  Diagnostics& diag) {
  bool ok = true;
  for (const VhidConfig& other : earlier) {
    for (const IpPrefix& p : other.vips) {
      if (p.address == vip) {
        diag.Add(at, fmt::format("VIP {} already belongs to vhid {} on '{}' (line {})",
                                 vip.ToString(), other.vhid, other.interface, other.position.line));
        ok = false;
      }
    }
  }
  return ok;
}

bool CheckAdvbaseZero(const VhidConfig& vhid, SourcePosition advbase_at, Diagnostics& diag) {
  if (vhid.advbase != 0) return true;
  bool ok = true;
  for (const auto& [node, skew] : vhid.advskew) {
    if (skew == 0) {
      diag.Add(advbase_at, fmt::format("vhid {}: advbase 0 needs advskew 1..254 on every node, "
                                       "but node '{}' has advskew 0",
                                       vhid.vhid, node));
      ok = false;
    }
  }
  return ok;
}

bool CheckDistinctAdvskew(const VhidConfig& vhid, const std::vector<NodeConfig>& nodes,
                          Diagnostics& diag) {
  bool ok = true;
  std::map<uint8_t, std::string> by_skew;
  for (const NodeConfig& node : nodes) {
    auto skew_of = vhid.advskew.find(node.name);
    uint8_t skew = skew_of == vhid.advskew.end() ? 0 : skew_of->second;
    auto [it, inserted] = by_skew.emplace(skew, node.name);
    if (!inserted) {
      diag.Add(vhid.position, fmt::format("vhid {}: nodes '{}' and '{}' both have advskew {}; CARP "
                                          "has no tie-break, give every node a different advskew",
                                          vhid.vhid, it->second, node.name, skew));
      ok = false;
    }
  }
  return ok;
}

bool CheckUnicastPeer(const IpAddress& peer, const VhidConfig& vhid, std::string_view node,
                      const UnicastPeers& peers, SourcePosition at, Diagnostics& diag) {
  if (peer.IsUnspecified() || peer.IsMulticast() || peer.IsLoopback()) {
    diag.Add(at, fmt::format("unicast peer {} must be a unicast address", peer.ToString()));
    return false;
  }
  if (std::any_of(vhid.vips.begin(), vhid.vips.end(),
                  [&](const IpPrefix& p) { return p.address == peer; })) {
    diag.Add(at, fmt::format("unicast peer {} is one of the vhid's own VIPs; use the peer node's "
                             "real address",
                             peer.ToString()));
    return false;
  }
  bool has_family = std::any_of(vhid.vips.begin(), vhid.vips.end(), [&](const IpPrefix& p) {
    return p.address.Family() == peer.Family();
  });
  if (!has_family) {
    diag.Add(at, fmt::format("unicast peer {} is {} but vhid {} has no {} VIP", peer.ToString(),
                             IpFamilyName(peer.Family()), vhid.vhid, IpFamilyName(peer.Family())));
    return false;
  }
  if (peer.IsV4() ? peers.v4.has_value() : peers.v6.has_value()) {
    diag.Add(at, fmt::format("node '{}' has two {} unicast peers; CARP sends to one", node,
                             IpFamilyName(peer.Family())));
    return false;
  }
  return true;
}

bool CheckUnicastCoverage(const VhidConfig& vhid, const std::vector<NodeConfig>& nodes,
                          SourcePosition at, Diagnostics& diag) {
  if (vhid.unicast_peers.empty()) return true;
  for (const NodeConfig& node : nodes) {
    if (vhid.unicast_peers.count(node.name) == 0) {
      diag.Add(at, fmt::format("unicast_peer is set for some nodes but not for '{}'; set it for "
                               "every node or for none",
                               node.name));
      return false;
    }
  }
  return true;
}

}  // namespace hafw::agent
