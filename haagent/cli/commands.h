#pragma once

// What an hactl invocation asks of the agent, decided by the command line and
// independent of the wire format (control.proto carries it to the agent).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace hafw::agent::cli {

struct StatusCommand {
  bool json = false;
};
struct FailoverCommand {
  std::optional<uint8_t> vhid;  // nullopt: every vhid this node is MASTER for
  bool force = false;           // skip the peer-readiness pre-check
};
struct MaintenanceCommand {
  bool on = false;
  std::string reason;
};
struct DemoteCommand {
  std::string group;  // an interface group, or "all"
  std::string reason;
  uint32_t by = 1;
};
struct UndemoteCommand {
  std::string group;
  std::string reason;
};
struct SyncStatusCommand {
  bool json = false;
};
struct ResyncCommand {};

using Command = std::variant<StatusCommand, FailoverCommand, MaintenanceCommand, DemoteCommand,
                             UndemoteCommand, SyncStatusCommand, ResyncCommand>;

}  // namespace hafw::agent::cli
