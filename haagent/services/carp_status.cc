#include "haagent/services/carp_status.h"

namespace hafw::agent {
namespace {

void FillReason(control::v1::DemotionReason* out, const std::string& group,
                const std::string& reason, const DemoteCounter::Entry& entry, TimePoint now) {
  out->set_group(group);
  out->set_reason(reason);
  out->set_count(entry.count);
  out->set_since_seconds_ago(ToSeconds(now - entry.since));
}

void FillDrops(google::protobuf::Map<std::string, uint64_t>* out, const carp::DropCounters& d) {
  for (size_t i = 0; i < carp::kDropReasonCount; ++i) {
    auto reason = static_cast<carp::DropReason>(i);
    if (d.Get(reason) != 0) (*out)[std::string(carp::DropReasonName(reason))] = d.Get(reason);
  }
}

}  // namespace

void AddCarpStatus(const carp::VhostSet& vhosts, const CarpStatusExtras& extras, TimePoint now,
                   control::v1::StatusReply& reply) {
  const carp::DemotionGroups& groups = vhosts.Groups();

  for (const auto& [key, engine] : vhosts.Engines()) {
    const auto& [ifname, vhid] = key;
    const carp::VhostStatus& st = engine.Status();
    const carp::VhostConfig& cfg = engine.Config();
    auto* v = reply.add_vhosts();
    v->set_interface(ifname);
    v->set_vhid(vhid);
    if (auto it = extras.vips.find(key); it != extras.vips.end()) {
      for (const auto& p : it->second) v->add_vips(p.ToString());
    } else {
      for (const auto& a : cfg.vips) v->add_vips(a.ToString());
    }
    v->set_state(std::string(carp::VhostStateName(st.state)));
    v->set_advbase(cfg.advbase);
    v->set_advskew(cfg.advskew);
    v->set_advertised_advskew(st.advertised_advskew);
    v->set_preempt(cfg.preempt);
    v->set_link_up(st.link_up);
    v->set_demote(st.demote);
    for (const auto& group : groups.GroupsOf(ifname)) {
      const DemoteCounter* counter = groups.Counter(group);
      if (counter == nullptr) continue;
      for (const auto& [reason, entry] : counter->Reasons()) {
        FillReason(v->add_demotion_reasons(), group, reason, entry, now);
      }
    }
    if (st.last_transition) {
      auto* t = v->mutable_last_transition();
      t->set_from(std::string(carp::VhostStateName(st.last_transition->from)));
      t->set_to(std::string(carp::VhostStateName(st.last_transition->to)));
      t->set_cause(std::string(carp::TransitionCauseName(st.last_transition->cause)));
      t->set_seconds_ago(ToSeconds(now - st.last_transition->at));
    }
    v->set_transitions(st.transitions);
    v->set_adverts_sent(st.adverts_sent);
    v->set_adverts_received(st.adverts_received);
    FillDrops(v->mutable_drops(), st.drops);
    if (st.last_peer) {
      auto* p = v->mutable_last_peer();
      p->set_address(st.last_peer->ToString());
      p->set_advbase(st.last_peer_advbase);
      p->set_advskew(st.last_peer_advskew);
      p->set_demote(st.last_peer_demote);
    }
    v->set_advertisement_interval_seconds(ToSeconds(engine.AdvertisementInterval()));
    v->set_master_down_interval_seconds(ToSeconds(engine.MasterDownInterval()));
  }

  for (const auto& [name, counter] : groups.Counters()) {
    auto* g = reply.add_groups();
    g->set_name(name);
    for (const auto& member : groups.Members(name)) g->add_interfaces(member);
    g->set_total(counter.Total());
    for (const auto& [reason, entry] : counter.Reasons()) {
      FillReason(g->add_reasons(), name, reason, entry, now);
    }
  }

  std::map<std::string, control::v1::InterfaceCounters*> by_if;
  for (const auto& [key, engine] : vhosts.Engines()) {
    if (by_if.count(key.first)) continue;
    auto* c = reply.add_interfaces();
    c->set_interface(key.first);
    c->set_link_up(engine.Status().link_up);
    by_if[key.first] = c;
  }
  for (const auto& [ifname, drops] : vhosts.InterfaceDrops()) {
    if (auto it = by_if.find(ifname); it != by_if.end()) {
      FillDrops(it->second->mutable_drops(), drops);
    }
  }
  for (const auto& [ifname, drops] : extras.socket_drops) {
    auto it = by_if.find(ifname);
    if (it == by_if.end()) continue;
    for (const auto& [reason, count] : drops) (*it->second->mutable_drops())[reason] += count;
  }
}

}  // namespace hafw::agent
