#include "firewall/core/ruleset_check.h"

namespace hafw::firewall {

std::vector<UserTraffic> RulesNeededFor(UserTraffic probed) {
  switch (probed) {
    case UserTraffic::kSyncIn:
    case UserTraffic::kSyncReplyOut:
      return {UserTraffic::kSyncIn, UserTraffic::kSyncReplyOut};
    case UserTraffic::kSyncOut:
    case UserTraffic::kSyncReplyIn:
      return {UserTraffic::kSyncOut, UserTraffic::kSyncReplyIn};
    case UserTraffic::kCarpIn:
    case UserTraffic::kCarpOut:
      break;
  }
  return {probed};
}

namespace {

std::string_view What(UserTraffic traffic) {
  switch (traffic) {
    case UserTraffic::kCarpIn:
      return "CARP advertisements from the peers arriving on";
    case UserTraffic::kCarpOut:
      return "this node's CARP advertisements leaving through";
    case UserTraffic::kSyncIn:
    case UserTraffic::kSyncReplyOut:
      return "state-sync connections from the peers on";
    case UserTraffic::kSyncOut:
    case UserTraffic::kSyncReplyIn:
      return "this node's state-sync connections to the peers on";
  }
  return "traffic on";
}

}  // namespace

std::vector<std::string> ProbeWarnings(const std::vector<ProbeResult>& results,
                                       const FirewallPlan& plan) {
  const std::vector<UserRule> rules = UserAcceptRules(plan);
  std::vector<std::string> out;
  for (const ProbeResult& r : results) {
    if (r.passed) continue;
    std::string warning = "your nftables ruleset drops " + std::string(What(r.traffic)) + " " +
                          r.interface + " (" + std::string(IpFamilyName(r.family)) + "); add";
    for (UserTraffic needed : RulesNeededFor(r.traffic)) {
      for (const UserRule& rule : rules) {
        if (rule.traffic != needed) continue;
        warning += " to your hook " + std::string(UserHookName(rule.hook)) + " chains: `" +
                   rule.rule + "`;";
      }
    }
    warning.pop_back();  // the last ';'
    out.push_back(std::move(warning));
  }
  return out;
}

std::string RemoveTableFromListing(std::string_view listing, std::string_view table_name) {
  const std::string head = "table inet " + std::string(table_name) + " {";
  std::string out;
  bool skipping = false;
  size_t pos = 0;
  while (pos < listing.size()) {
    size_t end = listing.find('\n', pos);
    const size_t next = end == std::string_view::npos ? listing.size() : end + 1;
    const std::string_view line = listing.substr(pos, next - pos);
    pos = next;
    if (!skipping && line.substr(0, head.size()) == head &&
        (line.size() == head.size() || line[head.size()] == '\n' || line[head.size()] == ' ')) {
      skipping = true;
      continue;
    }
    if (skipping) {
      if (line == "}\n" || line == "}") skipping = false;
      continue;
    }
    out += line;
  }
  return out;
}

}  // namespace hafw::firewall
