#include "haagent/agent/agent.h"

#include <csignal>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/clock.h"
#include "haagent/agent/service_set.h"
#include "haagent/config/loader.h"
#include "haagent/config/plan_diff.h"
#include "haagent/ops/hook_runner.h"
#include "haagent/ops/maintenance_store.h"
#include "haagent/ops/systemd.h"
#include "haagent/ops/transition_hook.h"
#include "haagent/server/control_server.h"
#include "haagent/server/request_router.h"
#include "haagent/services/carp_service.h"
#include "haagent/services/maintenance_service.h"
#include "haagent/version.h"

namespace hafw::agent {
namespace {

namespace asio = boost::asio;

// How often the shutdown wait looks at the hook queue.
constexpr auto kShutdownPoll = std::chrono::milliseconds(50);
// Beyond the hook timeout: a hook killed at its timeout still has to be reaped.
constexpr auto kShutdownSlack = std::chrono::seconds(3);

class Agent {
 public:
  Agent(const NodePlan& plan, const AgentOptions& options)
      : plan_(plan),
        options_(options),
        hooks_(io_, std::chrono::seconds(plan.hooks.timeout_seconds), &LogHookResult),
        signals_(io_, SIGTERM, SIGINT, SIGHUP),
        watchdog_timer_(io_),
        shutdown_timer_(io_) {}

  int Run() {
    started_ = clock_.Now();
    if (!BuildServices()) return 1;
    router_ = std::make_unique<RequestRouter>(plan_.node, std::string(kVersion), clock_, started_,
                                              services_.Pointers());
    auto server =
        ControlServer::Create(io_, options_.control_socket,
                              [this](const control::v1::Request& r) { return router_->Handle(r); });
    if (!server) {
      spdlog::error("{}", server.error().context);
      return 1;
    }
    control_ = std::move(*server);
    if (auto started = services_.StartAll(); !started) {
      spdlog::error("{}", started.error().context);
      return 1;
    }

    WaitForSignals();
    StartWatchdog();
    spdlog::info("ha-agent {} running as node {}: {} vhid(s), control socket {}", kVersion,
                 plan_.node, plan_.vhids.size(), options_.control_socket);
    NotifyReady(fmt::format("node {}: {} vhid(s)", plan_.node, plan_.vhids.size()));
    io_.run();
    return 0;
  }

 private:
  // Built carp first (the others demote through it), added in start order.
  bool BuildServices() {
    auto carp = CarpService::Create(io_, clock_, plan_, hooks_);
    if (!carp) {
      spdlog::error("{}", carp.error().context);
      return false;
    }
    auto maintenance =
        std::make_unique<MaintenanceService>(MaintenanceStore(options_.state_dir), **carp);
    services_.Add(std::move(maintenance));
    services_.Add(std::move(*carp));
    return true;
  }

  void WaitForSignals() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        Reload();
        WaitForSignals();
        return;
      }
      spdlog::info("{}: stopping (bow-out, VIPs removed)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      NotifyStopping();
      services_.StopAll();
      control_.reset();
      watchdog_timer_.cancel();
      // The INIT hooks of the stop still run; wait for them, bounded.
      FinishWhenHooksDone(clock_.Now() + std::chrono::seconds(plan_.hooks.timeout_seconds) +
                          kShutdownSlack);
    });
  }

  void FinishWhenHooksDone(TimePoint deadline) {
    if (hooks_.Pending() == 0 || clock_.Now() >= deadline) {
      io_.stop();
      return;
    }
    shutdown_timer_.expires_after(kShutdownPoll);
    shutdown_timer_.async_wait(
        [this, deadline](boost::system::error_code) { FinishWhenHooksDone(deadline); });
  }

  // Validate-then-commit: a changed file is checked whole and diffed; applying
  // the diff live comes with a later issue, so say so plainly.
  void Reload() {
    auto config = LoadClusterConfig(options_.config_path);
    if (!config) {
      spdlog::error("SIGHUP: {} rejected, keeping the running configuration:\n{}",
                    options_.config_path, config.error().context);
      return;
    }
    auto plan = PlanForNode(*config, plan_.node);
    if (!plan) {
      spdlog::error("SIGHUP: {}", plan.error().context);
      return;
    }
    PlanDiff diff = DiffPlans(plan_, *plan);
    if (diff.Empty()) {
      spdlog::info("SIGHUP: {} unchanged for node {}", options_.config_path, plan_.node);
      return;
    }
    spdlog::warn(
        "SIGHUP: {} is valid but changes node {}; restart ha-agent to apply it "
        "(live reload is not supported yet)",
        options_.config_path, plan_.node);
    spdlog::info("SIGHUP: changes: {}", DescribeDiff(diff));
  }

  void StartWatchdog() {
    auto interval = WatchdogPingInterval();
    if (!interval) return;
    watchdog_interval_ = *interval;
    PetWatchdog();
  }

  void PetWatchdog() {
    NotifyWatchdog();
    watchdog_timer_.expires_after(watchdog_interval_);
    watchdog_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) PetWatchdog();
    });
  }

  NodePlan plan_;
  AgentOptions options_;
  asio::io_context io_;
  SteadyClock clock_;
  TimePoint started_{};
  HookRunner hooks_;
  ServiceSet services_;  // in start order
  std::unique_ptr<RequestRouter> router_;
  std::unique_ptr<ControlServer> control_;
  asio::signal_set signals_;
  asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  asio::steady_timer shutdown_timer_;
};

}  // namespace

// The whole ClusterConfig is not needed by CARP (the node's plan says it all);
// it stays in the signature for state sync, which needs the peers' side.
int RunAgent(const ClusterConfig& /*config*/, const NodePlan& plan, const AgentOptions& options) {
  Agent agent(plan, options);
  return agent.Run();
}

}  // namespace hafw::agent
