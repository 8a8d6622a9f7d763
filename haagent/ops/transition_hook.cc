#include "haagent/ops/transition_hook.h"

#include <utility>

#include <spdlog/spdlog.h>

namespace hafw::agent {
namespace {

std::string JoinVips(const std::vector<IpPrefix>& vips) {
  std::string out;
  for (const IpPrefix& p : vips) out += (out.empty() ? "" : " ") + p.ToString();
  return out;
}

std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

HookInvocation TransitionHook(std::string path, const TransitionHookEvent& e) {
  HookInvocation hook;
  hook.path = std::move(path);
  hook.args = {e.state, std::to_string(e.vhid), e.interface};
  hook.env = {
      {"HAFW_NODE", e.node},
      {"HAFW_VHID", std::to_string(e.vhid)},
      {"HAFW_INTERFACE", e.interface},
      {"HAFW_STATE", e.state},
      {"HAFW_PREVIOUS_STATE", e.previous_state},
      {"HAFW_CAUSE", e.cause},
      {"HAFW_VIPS", JoinVips(e.vips)},
      {"HAFW_GROUPS", JoinWords(e.groups)},
  };
  return hook;
}

void LogHookResult(const HookResult& r) {
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

}  // namespace hafw::agent
