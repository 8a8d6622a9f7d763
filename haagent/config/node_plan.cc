#include "haagent/config/node_plan.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace hafw::agent {
namespace {

std::string LocalName(const NodeConfig& node, const std::string& cluster_name) {
  auto it = node.interface_renames.find(cluster_name);
  return it == node.interface_renames.end() ? cluster_name : it->second;
}

VhidPlan PlanVhid(const ClusterConfig& config, const NodeConfig& node, const VhidConfig& v) {
  VhidPlan p;
  p.interface = LocalName(node, v.interface);
  p.vhid = v.vhid;
  p.advbase = v.advbase;
  p.advskew = v.advskew.at(node.name);
  p.preempt = v.preempt;
  p.vips = v.vips;
  p.passphrase = v.passphrase;
  if (auto it = v.unicast_peers.find(node.name); it != v.unicast_peers.end()) {
    p.unicast_peer_v4 = it->second.v4;
    p.unicast_peer_v6 = it->second.v6;
  }
  p.master_down = v.master_down;
  p.demote_raises_advskew = v.demote_raises_advskew;
  p.vmac = v.vmac;
  for (const InterfaceGroup& g : config.groups) {
    if (std::find(g.interfaces.begin(), g.interfaces.end(), v.interface) != g.interfaces.end()) {
      p.groups.push_back(g.name);
    }
  }
  return p;
}

}  // namespace

Result<NodePlan> PlanForNode(const ClusterConfig& config, std::string_view node_name) {
  auto node = std::find_if(config.nodes.begin(), config.nodes.end(),
                           [&](const NodeConfig& n) { return n.name == node_name; });
  if (node == config.nodes.end()) {
    std::string names;
    for (const NodeConfig& n : config.nodes) names += (names.empty() ? "" : ", ") + n.name;
    return MakeError(ErrorCode::kConfig,
                     fmt::format("{}: node '{}' is not defined in the cluster file (nodes: {})",
                                 config.path, node_name, names));
  }
  NodePlan plan;
  plan.node = node->name;
  for (const InterfaceGroup& g : config.groups) {
    InterfaceGroup local{g.name, {}};
    for (const std::string& i : g.interfaces) local.interfaces.push_back(LocalName(*node, i));
    plan.groups.push_back(std::move(local));
  }
  for (const VhidConfig& v : config.vhids) plan.vhids.push_back(PlanVhid(config, *node, v));
  if (config.sync) {
    SyncPlan s;
    s.interface = LocalName(*node, config.sync->interface);
    s.port = config.sync->port;
    s.local_address = *node->sync_address;
    for (const NodeConfig& other : config.nodes) {
      if (other.name != node->name) s.peers.push_back({other.name, *other.sync_address});
    }
    s.key = config.sync->key;
    plan.sync = std::move(s);
  }
  plan.hooks = config.hooks;
  return plan;
}

}  // namespace hafw::agent
