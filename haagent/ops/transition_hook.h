#pragma once

// The notify hooks of a vhid transition ([hooks] master/backup/init): how a
// hook is called, and how its outcome is logged.
//
//   <hook> STATE VHID INTERFACE
// with HAFW_NODE, HAFW_VHID, HAFW_INTERFACE, HAFW_STATE, HAFW_PREVIOUS_STATE,
// HAFW_CAUSE, HAFW_VIPS (space-separated, with prefix lengths) and HAFW_GROUPS
// in its environment (docs/operations.md).

#include <cstdint>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "haagent/ops/hook_runner.h"

namespace hafw::agent {

struct TransitionHookEvent {
  std::string node;
  uint8_t vhid = 0;
  std::string interface;
  std::string state;           // "MASTER", "BACKUP", "INIT"
  std::string previous_state;  // the same names
  std::string cause;           // "master-down", "preempted", ...
  std::vector<IpPrefix> vips;
  std::vector<std::string> groups;
};

HookInvocation TransitionHook(std::string path, const TransitionHookEvent& event);

// A failed, killed or timed-out hook is an error in the log, a non-zero exit a
// warning, success a debug line.
void LogHookResult(const HookResult& result);

}  // namespace hafw::agent
