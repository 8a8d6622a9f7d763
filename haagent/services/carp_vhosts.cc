#include "haagent/services/carp_vhosts.h"

namespace hafw::agent {

carp::VhostConfig ToVhostConfig(const VhidPlan& v) {
  carp::VhostConfig c;
  c.vhid = v.vhid;
  c.advbase = v.advbase;
  c.advskew = v.advskew;
  c.preempt = v.preempt;
  c.master_down_rule = v.master_down;
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

}  // namespace hafw::agent
