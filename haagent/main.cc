// ha-agent: the HA firewall daemon. One cluster file, shared by all nodes,
// describes the cluster; --node picks this node's part of it.

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "haagent/agent/agent.h"
#include "haagent/agent/agent_options.h"
#include "haagent/config/describe_plan.h"
#include "haagent/config/loader.h"
#include "haagent/config/node_plan.h"
#include "haagent/ops/logging.h"
#include "haagent/version.h"

namespace {

using hafw::agent::AgentOptions;

// The node this machine plays: its hostname, or the hostname's first label
// when the cluster file uses short names.
std::string DefaultNodeName(const hafw::agent::ClusterConfig& config) {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return "";
  std::string name(host);
  auto known = [&](const std::string& n) {
    for (const auto& node : config.nodes) {
      if (node.name == n) return true;
    }
    return false;
  };
  if (!known(name) && name.find('.') != std::string::npos) {
    std::string short_name = name.substr(0, name.find('.'));
    if (known(short_name)) return short_name;
  }
  return name;
}

int Main(int argc, char** argv) {
  AgentOptions options;
  options.config_path = std::string(hafw::agent::kDefaultConfigPath);
  std::string log_level = "info";
  bool check = false;

  CLI::App app{"ha-agent: CARP election and conntrack state sync for an HA firewall pair",
               "ha-agent"};
  app.set_version_flag("--version", "ha-agent " + std::string(hafw::agent::kVersion));
  app.add_option("--config", options.config_path, "Cluster file")
      ->capture_default_str()
      ->type_name("FILE");
  app.add_option("--node", options.node, "This node's name in the cluster file (default: hostname)")
      ->type_name("NAME");
  app.add_flag("--check", check,
               "Validate the cluster file, print this node's effective plan and exit");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--control-socket", options.control_socket, "Unix socket for hactl")
      ->capture_default_str()
      ->type_name("PATH");
  app.add_option("--state-dir", options.state_dir,
                 "Where state that survives restarts is kept (maintenance mode)")
      ->capture_default_str()
      ->type_name("DIR");
  CLI11_PARSE(app, argc, argv);

  options.log_level = *hafw::agent::ParseLogLevel(log_level);  // CLI11 checked the set
  hafw::agent::SetupLogging("ha-agent", options.log_level);

  auto config = hafw::agent::LoadClusterConfig(options.config_path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().context.c_str());
    return 1;
  }
  spdlog::debug("{}: {} nodes, {} vhids", options.config_path, config->nodes.size(),
                config->vhids.size());
  if (options.node.empty()) options.node = DefaultNodeName(*config);
  auto plan = hafw::agent::PlanForNode(*config, options.node);
  if (!plan) {
    std::fprintf(stderr, "%s\n", plan.error().context.c_str());
    return 1;
  }

  if (check) {
    std::fputs(hafw::agent::DescribePlan(*config, *plan).c_str(), stdout);
    return 0;
  }

  return hafw::agent::RunAgent(*config, *plan, options);
}

}  // namespace

// An exception here is a bug (errors are values), but it must still end in a
// clear message and a non-zero status rather than std::terminate.
int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ha-agent: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "ha-agent: internal error\n");
  }
  return 1;
}
