#pragma once

// From a node's plan to what the election core runs: each VhidPlan's engine
// configuration and the node's demotion groups.

#include "carp/core/demotion_groups.h"
#include "carp/core/vhost_engine.h"
#include "haagent/config/node_plan.h"

namespace hafw::agent {

// The engine configuration of one planned vhid.
carp::VhostConfig ToVhostConfig(const VhidPlan& vhid);
// The node's demotion groups; every parent interface is known to group "all".
carp::DemotionGroups ToDemotionGroups(const NodePlan& plan);

}  // namespace hafw::agent
