#include "haagent/config/describe_plan.h"

#include <fmt/format.h>

#include "carp/core/election.h"

namespace hafw::agent {
namespace {

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string Join(const std::vector<IpPrefix>& prefixes) {
  std::string out;
  for (const IpPrefix& p : prefixes) out += (out.empty() ? "" : " ") + p.ToString();
  return out;
}

std::string DescribeVhid(const VhidPlan& v, const std::string& passphrase_file) {
  std::string out = fmt::format("\nvhid {} on {}\n", v.vhid, v.interface);
  out += fmt::format("  vips                   {}\n", Join(v.vips));
  out += fmt::format(
      "  advbase / advskew      {} / {} (advert every {}, master down after {}, {} rule)\n",
      v.advbase, v.advskew, FormatPlanSeconds(carp::AdvertisementInterval(v.advbase, v.advskew)),
      FormatPlanSeconds(carp::MasterDownInterval(v.advbase, v.advskew, v.master_down)),
      MasterDownRuleName(v.master_down));
  out += fmt::format("  preempt                {}\n", v.preempt ? "yes" : "no");
  out += fmt::format("  demote raises advskew  {}\n", v.demote_raises_advskew ? "yes" : "no");
  out += fmt::format("  virtual MAC            {}\n",
                     v.vmac ? fmt::format("yes (00:00:5e:00:01:{:02x})", v.vhid) : "no");
  std::string dest;
  if (v.unicast_peer_v4) dest += "unicast to " + v.unicast_peer_v4->ToString();
  if (v.unicast_peer_v6) {
    dest += (dest.empty() ? "unicast to " : ", ") + v.unicast_peer_v6->ToString();
  }
  out += fmt::format("  adverts                {}\n", dest.empty() ? "multicast" : dest);
  out += fmt::format("  passphrase             {} bytes from {}\n", v.passphrase.size(),
                     passphrase_file);
  std::string groups = Join(v.groups);
  out += fmt::format("  demotion groups        {}\n", groups.empty() ? "(none)" : groups);
  return out;
}

std::string DescribeSync(const ClusterConfig& config, const NodePlan& plan) {
  std::string out = "\nstate sync\n";
  if (!plan.sync) return out + "  off (no [sync] table)\n";
  const SyncPlan& s = *plan.sync;
  out += fmt::format("  interface              {}\n", s.interface);
  out += fmt::format("  local address          {} port {}\n", s.local_address.ToString(), s.port);
  for (const SyncPeer& peer : s.peers) {
    out += fmt::format("  peer                   {} {}\n", peer.node, peer.address.ToString());
  }
  out += fmt::format("  key                    {} bytes from {}\n", s.key.size(),
                     config.sync ? config.sync->key_file : std::string("?"));
  return out;
}

}  // namespace

std::string FormatPlanSeconds(Duration d) { return fmt::format("{:.3f} s", ToSeconds(d)); }

std::string DescribePlan(const ClusterConfig& config, const NodePlan& plan) {
  std::string out = fmt::format("node {} (cluster file {})\n", plan.node, config.path);
  for (size_t i = 0; i < plan.vhids.size(); ++i) {
    const std::string passphrase_file =
        i < config.vhids.size() ? config.vhids[i].passphrase_file : std::string("?");
    out += DescribeVhid(plan.vhids[i], passphrase_file);
  }
  out += "\ninterface groups\n";
  if (plan.groups.empty()) out += "  (none)\n";
  for (const InterfaceGroup& g : plan.groups) {
    out += fmt::format("  {:<22} {}\n", g.name, Join(g.interfaces));
  }
  out += DescribeSync(config, plan);
  out += "\nhooks\n";
  auto hook = [](const std::string& path) { return path.empty() ? std::string("(none)") : path; };
  out += fmt::format("  master                 {}\n", hook(plan.hooks.master));
  out += fmt::format("  backup                 {}\n", hook(plan.hooks.backup));
  out += fmt::format("  init                   {}\n", hook(plan.hooks.init));
  out += fmt::format("  timeout                {} s\n", plan.hooks.timeout_seconds);
  return out;
}

}  // namespace hafw::agent
