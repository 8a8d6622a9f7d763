#pragma once

// The cluster file (docs/configuration.md) as a value: one TOML file shared by
// every node, parsed and validated whole by LoadClusterConfig (loader.h). What
// one node runs is its NodePlan (node_plan.h).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carp/core/vhost_engine.h"
#include "common/ip_address.h"

namespace hafw::agent {

inline constexpr std::string_view kDefaultConfigPath = "/etc/hafw/hafw.toml";

// The TOML spelling of carp's master-down rule: "classic", "openbsd-2025".
std::string_view MasterDownRuleName(carp::MasterDownRule rule);
std::optional<carp::MasterDownRule> ParseMasterDownRule(std::string_view text);

// Where a value sits in the cluster file, for messages after validation
// (e.g. a runtime that cannot find an interface points at its line).
struct SourcePosition {
  uint32_t line = 0;
  uint32_t column = 0;
  friend bool operator==(const SourcePosition&, const SourcePosition&) = default;
};

struct UnicastPeers {
  std::optional<IpAddress> v4;  // adverts go there instead of 224.0.0.18
  std::optional<IpAddress> v6;  // instead of ff02::12
  friend bool operator==(const UnicastPeers&, const UnicastPeers&) = default;
};

struct NodeConfig {
  std::string name;
  std::optional<IpAddress> sync_address;  // set whenever [sync] is
  // Cluster interface name -> this node's local name ([[node]] interfaces).
  std::map<std::string, std::string> interface_renames;
  SourcePosition position;
  friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

struct VhidConfig {
  uint8_t vhid = 0;                 // 1..255
  std::string interface;            // cluster name; a node may rename it
  std::vector<IpPrefix> vips;       // file order; identical on every node (the HMAC covers them)
  std::string passphrase_file;      // absolute path
  std::vector<uint8_t> passphrase;  // 1..19 bytes, newline stripped
  uint8_t advbase = 1;
  std::map<std::string, uint8_t> advskew;  // effective, one entry per node
  bool preempt = false;
  carp::MasterDownRule master_down = carp::MasterDownRule::kClassic;
  bool demote_raises_advskew = false;
  bool vmac = false;
  std::map<std::string, UnicastPeers> unicast_peers;  // by node; empty: multicast
  SourcePosition position;
  friend bool operator==(const VhidConfig&, const VhidConfig&) = default;
};

struct InterfaceGroup {
  std::string name;
  std::vector<std::string> interfaces;  // cluster names in ClusterConfig, local in NodePlan
  friend bool operator==(const InterfaceGroup&, const InterfaceGroup&) = default;
};

struct SyncConfig {
  std::string interface;  // cluster name
  uint16_t port = 7788;
  std::string key_file;      // absolute path
  std::vector<uint8_t> key;  // the file's one line, newline stripped, >= 32 bytes
  friend bool operator==(const SyncConfig&, const SyncConfig&) = default;
};

struct HookConfig {
  // Absolute paths of executables; empty when not configured.
  std::string master;
  std::string backup;
  std::string init;
  uint32_t timeout_seconds = 30;  // a hook still running then is killed
  friend bool operator==(const HookConfig&, const HookConfig&) = default;
};

struct ClusterConfig {
  std::string path;                    // as given to LoadClusterConfig
  std::vector<NodeConfig> nodes;       // file order
  std::vector<VhidConfig> vhids;       // file order
  std::vector<InterfaceGroup> groups;  // sorted by name
  std::optional<SyncConfig> sync;      // nullopt: no [sync] table, no state sync
  HookConfig hooks;
  friend bool operator==(const ClusterConfig&, const ClusterConfig&) = default;
};

}  // namespace hafw::agent
