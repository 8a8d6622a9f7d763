#include "firewall/core/user_rules.h"

#include <algorithm>

#include "firewall/core/table_text.h"

namespace hafw::firewall {

std::string_view UserHookName(UserHook hook) {
  return hook == UserHook::kInput ? "input" : "output";
}

namespace {

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string ParentMatch(const FirewallPlan& plan, std::string_view selector) {
  std::vector<std::string> names;
  names.reserve(plan.carp_parents.size());
  for (const CarpParent& p : plan.carp_parents) names.push_back(Quoted(p.interface));
  std::sort(names.begin(), names.end());
  std::string out = std::string(selector) + " ";
  if (names.size() == 1) return out + names.front();
  out += "{ ";
  for (size_t i = 0; i < names.size(); ++i) out += (i > 0 ? ", " : "") + names[i];
  return out + " }";
}

std::string Comment(std::string_view text) { return " comment " + Quoted(text); }

}  // namespace

std::vector<UserRule> UserAcceptRules(const FirewallPlan& plan) {
  std::vector<UserRule> rules;
  const std::string carp = " meta l4proto " + std::to_string(kCarpProtocol) + " accept";
  if (!plan.carp_parents.empty()) {
    rules.push_back({UserHook::kInput, UserTraffic::kCarpIn,
                     ParentMatch(plan, "iifname") + carp + Comment("hafw: CARP")});
  }
  if (plan.sync) {
    const std::string in = "iifname " + Quoted(plan.sync->interface);
    const std::string port = std::to_string(plan.sync->port);
    rules.push_back({UserHook::kInput, UserTraffic::kSyncIn,
                     in + " tcp dport " + port + " accept" + Comment("hafw: state sync")});
    rules.push_back(
        {UserHook::kInput, UserTraffic::kSyncReplyIn,
         in + " tcp sport " + port + " ct state established accept" + Comment("hafw: state sync")});
  }
  if (!plan.carp_parents.empty()) {
    rules.push_back({UserHook::kOutput, UserTraffic::kCarpOut,
                     ParentMatch(plan, "oifname") + carp + Comment("hafw: CARP")});
  }
  if (plan.sync) {
    const std::string out = "oifname " + Quoted(plan.sync->interface);
    const std::string port = std::to_string(plan.sync->port);
    rules.push_back({UserHook::kOutput, UserTraffic::kSyncOut,
                     out + " tcp dport " + port + " accept" + Comment("hafw: state sync")});
    rules.push_back({UserHook::kOutput, UserTraffic::kSyncReplyOut,
                     out + " tcp sport " + port + " ct state established accept" +
                         Comment("hafw: state sync")});
  }
  return rules;
}

std::string RenderUserAcceptRules(const FirewallPlan& plan) {
  const std::vector<UserRule> rules = UserAcceptRules(plan);
  std::string out =
      "# Accept rules for hafw's own traffic, for your nftables ruleset.\n"
      "# nftables runs the base chains of every table, and a drop in any of them is\n"
      "# final: the agent's table (inet " +
      plan.table_name +
      ") cannot accept on your behalf. Add each rule to\n"
      "# your base chain(s) of the hook named above it, before any rule that drops.\n"
      "# The agent's table already drops CARP and sync traffic from unknown sources.\n";
  if (rules.empty()) return out + "# (this node needs none: no CARP parents and no sync link)\n";
  for (UserHook hook : {UserHook::kInput, UserHook::kOutput}) {
    out += "\n# hook " + std::string(UserHookName(hook)) +
           (hook == UserHook::kOutput ? " (only where your output chains drop)" : "") + ":\n";
    for (const UserRule& r : rules) {
      if (r.hook == hook) out += r.rule + "\n";
    }
  }
  return out;
}

}  // namespace hafw::firewall
