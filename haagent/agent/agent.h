#pragma once

// The ha-agent process: one io_context runs every service (services/service.h),
// the control socket, notify hooks, signals and systemd notifications.
//
// Start: the services are built (carp first: the others demote through it),
// then the control socket is bound, then the services start in order:
//   maintenance  (restores a saved maintenance demotion, so vhids start demoted)
//   carp         (sockets, engines)
// (state sync will start between the two: its bulk-sync demotion must be
// raised before CARP may elect). READY=1 goes to systemd after the last one.
// Stop (SIGTERM, SIGINT): services stop in reverse order (CARP first: bow-outs,
// VIPs removed), the control socket closes, and the INIT hooks of the stop run
// to completion (bounded by the hook timeout) before the process exits.
// SIGHUP: the cluster file is loaded and diffed against the running plan
// (config/plan_diff.h); nothing is applied live yet.

#include "haagent/agent/agent_options.h"
#include "haagent/config/cluster_config.h"
#include "haagent/config/node_plan.h"

namespace hafw::agent {

// Runs until SIGTERM or SIGINT; returns the process exit code (0 after a clean
// stop, 1 when the node cannot start: an interface missing, socket errors...).
int RunAgent(const ClusterConfig& config, const NodePlan& plan, const AgentOptions& options);

}  // namespace hafw::agent
