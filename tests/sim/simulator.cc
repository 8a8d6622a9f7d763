#include "tests/sim/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace hafw::carp::sim {

namespace {

// 224.0.0.18, the CARP group.
const IpAddress kCarpGroup = IpAddress::V4({224, 0, 0, 18});
constexpr Duration kAuditPeriod = Millis(100);
constexpr uint64_t kPassphraseSeed = 0x68616677;  // "hafw"

std::string Secs(TimePoint t) {
  const int64_t ns = t.time_since_epoch().count();
  return fmt::format("{}.{:09}", ns / 1'000'000'000, ns % 1'000'000'000);
}

std::vector<uint8_t> Passphrase(uint8_t vhid) {
  std::string text = fmt::format("sim-{}-{:x}", vhid, kPassphraseSeed);
  return {text.begin(), text.end()};
}

}  // namespace

std::string FormatViolation(const Scenario& scenario, const Violation& v) {
  return fmt::format("FAIL seed={} scenario={} t={} [{}] {}", scenario.seed, scenario.name,
                     Secs(v.at), v.invariant, v.detail);
}

Simulator::Simulator(Scenario scenario, RunOptions options)
    : scenario_(std::move(scenario)),
      options_(options),
      network_(static_cast<int>(scenario_.nodes.size()), scenario_.interfaces, scenario_.link,
               Rng(scenario_.seed ^ 0x6e6574776f726bULL)),
      cookie_rng_(scenario_.seed ^ 0x636f6f6b6965ULL),
      nodes_(scenario_.nodes.size()),
      demote_applied_(scenario_.faults.size(), -1),
      checker_(static_cast<const ClusterView&>(*this)) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodeSpec& spec = scenario_.nodes[i];
    nodes_[i].clock = DriftClock(TimePoint{}, TimePoint{} + spec.boot_offset, spec.drift_ppm);
  }
}

Simulator::~Simulator() = default;

bool Simulator::PortUp(int node, const std::string& iface) const {
  return network_.PortUp(node, iface);
}

bool Simulator::Clean(const std::string& iface, const std::vector<int>& nodes) const {
  return network_.Clean(iface, nodes);
}

uint8_t Simulator::ExpectedDemotion(int node, const std::string& iface) const {
  // Independent model of DemotionGroups: "all" plus every explicit group holding
  // the interface; each group counts its admin demotion and +1 per member link down.
  const Node& n = nodes_[node];
  auto admin = [&](std::string_view group) {
    auto it = n.admin.find(group);
    return it == n.admin.end() ? 0 : it->second;
  };
  int total = admin(kAllGroup);
  for (const auto& [group, members] : scenario_.groups) {
    if (std::find(members.begin(), members.end(), iface) == members.end()) continue;
    total += admin(group);
    for (const std::string& m : members) {
      if (!network_.PortUp(node, m)) ++total;
    }
  }
  return static_cast<uint8_t>(std::min(total, 255));
}

TimePoint Simulator::LocalTime(int node, TimePoint global) const {
  return nodes_[node].clock.ToLocal(global);
}

Duration Simulator::GlobalDuration(int node, Duration local) const {
  return nodes_[node].clock.ToGlobalDuration(local);
}

const VhostEngine* Simulator::Engine(int node, size_t vhid) const {
  const Node& n = nodes_[node];
  if (!n.set) return nullptr;
  const VhidSpec& v = scenario_.vhids[vhid];
  return n.set->Find(v.interface, v.vhid);
}

std::optional<size_t> Simulator::VhidIndex(std::string_view iface, uint8_t vhid) const {
  for (size_t k = 0; k < scenario_.vhids.size(); ++k) {
    if (scenario_.vhids[k].interface == iface && scenario_.vhids[k].vhid == vhid) return k;
  }
  return std::nullopt;
}

void Simulator::Trace(const std::string& line) {
  const std::string full = Secs(Now()) + " " + line;
  for (unsigned char c : full) {
    hash_ ^= c;
    hash_ *= 1099511628211ULL;
  }
  hash_ ^= '\n';
  hash_ *= 1099511628211ULL;
  if (options_.verbose) fmt::print(options_.trace_out, "{}\n", full);
}

void Simulator::Fail(std::string_view invariant, std::string detail) {
  aborted_ = true;
  fatal_.push_back(Violation{Now(), std::string(invariant), std::move(detail)});
}

void Simulator::Boot(int node) {
  Node& n = nodes_[node];
  ++n.incarnation;
  n.admin.clear();
  DemotionGroups groups;
  for (const std::string& iface : scenario_.interfaces) groups.AddInterface(iface);
  for (const auto& [name, members] : scenario_.groups) groups.AddGroup(name, members);
  n.set = std::make_unique<VhostSet>(std::move(groups));
  std::string cookies;
  for (size_t k = 0; k < scenario_.vhids.size(); ++k) {
    const VhidSpec& v = scenario_.vhids[k];
    VhostConfig config;
    config.vhid = v.vhid;
    config.advbase = v.advbase;
    config.advskew = v.advskew[node];
    config.preempt = v.preempt;
    config.master_down_rule = v.rule;
    config.vips = {v.vip};
    config.passphrase = Passphrase(v.vhid);
    const uint64_t cookie = cookie_rng_.Next();  // fresh per incarnation
    cookies += fmt::format(" {}/{}:{:016x}", v.interface, v.vhid, cookie);
    auto added = n.set->Add(v.interface, config, cookie);
    if (!added) Fail("setup", "VhostSet::Add: " + added.error().ToString());
  }
  Trace(fmt::format("n{} boot #{} local {}{}", node, n.incarnation, Secs(n.clock.ToLocal(Now())),
                    cookies));
  checker_.OnNodeUp(Now(), node);
  const TimePoint local = n.clock.ToLocal(Now());
  for (const std::string& iface : scenario_.interfaces) {
    if (!network_.PortUp(node, iface)) {
      Process(node, BatchCause::kLink, n.set->OnLinkChange(local, iface, false));
    }
  }
  Process(node, BatchCause::kStart, n.set->Start(local));
}

void Simulator::Crash(int node) {
  Node& n = nodes_[node];
  Trace(fmt::format("n{} crash", node));
  n.set.reset();
  n.timer_at.reset();
  ++n.timer_gen;
  checker_.OnNodeDown(Now(), node);
}

void Simulator::Stop(int node) {
  Node& n = nodes_[node];
  Trace(fmt::format("n{} stop", node));
  checker_.OnNodeStopping(Now(), node);
  Process(node, BatchCause::kStop, n.set->Stop(n.clock.ToLocal(Now())));
  n.set.reset();
  n.timer_at.reset();
  ++n.timer_gen;
  checker_.OnNodeDown(Now(), node);
}

void Simulator::Process(int node, BatchCause cause, const VhostActions& actions,
                        std::optional<ReceivedAd> rx, std::optional<size_t> rx_vhid) {
  checker_.BeginBatch(Now(), node, cause, rx, rx_vhid);
  for (const VhostAction& va : actions) {
    const std::optional<size_t> k = VhidIndex(va.interface, va.vhid);
    if (!k) {
      Fail("C1", fmt::format("n{}: action for unknown vhost {}/{}", node, va.interface, va.vhid));
      continue;
    }
    checker_.OnAction(Now(), node, *k, va.action);
    if (const auto* change = std::get_if<StateChanged>(&va.action)) {
      ++stats_.transitions;
      Trace(fmt::format("n{} {}/{} {} -> {} ({})", node, va.interface, va.vhid,
                        VhostStateName(change->from), VhostStateName(change->to),
                        TransitionCauseName(change->cause)));
    } else if (const auto* send = std::get_if<SendAdvertisement>(&va.action)) {
      Transmit(node, *k, *send);
    } else if (std::holds_alternative<InstallVips>(va.action)) {
      Trace(fmt::format("n{} {}/{} install vips", node, va.interface, va.vhid));
    } else if (std::holds_alternative<RemoveVips>(va.action)) {
      Trace(fmt::format("n{} {}/{} remove vips", node, va.interface, va.vhid));
    } else if (std::holds_alternative<AnnounceVips>(va.action)) {
      Trace(fmt::format("n{} {}/{} announce vips", node, va.interface, va.vhid));
    }
  }
  checker_.EndBatch(Now());
  if (nodes_[node].set) Reschedule(node);
}

void Simulator::Transmit(int node, size_t vhid, const SendAdvertisement& send) {
  const VhidSpec& v = scenario_.vhids[vhid];
  // Send-outcome hook: every advertisement of every node leaves through here, so
  // this is where its send result is known. Today the network never refuses a
  // frame (a node whose port is down has no running vhid on it). For carp/core's
  // send-error demotion policy: let a fault make this send fail, feed each
  // outcome to the node's policy, and apply the demotion it returns with
  // VhostSet::AdjustDemotion in a new event at Now() (not inside this batch),
  // counted in ExpectedDemotion and followed by checker_.OnDemotionChanged.
  ++stats_.adverts;
  Trace(fmt::format("n{} {}/{} send skew={} demote={}{}", node, v.interface, v.vhid, send.bytes[2],
                    send.bytes[4], send.bow_out ? " bow-out" : ""));
  const std::vector<Delivery> copies =
      network_.Transmit(node, v.interface, Now(), scenario_.loopback);
  for (const Delivery& d : copies) {
    queue_.Schedule(d.at, [this, to = d.to, node, iface = v.interface, bytes = send.bytes] {
      Deliver(to, node, iface, bytes);
    });
  }
}

void Simulator::Deliver(int to, int from, const std::string& iface,
                        const AdvertisementBytes& bytes) {
  Node& n = nodes_[to];
  if (!n.set || !network_.PortUp(to, iface)) return;  // nobody listening
  ++stats_.deliveries;
  auto ad = DecodeAdvertisement(bytes);
  if (!ad) {
    Fail("T3", fmt::format("n{} sent undecodable bytes", from));
    return;
  }
  const std::optional<size_t> k = VhidIndex(iface, ad->vhid);
  Trace(fmt::format("n{} {}/{} <- n{} skew={} demote={}", to, iface, ad->vhid, from, ad->advskew,
                    ad->demote));
  PacketInfo info;
  info.family = IpFamily::kV4;
  info.source = scenario_.nodes[from].address;
  info.destination = kCarpGroup;
  info.ttl = kRequiredTtl;
  info.from_local_address = to == from;
  VhostActions actions = n.set->OnPacket(n.clock.ToLocal(Now()), iface, info, bytes);
  Process(to, BatchCause::kPacket, actions, ReceivedAd{from, to == from, *ad}, k);
}

void Simulator::Reschedule(int node) {
  Node& n = nodes_[node];
  const std::optional<TimePoint> deadline = n.set->NextDeadline();
  std::optional<TimePoint> at;
  if (deadline) at = std::max(n.clock.ToGlobal(*deadline), Now());
  if (at == n.timer_at) return;
  n.timer_at = at;
  const uint64_t gen = ++n.timer_gen;
  if (at) queue_.Schedule(*at, [this, node, gen] { FireTimer(node, gen); });
}

void Simulator::FireTimer(int node, uint64_t gen) {
  Node& n = nodes_[node];
  if (n.timer_gen != gen || !n.set) return;
  n.timer_at.reset();
  // An engine whose deadline stays due after OnTimer would spin at one instant.
  n.fires_at_same_time = n.last_fire == Now() ? n.fires_at_same_time + 1 : 0;
  n.last_fire = Now();
  if (n.fires_at_same_time > 100) {
    Fail("C1", fmt::format("n{}: NextDeadline() stays due after OnTimer (timer livelock)", node));
    return;
  }
  Process(node, BatchCause::kTimer, n.set->OnTimer(n.clock.ToLocal(Now())));
}

std::vector<std::string> Simulator::FaultSegments(const Fault& f) const {
  if (f.segment.empty()) return scenario_.interfaces;
  return {f.segment};
}

void Simulator::ApplyFault(size_t index, bool start) {
  const Fault& f = scenario_.faults[index];
  Trace(fmt::format("fault {} {}", start ? "start" : "end", f.Describe()));
  checker_.OnDisturbance(Now());
  Node* n = f.node >= 0 ? &nodes_[f.node] : nullptr;
  switch (f.kind) {
    case FaultKind::kCrash:
    case FaultKind::kStop:
      if (start) {
        if (n->down++ == 0 && n->set) f.kind == FaultKind::kCrash ? Crash(f.node) : Stop(f.node);
      } else if (--n->down == 0 && n->started) {
        Boot(f.node);
      }
      break;
    case FaultKind::kPartition:
    case FaultKind::kOneWay: {
      std::vector<int> other = f.other;
      if (other.empty()) {
        for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
          if (std::find(f.side.begin(), f.side.end(), i) == f.side.end()) other.push_back(i);
        }
      }
      for (const std::string& seg : FaultSegments(f)) {
        for (int a : f.side) {
          for (int b : other) {
            if (start) {
              network_.Block(seg, a, b);
              if (f.kind == FaultKind::kPartition) network_.Block(seg, b, a);
            } else {
              network_.Unblock(seg, a, b);
              if (f.kind == FaultKind::kPartition) network_.Unblock(seg, b, a);
            }
          }
        }
      }
      break;
    }
    case FaultKind::kLinkDown: {
      int& count = n->link_down[f.segment];
      const bool change = start ? count++ == 0 : --count == 0;
      if (!change) break;
      network_.SetPortUp(f.node, f.segment, !start);
      if (n->set) {
        Process(f.node, BatchCause::kLink,
                n->set->OnLinkChange(n->clock.ToLocal(Now()), f.segment, !start));
        if (start) checker_.OnDemotionChanged(Now(), f.node);
      }
      break;
    }
    case FaultKind::kLoss:
      for (const std::string& seg : FaultSegments(f)) {
        if (start) {
          network_.AddLoss(seg, f.loss);
        } else {
          network_.RemoveLoss(seg, f.loss);
        }
      }
      break;
    case FaultKind::kDemote: {
      // Undo only on the incarnation that received it: a restart forgets admin demotions.
      if (!n->set || (!start && demote_applied_[index] != n->incarnation)) break;
      const int delta = start ? f.amount : -f.amount;
      n->admin[f.group] += delta;
      demote_applied_[index] = n->incarnation;
      Process(f.node, BatchCause::kDemotion,
              n->set->AdjustDemotion(n->clock.ToLocal(Now()), f.group, kReasonAdmin, delta));
      if (start) checker_.OnDemotionChanged(Now(), f.node);
      break;
    }
  }
}

RunResult Simulator::Run() {
  const TimePoint end = TimePoint{} + scenario_.run_for;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    queue_.Schedule(TimePoint{} + scenario_.nodes[i].start_at, [this, i] {
      const int node = static_cast<int>(i);
      Trace(fmt::format("n{} power on {} drift {:+}ppm", node,
                        scenario_.nodes[i].address.ToString(), scenario_.nodes[i].drift_ppm));
      checker_.OnDisturbance(Now());
      nodes_[i].started = true;
      if (nodes_[i].down == 0) Boot(node);
    });
  }
  for (size_t i = 0; i < scenario_.faults.size(); ++i) {
    const Fault& f = scenario_.faults[i];
    queue_.Schedule(TimePoint{} + f.start, [this, i] { ApplyFault(i, true); });
    queue_.Schedule(TimePoint{} + f.start + f.duration, [this, i] { ApplyFault(i, false); });
  }
  for (size_t i = 0; i < scenario_.probes.size(); ++i) {
    queue_.Schedule(TimePoint{} + scenario_.probes[i].at,
                    [this, i] { checker_.ProbeAt(Now(), i); });
  }
  // Periodic audit so that the timing invariants are looked at even when idle.
  for (TimePoint t = TimePoint{}; t <= end; t += kAuditPeriod) queue_.Schedule(t, [] {});

  while (!queue_.Empty() && queue_.NextTime() <= end && !aborted_) {
    queue_.RunNext();
    ++stats_.events;
    checker_.Check(Now());
    for (TimePoint t : checker_.TakeWakeups()) queue_.Schedule(t, [] {});
    if (!checker_.Violations().empty()) break;
    if (stats_.events >= options_.max_events) {
      Fail("budget", fmt::format("more than {} events", options_.max_events));
    }
  }
  if (checker_.Violations().empty() && !aborted_) checker_.Finish(Now());

  RunResult result;
  result.violations = fatal_;
  for (const Violation& v : checker_.Violations()) result.violations.push_back(v);
  std::stable_sort(result.violations.begin(), result.violations.end(),
                   [](const Violation& a, const Violation& b) { return a.at < b.at; });
  for (const Violation& v : result.violations) {
    Trace("VIOLATION [" + v.invariant + "] " + v.detail);
  }
  stats_.spurious_takeovers = checker_.SpuriousTakeovers();
  result.stats = stats_;
  result.trace_hash = hash_;
  return result;
}

}  // namespace hafw::carp::sim
