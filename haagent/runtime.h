#pragma once

// The ha-agent runtime: one io_context drives the CARP adapter (carp/io), the
// control socket, notify hooks, signals and systemd notifications.

#include "carp/core/demotion_groups.h"
#include "carp/core/vhost_engine.h"
#include "haagent/agent_options.h"
#include "haagent/config.h"

namespace hafw::agent {

// Runs until SIGTERM or SIGINT; returns the process exit code (0 after a clean
// stop, 1 when the node cannot start: an interface missing, socket errors...).
int RunAgent(const ClusterConfig& config, const NodePlan& plan, const AgentOptions& options);

// The engine configuration of one planned vhid.
carp::VhostConfig ToVhostConfig(const VhidPlan& vhid);
// The node's demotion groups; every parent interface is known to group "all".
carp::DemotionGroups ToDemotionGroups(const NodePlan& plan);

// How much `hactl maintenance on` demotes group "all": more than any link or
// sync demotion, so a peer in maintenance never wins against a healthy node.
inline constexpr int kMaintenanceDemotion = 128;

}  // namespace hafw::agent
