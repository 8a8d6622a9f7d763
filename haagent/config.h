#pragma once

// The cluster file (docs/configuration.md): one TOML file shared by every node.
// LoadClusterConfig parses and validates the whole file, reads the secrets it
// names, and only then returns an immutable ClusterConfig. PlanForNode derives
// what one node runs after its overrides. Errors are "file:line:col: message"
// lines (several joined by '\n') in an Error with code kConfig.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::agent {

inline constexpr std::string_view kDefaultConfigPath = "/etc/hafw/hafw.toml";

// How long a BACKUP waits for a silent master (carp-protocol.md §3.2); maps
// 1:1 onto hafw::carp::MasterDownRule.
enum class MasterDownRule : uint8_t {
  kClassic,      // "classic": 3 x advbase + advskew/256
  kOpenBsd2025,  // "openbsd-2025": 3 x (advbase + advskew/256)
};
std::string_view MasterDownRuleName(MasterDownRule rule);  // the TOML spelling

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
  MasterDownRule master_down = MasterDownRule::kClassic;
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

// --- The effective plan of one node: everything resolved, local names. ---

struct VhidPlan {
  std::string interface;  // local name (after the node's renames)
  uint8_t vhid = 0;
  uint8_t advbase = 1;
  uint8_t advskew = 0;
  bool preempt = false;
  std::vector<IpPrefix> vips;
  std::vector<uint8_t> passphrase;
  std::optional<IpAddress> unicast_peer_v4;
  std::optional<IpAddress> unicast_peer_v6;
  MasterDownRule master_down = MasterDownRule::kClassic;
  bool demote_raises_advskew = false;
  bool vmac = false;
  std::vector<std::string> groups;  // demotion groups the interface belongs to
  friend bool operator==(const VhidPlan&, const VhidPlan&) = default;
};

struct SyncPeer {
  std::string node;
  IpAddress address;
  friend bool operator==(const SyncPeer&, const SyncPeer&) = default;
};

struct SyncPlan {
  std::string interface;  // local name
  uint16_t port = 7788;
  IpAddress local_address;
  std::vector<SyncPeer> peers;  // every other node, file order
  std::vector<uint8_t> key;
  friend bool operator==(const SyncPlan&, const SyncPlan&) = default;
};

struct NodePlan {
  std::string node;
  std::vector<VhidPlan> vhids;         // file order
  std::vector<InterfaceGroup> groups;  // local interface names, sorted by name
  std::optional<SyncPlan> sync;
  HookConfig hooks;
  friend bool operator==(const NodePlan&, const NodePlan&) = default;
};

// Parses, validates and loads the secrets of the cluster file at `path`.
// Relative file names inside resolve against the file's directory.
Result<ClusterConfig> LoadClusterConfig(const std::string& path);

// The plan of `node`; kConfig "path: node 'x' is not defined ..." if absent.
Result<NodePlan> PlanForNode(const ClusterConfig& config, std::string_view node);

// Readable multi-line text of a plan (ha-agent --check); secrets are not shown.
std::string DescribePlan(const ClusterConfig& config, const NodePlan& plan);

}  // namespace hafw::agent
