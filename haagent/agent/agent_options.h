#pragma once

// What the ha-agent command line decided; the agent receives it with the
// validated ClusterConfig and the node's NodePlan.

#include <string>

#include <spdlog/common.h>

#include "haagent/control/client.h"

namespace hafw::agent {

struct AgentOptions {
  std::string config_path;                                    // --config
  std::string node;                                           // --node, or the hostname
  spdlog::level::level_enum log_level = spdlog::level::info;  // --log-level
  std::string control_socket{kDefaultControlSocket};          // --control-socket
  std::string state_dir = "/var/lib/hafw";  // --state-dir: what survives restarts (maintenance)
};

}  // namespace hafw::agent
