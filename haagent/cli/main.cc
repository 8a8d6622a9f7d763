// hactl: the operator's command line for a running ha-agent. Every subcommand
// talks to the agent over its control socket.

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <variant>

#include <CLI/CLI.hpp>

#include "haagent/cli/commands.h"
#include "haagent/control/client.h"
#include "haagent/control/status_format.h"
#include "haagent/version.h"

namespace {

using namespace hafw::agent::cli;  // NOLINT(google-build-using-namespace): a main file

constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

constexpr int kExitRefused = 1;
// The agent answers from its event loop; a status of hundreds of vhids is quick.
constexpr auto kCallTimeout = std::chrono::seconds(10);

namespace v1 = hafw::control::v1;

// The control.proto request for a command; nullopt for commands the agent of
// this version does not serve (said plainly rather than faked).
std::optional<v1::Request> ToRequest(const Command& command) {
  v1::Request r;
  if (std::holds_alternative<StatusCommand>(command)) {
    r.mutable_status();
  } else if (const auto* f = std::get_if<FailoverCommand>(&command)) {
    r.mutable_failover()->set_vhid(f->vhid.value_or(0));
    r.mutable_failover()->set_force(f->force);
  } else if (const auto* m = std::get_if<MaintenanceCommand>(&command)) {
    r.mutable_maintenance()->set_on(m->on);
    r.mutable_maintenance()->set_reason(m->reason);
  } else if (const auto* d = std::get_if<DemoteCommand>(&command)) {
    r.mutable_demote()->set_group(d->group);
    r.mutable_demote()->set_reason(d->reason);
    r.mutable_demote()->set_by(static_cast<int32_t>(d->by));
  } else if (const auto* u = std::get_if<UndemoteCommand>(&command)) {
    r.mutable_undemote()->set_group(u->group);
    r.mutable_undemote()->set_reason(u->reason);
  } else {
    return std::nullopt;  // sync-status, resync: state sync is not built yet
  }
  return r;
}

// Sends `command` on `connection` and prints the reply; the exit status.
int Execute(const Command& command, const hafw::agent::ControlConnection& connection,
            const std::string& socket) {
  auto request = ToRequest(command);
  if (!request) {
    std::fprintf(stderr,
                 "hactl: this ha-agent has no state sync yet, so sync-status and resync "
                 "are not available\n");
    return kExitRefused;
  }
  auto response = connection.Call(*request, kCallTimeout);
  if (!response) {
    std::fprintf(stderr, "hactl: %s: %s\n", socket.c_str(), response.error().context.c_str());
    return kExitUnreachable;
  }
  if (response->has_error()) {
    std::fprintf(stderr, "hactl: %s\n", response->error().context().c_str());
    return kExitRefused;
  }
  if (response->has_status()) {
    const auto* status = std::get_if<StatusCommand>(&command);
    std::string out = status && status->json ? hafw::agent::FormatStatusJson(response->status())
                                             : hafw::agent::FormatStatusText(response->status());
    std::fputs(out.c_str(), stdout);
    if (!out.empty() && out.back() != '\n') std::fputc('\n', stdout);
    return 0;
  }
  if (response->has_action()) {
    std::printf("%s\n", response->action().message().c_str());
    return 0;
  }
  std::fprintf(stderr, "hactl: ha-agent sent an empty response\n");
  return kExitRefused;
}

int Main(int argc, char** argv) {
  std::string socket(hafw::agent::kDefaultControlSocket);
  Command command;

  CLI::App app{"hactl: control a running ha-agent (state, failover, maintenance, demotion, sync)",
               "hactl"};
  app.set_version_flag("--version", "hactl " + std::string(hafw::agent::kVersion));
  app.add_option("--socket", socket, "ha-agent control socket")
      ->capture_default_str()
      ->type_name("PATH");
  app.require_subcommand(1);
  app.footer(
      "Commands:\n"
      "  hactl status [--json]\n"
      "  hactl failover [--vhid N] [--force]\n"
      "  hactl maintenance on|off [--reason TEXT]\n"
      "  hactl demote --group G --reason R [--by N]\n"
      "  hactl undemote --group G --reason R\n"
      "  hactl sync-status [--json]\n"
      "  hactl resync\n"
      "Run 'hactl COMMAND --help' for a command's flags.\n\n"
      "Exit status: 0 success, 1 the agent refused or failed the request, 2 usage error,\n"
      "3 the agent cannot be reached.");

  StatusCommand status;
  auto* status_cmd = app.add_subcommand("status", "Show every vhid's state, demotion and counters");
  status_cmd->add_flag("--json", status.json, "Machine-readable output");
  status_cmd->callback([&] { command = status; });

  FailoverCommand failover;
  int failover_vhid = 0;
  auto* failover_cmd = app.add_subcommand(
      "failover",
      "Hand MASTER to the peer after checking it is ready (not demoted, in sync, not in "
      "maintenance)");
  failover_cmd
      ->add_option("--vhid", failover_vhid,
                   "Only this vhid (default: every vhid this "
                   "node is MASTER for)")
      ->check(CLI::Range(1, 255))
      ->type_name("N");
  failover_cmd->add_flag("--force", failover.force, "Skip the peer-readiness check");
  failover_cmd->callback([&] {
    if (failover_vhid != 0) failover.vhid = static_cast<uint8_t>(failover_vhid);
    command = failover;
  });

  MaintenanceCommand maintenance;
  std::string maintenance_mode;
  auto* maintenance_cmd = app.add_subcommand(
      "maintenance",
      "Persistent maintenance mode: demote every group so the peer takes over; survives "
      "restarts until turned off");
  maintenance_cmd->add_option("mode", maintenance_mode, "on or off")
      ->required()
      ->check(CLI::IsMember({"on", "off"}));
  maintenance_cmd->add_option("--reason", maintenance.reason, "Shown in status and logs")
      ->type_name("TEXT");
  maintenance_cmd->callback([&] {
    maintenance.on = maintenance_mode == "on";
    command = maintenance;
  });

  DemoteCommand demote;
  auto* demote_cmd = app.add_subcommand("demote", "Raise an interface group's demotion counter");
  demote_cmd->add_option("--group", demote.group, "Interface group, or 'all'")
      ->required()
      ->type_name("G");
  demote_cmd->add_option("--reason", demote.reason, "Why; undemote names the same reason")
      ->required()
      ->type_name("R");
  demote_cmd->add_option("--by", demote.by, "How much to add")
      ->capture_default_str()
      ->check(CLI::Range(1, 255))
      ->type_name("N");
  demote_cmd->callback([&] { command = demote; });

  UndemoteCommand undemote;
  auto* undemote_cmd =
      app.add_subcommand("undemote", "Withdraw a demotion added by 'hactl demote'");
  undemote_cmd->add_option("--group", undemote.group, "Interface group, or 'all'")
      ->required()
      ->type_name("G");
  undemote_cmd->add_option("--reason", undemote.reason, "The reason given to demote")
      ->required()
      ->type_name("R");
  undemote_cmd->callback([&] { command = undemote; });

  SyncStatusCommand sync_status;
  auto* sync_status_cmd = app.add_subcommand(
      "sync-status", "State sync health: link, peer, sequence/ack, bulk sync, state counts");
  sync_status_cmd->add_flag("--json", sync_status.json, "Machine-readable output");
  sync_status_cmd->callback([&] { command = sync_status; });

  auto* resync_cmd =
      app.add_subcommand("resync",
                         "Request a full bulk sync of the connection states from the "
                         "peer");
  resync_cmd->callback([&] { command = ResyncCommand{}; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // CLI11 reports --help/--version as success; everything else is usage.
    return rc == 0 ? 0 : kExitUsage;
  }

  auto connection = hafw::agent::ControlConnection::Connect(socket);
  if (!connection) {
    std::fprintf(stderr, "hactl: %s\n", connection.error().context.c_str());
    return kExitUnreachable;
  }
  return Execute(command, *connection, socket);
}

}  // namespace

// An exception here is a bug (errors are values), but it must still end in a
// clear message and a non-zero status rather than std::terminate.
int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hactl: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "hactl: internal error\n");
  }
  return 1;
}
