#pragma once

// The effective plan of one node: the cluster file after the node's overrides,
// everything resolved, interfaces under their local names. The agent runs a
// NodePlan; a reload compares two of them (plan_diff.h).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carp/core/vhost_engine.h"
#include "common/ip_address.h"
#include "common/result.h"
#include "haagent/config/cluster_config.h"

namespace hafw::agent {

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
  carp::MasterDownRule master_down = carp::MasterDownRule::kClassic;
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
  std::vector<VhidPlan> vhids;         // file order (ClusterConfig::vhids[i] is vhids[i])
  std::vector<InterfaceGroup> groups;  // local interface names, sorted by name
  std::optional<SyncPlan> sync;
  HookConfig hooks;
  friend bool operator==(const NodePlan&, const NodePlan&) = default;
};

// The plan of `node`; kConfig "path: node 'x' is not defined ..." if absent.
Result<NodePlan> PlanForNode(const ClusterConfig& config, std::string_view node);

}  // namespace hafw::agent
