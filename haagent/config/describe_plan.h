#pragma once

// The readable text of a node's plan (ha-agent --check). Timings are the
// election engine's own (carp/core/election.h), so the text says exactly how
// long the engine will wait. Secrets are described by size and file, never shown.

#include <string>

#include "common/time.h"
#include "haagent/config/cluster_config.h"
#include "haagent/config/node_plan.h"

namespace hafw::agent {

// `plan` is PlanForNode(config, ...): config names the secret files.
std::string DescribePlan(const ClusterConfig& config, const NodePlan& plan);

// "1.391 s": how DescribePlan prints a duration.
std::string FormatPlanSeconds(Duration d);

}  // namespace hafw::agent
