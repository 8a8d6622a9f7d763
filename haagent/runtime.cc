#include "haagent/runtime.h"

#include <sys/random.h>
#include <systemd/sd-daemon.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "carp/core/vhost_set.h"
#include "carp/io/carp_io.h"
#include "common/clock.h"
#include "haagent/control_channel.h"
#include "haagent/control_server.h"
#include "haagent/hook_runner.h"
#include "haagent/status.h"
#include "haagent/version.h"

namespace hafw::agent {

namespace asio = boost::asio;
using control::v1::Request;
using control::v1::Response;

carp::VhostConfig ToVhostConfig(const VhidPlan& v) {
  carp::VhostConfig c;
  c.vhid = v.vhid;
  c.advbase = v.advbase;
  c.advskew = v.advskew;
  c.preempt = v.preempt;
  c.master_down_rule = v.master_down == MasterDownRule::kOpenBsd2025
                           ? carp::MasterDownRule::kOpenBsd2025
                           : carp::MasterDownRule::kClassic;
  c.demote_raises_advskew = v.demote_raises_advskew;
  for (const auto& p : v.vips) c.vips.push_back(p.address);
  c.passphrase = v.passphrase;
  c.unicast_peer_v4 = v.unicast_peer_v4;
  c.unicast_peer_v6 = v.unicast_peer_v6;
  return c;
}

carp::DemotionGroups ToDemotionGroups(const NodePlan& plan) {
  carp::DemotionGroups groups;
  for (const auto& g : plan.groups) groups.AddGroup(g.name, g.interfaces);
  for (const auto& v : plan.vhids) groups.AddInterface(v.interface);
  return groups;
}

namespace {

uint64_t RandomCookie() {
  uint64_t cookie = 0;
  // getrandom on 8 bytes never blocks after boot and is never short.
  if (::getrandom(&cookie, sizeof(cookie), 0) != sizeof(cookie)) {
    cookie = static_cast<uint64_t>(SteadyClock().Now().time_since_epoch().count());
  }
  return cookie;
}

std::string JoinVips(const std::vector<IpPrefix>& vips) {
  std::string out;
  for (const auto& p : vips) {
    if (!out.empty()) out += ' ';
    out += p.ToString();
  }
  return out;
}

std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

Response ActionReply(std::string message) {
  Response r;
  r.mutable_action()->set_message(std::move(message));
  return r;
}

class Agent {
 public:
  Agent(const NodePlan& plan, const AgentOptions& options)
      : plan_(plan),
        options_(options),
        hooks_(io_, std::chrono::seconds(plan.hooks.timeout_seconds),
               [](const HookResult& r) { LogHookResult(r); }),
        signals_(io_, SIGTERM, SIGINT, SIGHUP),
        watchdog_(io_) {}

  int Run() {
    started_ = clock_.Now();
    if (!BuildCarp()) return 1;
    auto server = ControlServer::Create(io_, options_.control_socket,
                                        [this](const Request& r) { return Handle(r); });
    if (!server) {
      spdlog::error("{}", server.error().context);
      return 1;
    }
    control_ = std::move(*server);

    RestoreMaintenance();
    if (auto started = carp_->Start(); !started) {
      spdlog::error("cannot start CARP: {}", started.error().context);
      carp_->Shutdown();
      return 1;
    }
    WaitForSignals();
    StartWatchdog();
    spdlog::info("ha-agent {} running as node {}: {} vhid(s), control socket {}", kVersion,
                 plan_.node, plan_.vhids.size(), options_.control_socket);
    sd_notifyf(0, "READY=1\nSTATUS=node %s: %zu vhid(s)", plan_.node.c_str(), plan_.vhids.size());

    io_.run();
    return 0;
  }

 private:
  bool BuildCarp() {
    auto set = std::make_unique<carp::VhostSet>(ToDemotionGroups(plan_));
    std::vector<carp::io::VhostIo> vhost_io;
    for (const auto& v : plan_.vhids) {
      if (auto added = set->Add(v.interface, ToVhostConfig(v), RandomCookie()); !added) {
        spdlog::error("vhid {} on {}: {}", v.vhid, v.interface, added.error().context);
        return false;
      }
      vhost_io.push_back(carp::io::VhostIo{v.interface, v.vhid, v.vips, v.vmac});
      status_ctx_.vips[{v.interface, v.vhid}] = v.vips;
    }
    carp::io::CarpIoCallbacks callbacks;
    callbacks.on_action = [this](const carp::VhostAction& a, const Result<void>& outcome) {
      OnAction(a, outcome);
    };
    callbacks.on_error = [](const Error& e) { spdlog::error("carp: {}", e.context); };
    auto carp = carp::io::CarpIo::Create(io_, clock_, std::move(set), std::move(vhost_io),
                                         std::move(callbacks));
    if (!carp) {
      spdlog::error("cannot set up CARP: {}", carp.error().context);
      return false;
    }
    carp_ = std::move(*carp);
    return true;
  }

  const VhidPlan* FindVhid(const std::string& ifname, uint8_t vhid) const {
    for (const auto& v : plan_.vhids) {
      if (v.interface == ifname && v.vhid == vhid) return &v;
    }
    return nullptr;
  }

  void OnAction(const carp::VhostAction& a, const Result<void>& outcome) {
    if (!outcome) {
      spdlog::warn("vhid {} on {}: {}", a.vhid, a.interface, outcome.error().context);
    }
    const auto* change = std::get_if<carp::StateChanged>(&a.action);
    if (change == nullptr) return;
    auto level =
        change->to == carp::VhostState::kMaster || change->from == carp::VhostState::kMaster
            ? spdlog::level::info
            : spdlog::level::debug;
    spdlog::log(level, "vhid {} on {}: {} -> {} ({})", a.vhid, a.interface,
                carp::VhostStateName(change->from), carp::VhostStateName(change->to),
                carp::TransitionCauseName(change->cause));
    RunHook(a, *change);
  }

  void RunHook(const carp::VhostAction& a, const carp::StateChanged& change) {
    const std::string* path = nullptr;
    switch (change.to) {
      case carp::VhostState::kMaster:
        path = &plan_.hooks.master;
        break;
      case carp::VhostState::kBackup:
        path = &plan_.hooks.backup;
        break;
      case carp::VhostState::kInit:
        path = &plan_.hooks.init;
        break;
    }
    if (path == nullptr || path->empty()) return;
    const VhidPlan* vhid = FindVhid(a.interface, a.vhid);
    std::string state(carp::VhostStateName(change.to));
    HookInvocation hook;
    hook.path = *path;
    hook.args = {state, std::to_string(a.vhid), a.interface};
    hook.env = {
        {"HAFW_NODE", plan_.node},
        {"HAFW_VHID", std::to_string(a.vhid)},
        {"HAFW_INTERFACE", a.interface},
        {"HAFW_STATE", state},
        {"HAFW_PREVIOUS_STATE", std::string(carp::VhostStateName(change.from))},
        {"HAFW_CAUSE", std::string(carp::TransitionCauseName(change.cause))},
        {"HAFW_VIPS", vhid ? JoinVips(vhid->vips) : ""},
        {"HAFW_GROUPS", vhid ? JoinWords(vhid->groups) : ""},
    };
    hooks_.Enqueue(std::move(hook));
  }

  static void LogHookResult(const HookResult& r) {
    if (r.timed_out) {
      spdlog::error("hook {} timed out and was killed", r.path);
    } else if (!r.error.empty()) {
      spdlog::error("hook {}: {}", r.path, r.error);
    } else if (r.signal != 0) {
      spdlog::error("hook {} died of signal {}", r.path, r.signal);
    } else if (r.exit_code != 0) {
      spdlog::warn("hook {} exited with status {}", r.path, r.exit_code);
    } else {
      spdlog::debug("hook {} done", r.path);
    }
  }

  bool KnownGroup(const std::string& group) const {
    if (group == carp::kAllGroup) return true;
    for (const auto& g : plan_.groups) {
      if (g.name == group) return true;
    }
    return false;
  }

  Response Handle(const Request& request) {
    switch (request.command_case()) {
      case Request::kStatus: {
        Response r;
        *r.mutable_status() = Status();
        return r;
      }
      case Request::kDemote: {
        const auto& d = request.demote();
        if (!KnownGroup(d.group())) {
          return ErrorResponse(ErrorCode::kNotFound, "no interface group '" + d.group() + "'");
        }
        int by = d.by() == 0 ? 1 : d.by();
        if (by < 1 || by > 255) {
          return ErrorResponse(ErrorCode::kInvalidArgument, "--by must be 1..255");
        }
        std::string reason = d.reason().empty() ? std::string(carp::kReasonAdmin) : d.reason();
        carp_->AdjustDemotion(d.group(), reason, by);
        spdlog::info("demotion: group {} reason '{}' +{} (by hactl)", d.group(), reason, by);
        return ActionReply(fmt::format("group {}: '{}' is now {}", d.group(), reason,
                                       ReasonCount(d.group(), reason)));
      }
      case Request::kUndemote: {
        const auto& u = request.undemote();
        if (!KnownGroup(u.group())) {
          return ErrorResponse(ErrorCode::kNotFound, "no interface group '" + u.group() + "'");
        }
        std::string reason = u.reason().empty() ? std::string(carp::kReasonAdmin) : u.reason();
        if (ReasonCount(u.group(), reason) == 0) {
          return ErrorResponse(ErrorCode::kNotFound,
                               "group " + u.group() + " has no demotion reason '" + reason + "'");
        }
        carp_->SetDemotion(u.group(), reason, 0);
        spdlog::info("demotion: group {} reason '{}' cleared (by hactl)", u.group(), reason);
        return ActionReply(fmt::format("group {}: '{}' cleared", u.group(), reason));
      }
      case Request::kMaintenance: {
        const auto& m = request.maintenance();
        if (auto saved = SaveMaintenance(m.on(), m.reason()); !saved) {
          return ErrorResponse(saved.error().code, saved.error().context);
        }
        carp_->SetDemotion(carp::kAllGroup, carp::kReasonMaintenance,
                           m.on() ? kMaintenanceDemotion : 0);
        spdlog::info("maintenance {}{}", m.on() ? "on" : "off",
                     m.reason().empty() ? "" : ": " + m.reason());
        return ActionReply(m.on() ? fmt::format("maintenance on: every vhid demoted by {}, "
                                                "kept across restarts until 'maintenance off'",
                                                kMaintenanceDemotion)
                                  : "maintenance off");
      }
      case Request::kFailover:
        return ErrorResponse(ErrorCode::kUnavailable,
                             "hactl failover needs state sync to check that the peer has the "
                             "connection states; until then use 'hactl maintenance on'");
      case Request::COMMAND_NOT_SET:
        break;
    }
    return ErrorResponse(ErrorCode::kInvalidArgument, "empty or unknown request");
  }

  std::filesystem::path MaintenanceFile() const {
    return std::filesystem::path(options_.state_dir) / "maintenance";
  }

  // Maintenance survives restarts: a file in the state directory holds its reason.
  Result<void> SaveMaintenance(bool on, const std::string& reason) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!on) {
      fs::remove(MaintenanceFile(), ec);
      if (ec) return MakeError(ErrorCode::kIo, MaintenanceFile().string() + ": " + ec.message());
      return {};
    }
    fs::create_directories(options_.state_dir, ec);
    fs::path tmp = MaintenanceFile().string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << (reason.empty() ? "maintenance" : reason) << "\n";
      if (!out) return MakeError(ErrorCode::kIo, "cannot write " + tmp.string());
    }
    fs::rename(tmp, MaintenanceFile(), ec);
    if (ec) return MakeError(ErrorCode::kIo, MaintenanceFile().string() + ": " + ec.message());
    return {};
  }

  void RestoreMaintenance() {
    std::ifstream in(MaintenanceFile());
    if (!in) return;
    std::string reason;
    std::getline(in, reason);
    carp_->SetDemotion(carp::kAllGroup, carp::kReasonMaintenance, kMaintenanceDemotion);
    spdlog::warn("maintenance mode is on ({}), from {}: every vhid is demoted by {}", reason,
                 MaintenanceFile().string(), kMaintenanceDemotion);
  }

  int ReasonCount(const std::string& group, const std::string& reason) const {
    const DemoteCounter* c = carp_->Vhosts().Groups().Counter(group);
    return c ? c->Count(reason) : 0;
  }

  control::v1::StatusReply Status() {
    status_ctx_.node = plan_.node;
    status_ctx_.version = std::string(kVersion);
    status_ctx_.started = started_;
    status_ctx_.now = clock_.Now();
    status_ctx_.socket_drops.clear();
    for (const auto& s : carp_->Sockets()) {
      auto& drops = status_ctx_.socket_drops[s.interface];
      drops["short_ip"] += s.counters.short_packets;
      drops["truncated"] += s.counters.truncated;
      drops["bad_ip_header"] += s.counters.bad_ip_header;
      drops["receive_errors"] += s.counters.receive_errors;
    }
    for (auto& [ifname, drops] : status_ctx_.socket_drops) {
      std::erase_if(drops, [](const auto& kv) { return kv.second == 0; });
    }
    return BuildStatus(carp_->Vhosts(), status_ctx_);
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
      sd_notify(0, "STOPPING=1");
      carp_->Shutdown();
      control_.reset();
      watchdog_.cancel();
      // The INIT hooks of the stop still run; wait for them, bounded.
      FinishWhenHooksDone(clock_.Now() + std::chrono::seconds(plan_.hooks.timeout_seconds + 3));
    });
  }

  void FinishWhenHooksDone(TimePoint deadline) {
    if (hooks_.Pending() == 0 || clock_.Now() >= deadline) {
      io_.stop();
      return;
    }
    watchdog_.expires_after(std::chrono::milliseconds(50));
    watchdog_.async_wait(
        [this, deadline](boost::system::error_code) { FinishWhenHooksDone(deadline); });
  }

  // Validate-then-commit: a changed file is checked whole; applying it live
  // needs config diffing in the engines, which comes later, so say so plainly.
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
    if (*plan == plan_) {
      spdlog::info("SIGHUP: {} unchanged for node {}", options_.config_path, plan_.node);
    } else {
      spdlog::warn(
          "SIGHUP: {} is valid but changes node {}; restart ha-agent to apply it "
          "(live reload is not supported yet)",
          options_.config_path, plan_.node);
    }
  }

  void StartWatchdog() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    watchdog_interval_ = std::chrono::microseconds(usec / 2);
    PetWatchdog();
  }

  void PetWatchdog() {
    sd_notify(0, "WATCHDOG=1");
    watchdog_.expires_after(watchdog_interval_);
    watchdog_.async_wait([this](boost::system::error_code ec) {
      if (!ec) PetWatchdog();
    });
  }

  NodePlan plan_;
  AgentOptions options_;
  asio::io_context io_;
  SteadyClock clock_;
  TimePoint started_{};
  std::unique_ptr<carp::io::CarpIo> carp_;
  std::unique_ptr<ControlServer> control_;
  HookRunner hooks_;
  asio::signal_set signals_;
  asio::steady_timer watchdog_;
  std::chrono::microseconds watchdog_interval_{0};
  StatusContext status_ctx_;
};

}  // namespace

// The whole ClusterConfig is not needed by CARP (the node's plan says it all);
// it stays in the signature for state sync, which needs the peers' side.
int RunAgent(const ClusterConfig& /*config*/, const NodePlan& plan, const AgentOptions& options) {
  Agent agent(plan, options);
  return agent.Run();
}

}  // namespace hafw::agent
