#include "tests/sim/scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <numeric>

#include "tests/sim/rng.h"

namespace hafw::carp::sim {

namespace {

constexpr std::string_view kUplinks = "uplinks";

IpAddress DocAddress(int host) { return IpAddress::V4({192, 0, 2, static_cast<uint8_t>(host)}); }

std::string Nodes(const std::vector<int>& nodes) {
  std::string out;
  for (int n : nodes) out += fmt::format("{}n{}", out.empty() ? "" : ",", n);
  return "{" + out + "}";
}

std::string Secs(Duration d) {
  return fmt::format("{}.{:03}s", d.count() / 1'000'000'000, (d.count() / 1'000'000) % 1000);
}

// Every node a port on lan and wan (+dmz), lan and wan in the group "uplinks".
void AddStandardTopology(Scenario& s, bool with_dmz) {
  s.interfaces = {"lan", "wan"};
  if (with_dmz) s.interfaces.push_back("dmz");
  s.groups[std::string(kUplinks)] = {"lan", "wan"};
}

std::vector<NodeSpec> MakeNodes(Rng& rng, int count, bool staggered, int64_t max_ppm) {
  std::vector<NodeSpec> nodes;
  for (int i = 0; i < count; ++i) {
    NodeSpec n;
    n.address = DocAddress(1 + i);
    n.drift_ppm = rng.Range(-max_ppm, max_ppm);
    n.boot_offset = Seconds(rng.Range(0, 1'000'000)) + Duration(rng.Range(0, 999'999'999));
    n.start_at = staggered ? Duration(rng.Range(0, 2'000'000'000)) : Duration(0);
    nodes.push_back(n);
  }
  return nodes;
}

VhidSpec MakeVhid(std::string iface, uint8_t vhid, uint8_t advbase, bool preempt,
                  std::vector<uint8_t> skews) {
  VhidSpec v;
  v.interface = std::move(iface);
  v.vhid = vhid;
  v.advbase = advbase;
  v.preempt = preempt;
  v.advskew = std::move(skews);
  v.vip = DocAddress(100 + vhid);
  return v;
}

// `count` distinct advskews in 0..240, ascending.
std::vector<uint8_t> DistinctSkews(Rng& rng, int count) {
  std::vector<uint8_t> out;
  while (static_cast<int>(out.size()) < count) {
    const auto s = static_cast<uint8_t>(rng.Range(0, 240));
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> Permutation(Rng& rng, int n) {
  std::vector<int> p(n);
  std::iota(p.begin(), p.end(), 0);
  for (int i = n - 1; i > 0; --i) std::swap(p[i], p[rng.Below(i + 1)]);
  return p;
}

LinkModel QuietLink(Rng& rng) {
  LinkModel m;
  m.delay = Duration(rng.Range(50'000, 1'000'000));
  m.jitter = Duration(rng.Range(0, 2'000'000));
  m.duplicate = 0.01;
  m.reorder = 0.02;
  m.reorder_extra = Millis(5);
  return m;
}

}  // namespace

std::string_view FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kCrash:
      return "crash";
    case FaultKind::kStop:
      return "stop";
    case FaultKind::kPartition:
      return "partition";
    case FaultKind::kOneWay:
      return "one-way";
    case FaultKind::kLinkDown:
      return "link-down";
    case FaultKind::kLoss:
      return "loss";
    case FaultKind::kDemote:
      return "demote";
  }
  return "?";
}

std::string Fault::Describe() const {
  std::string what;
  const std::string seg = segment.empty() ? "all" : segment;
  switch (kind) {
    case FaultKind::kCrash:
    case FaultKind::kStop:
      what = fmt::format("n{}", node);
      break;
    case FaultKind::kPartition:
      what = fmt::format("{} | rest on {}", Nodes(side), seg);
      break;
    case FaultKind::kOneWay:
      what = fmt::format("{} -/-> {} on {}", Nodes(side), Nodes(other), seg);
      break;
    case FaultKind::kLinkDown:
      what = fmt::format("n{} {}", node, seg);
      break;
    case FaultKind::kLoss:
      what = fmt::format("{:.0f}% on {}", loss * 100, seg);
      break;
    case FaultKind::kDemote:
      what = fmt::format("n{} group {} +{}", node, group, amount);
      break;
  }
  return fmt::format("{} {} at {} for {}", FaultKindName(kind), what, Secs(start), Secs(duration));
}

std::string Probe::Describe() const {
  switch (kind) {
    case Kind::kMasterIs:
      return fmt::format("vhid#{} master is n{} at {}", vhid, node, Secs(at));
    case Kind::kHandedOver:
      return fmt::format("vhid#{} n{} handed over by {}", vhid, node, Secs(at));
    case Kind::kDualMasterIn:
      return fmt::format("vhid#{} dual master seen in [{}, {}]", vhid, Secs(from), Secs(at));
    case Kind::kStableBest:
      return fmt::format("vhid#{} n{} stays MASTER over [{}, {}]", vhid, node, Secs(from),
                         Secs(at));
  }
  return "?";
}

std::string Scenario::Describe() const {
  std::string out = fmt::format("scenario {} seed {}: {} nodes, run {}\n", name, seed, nodes.size(),
                                Secs(run_for));
  for (size_t i = 0; i < nodes.size(); ++i) {
    out += fmt::format("  n{} {} drift {:+}ppm start {}\n", i, nodes[i].address.ToString(),
                       nodes[i].drift_ppm, Secs(nodes[i].start_at));
  }
  for (size_t k = 0; k < vhids.size(); ++k) {
    const VhidSpec& v = vhids[k];
    std::string skews;
    for (uint8_t s : v.advskew) skews += fmt::format("{}{}", skews.empty() ? "" : ",", s);
    out += fmt::format("  vhid#{} {}/{} advbase {} advskew [{}] preempt {} rule {}\n", k,
                       v.interface, v.vhid, v.advbase, skews, v.preempt,
                       v.rule == MasterDownRule::kClassic ? "classic" : "openbsd2025");
  }
  out += fmt::format(
      "  link: loss {:.3f} delay {}us jitter {}us dup {:.3f} reorder {:.3f}+{}us loopback {}\n",
      link.loss, link.delay.count() / 1000, link.jitter.count() / 1000, link.duplicate,
      link.reorder, link.reorder_extra.count() / 1000, loopback);
  for (const Fault& f : faults) out += "  fault: " + f.Describe() + "\n";
  for (const Probe& p : probes) out += "  probe: " + p.Describe() + "\n";
  return out;
}

Scenario GenerateScenario(uint64_t seed) {
  Rng rng(seed);
  Scenario s;
  s.name = "random";
  s.seed = seed;
  const int n = static_cast<int>(rng.Range(2, 5));
  const bool dmz = rng.Chance(0.4);
  AddStandardTopology(s, dmz);
  s.nodes = MakeNodes(rng, n, /*staggered=*/true, rng.Chance(0.7) ? 1000 : 0);

  // lan/1 and wan/2 always (the "uplinks" group), sometimes a second lan vhid and a dmz one.
  std::vector<std::pair<std::string, uint8_t>> vhids = {{"lan", 1}, {"wan", 2}};
  if (rng.Chance(0.4)) vhids.push_back({"lan", 3});
  if (dmz) vhids.push_back({"dmz", 4});
  // Usually one node is primary everywhere (the common active/standby setup);
  // otherwise every vhid ranks the nodes independently (active/active).
  const bool shared_order = rng.Chance(0.6);
  const std::vector<int> order = Permutation(rng, n);
  const bool preempt_all = rng.Chance(0.5);
  for (const auto& [iface, vhid] : vhids) {
    const std::vector<uint8_t> sorted = DistinctSkews(rng, n);
    const std::vector<int> rank = shared_order ? order : Permutation(rng, n);
    std::vector<uint8_t> skews(n);
    for (int i = 0; i < n; ++i) skews[rank[i]] = sorted[i];
    static constexpr std::array<uint8_t, 5> kAdvbase = {1, 1, 1, 2, 3};
    VhidSpec v = MakeVhid(iface, vhid, kAdvbase[rng.Below(kAdvbase.size())],
                          preempt_all || rng.Chance(0.2), std::move(skews));
    v.rule = rng.Chance(0.8) ? MasterDownRule::kClassic : MasterDownRule::kOpenBsd2025;
    s.vhids.push_back(std::move(v));
  }

  s.link.delay = Duration(rng.Range(50'000, 2'000'000));
  s.link.jitter = Duration(rng.Range(0, 3'000'000));
  s.link.duplicate = rng.Chance(0.5) ? rng.Unit() * 0.03 : 0;
  s.link.reorder = rng.Chance(0.5) ? rng.Unit() * 0.05 : 0;
  s.link.reorder_extra = Duration(rng.Range(0, 15'000'000));
  s.link.loss = rng.Chance(0.2) ? 0.01 + rng.Unit() * 0.04 : 0;
  s.loopback = rng.Chance(0.8);

  const int fault_count = static_cast<int>(rng.Range(0, 6));
  Duration last_end = Seconds(10);
  for (int i = 0; i < fault_count; ++i) {
    Fault f;
    f.kind = static_cast<FaultKind>(rng.Below(7));
    f.start = Seconds(8) + Duration(rng.Range(0, 60'000'000'000));
    f.duration = Seconds(1) + Duration(rng.Range(0, 24'000'000'000));
    f.node = static_cast<int>(rng.Below(n));
    const std::vector<int> perm = Permutation(rng, n);
    const int split = static_cast<int>(rng.Range(1, n - 1));
    f.side.assign(perm.begin(), perm.begin() + split);
    f.other.assign(perm.begin() + split, perm.end());
    std::sort(f.side.begin(), f.side.end());
    std::sort(f.other.begin(), f.other.end());
    const std::string iface = s.interfaces[rng.Below(s.interfaces.size())];
    switch (f.kind) {
      case FaultKind::kLinkDown:
        f.segment = iface;
        break;
      case FaultKind::kPartition:
      case FaultKind::kOneWay:
      case FaultKind::kLoss:
        f.segment = rng.Chance(0.5) ? "" : iface;
        break;
      default:
        break;
    }
    f.loss = 0.05 + rng.Unit() * 0.25;
    f.group = rng.Chance(0.7) ? std::string(kUplinks) : std::string(kAllGroup);
    f.amount = static_cast<int>(rng.Range(1, 3));
    last_end = std::max(last_end, f.start + f.duration);
    s.faults.push_back(std::move(f));
  }
  // Enough quiet time after the last heal for every convergence window to close.
  s.run_for = last_end + Seconds(20);
  return s;
}

std::vector<std::string_view> NamedScenarioNames() {
  return {"bow-out", "group-demotion", "loss-20", "crash-restart", "one-way", "partition"};
}

std::optional<Scenario> NamedScenario(std::string_view name, uint64_t seed) {
  Rng rng(seed ^ 0x5eed5eed5eed5eedULL);
  Scenario s;
  s.name = std::string(name);
  s.seed = seed;
  AddStandardTopology(s, false);
  s.link = QuietLink(rng);
  using P = Probe::Kind;
  auto fault = [](FaultKind kind, int64_t start_s, int64_t dur_s) {
    Fault f;
    f.kind = kind;
    f.start = Seconds(start_s);
    f.duration = Seconds(dur_s);
    return f;
  };
  auto probe = [](P kind, size_t vhid, int node, Duration from, Duration at) {
    return Probe{kind, vhid, node, from, at};
  };

  if (name == "bow-out") {
    // The master stops gracefully: a backup must take over within one interval.
    s.nodes = MakeNodes(rng, 3, false, 200);
    s.vhids.push_back(MakeVhid("lan", 1, 1, false, {0, 50, 100}));
    // A FIFO link: with jitter an older advertisement can overtake the bow-out and
    // legitimately send the new master back to BACKUP (random seeds cover that).
    s.link.jitter = Duration(0);
    s.link.reorder = 0;
    Fault f = fault(FaultKind::kStop, 20, 20);
    f.node = 0;
    s.faults.push_back(f);
    s.probes.push_back(probe(P::kMasterIs, 0, 0, {}, Seconds(19)));
    // n2 may also take over if it hears the bow-out before n1's first advertisement;
    // n1's next one (1.195 s later) settles it: one interval.
    s.probes.push_back(probe(P::kHandedOver, 0, 0, {}, Seconds(20) + Millis(50)));
    s.probes.push_back(probe(P::kMasterIs, 0, 1, {}, Seconds(21) + Millis(300)));
    s.probes.push_back(probe(P::kMasterIs, 0, 1, {}, Seconds(55)));  // no preempt
    s.run_for = Seconds(60);
  } else if (name == "group-demotion") {
    // Demoting the "uplinks" group, then losing the lan link, must move both
    // lan/1 and wan/2 to the peer together; undoing it brings both back (preempt).
    s.nodes = MakeNodes(rng, 3, false, 200);
    s.vhids.push_back(MakeVhid("lan", 1, 1, true, {0, 40, 80}));
    s.vhids.push_back(MakeVhid("wan", 2, 1, true, {10, 50, 90}));
    s.link.jitter = Duration(0);  // FIFO, as in bow-out
    s.link.reorder = 0;
    Fault demote = fault(FaultKind::kDemote, 20, 20);
    demote.node = 0;
    demote.group = std::string(kUplinks);
    demote.amount = 1;
    s.faults.push_back(demote);
    Fault link = fault(FaultKind::kLinkDown, 60, 15);
    link.node = 0;
    link.segment = "lan";
    s.faults.push_back(link);
    for (size_t k = 0; k < 2; ++k) {
      s.probes.push_back(probe(P::kMasterIs, k, 0, {}, Seconds(19)));
      // At once n0 is out; a second backup may preempt on n0's last advertisement
      // still in flight, so "n1 alone" only holds after n1's next advertisement.
      s.probes.push_back(probe(P::kHandedOver, k, 0, {}, Seconds(20) + Millis(100)));
      s.probes.push_back(probe(P::kMasterIs, k, 1, {}, Seconds(25)));
      s.probes.push_back(probe(P::kMasterIs, k, 0, {}, Seconds(45)));
      s.probes.push_back(probe(P::kMasterIs, k, 0, {}, Seconds(85)));
    }
    // wan/2 moves at once through the group demotion; lan/1 loses its only
    // sender silently (link down sends no bow-out), so its backups wait master-down.
    s.probes.push_back(probe(P::kHandedOver, 1, 0, {}, Seconds(60) + Millis(100)));
    s.probes.push_back(probe(P::kMasterIs, 1, 1, {}, Seconds(65)));
    s.probes.push_back(probe(P::kMasterIs, 0, 1, {}, Seconds(65)));
    s.run_for = Seconds(90);
  } else if (name == "loss-20") {
    // 20% symmetric loss at advbase 1 for 5 minutes: the preferred master must
    // never lose MASTER (backups may time out after 3 lost adverts in a row,
    // which the timing invariants check, and must yield at the next one heard).
    s.nodes = MakeNodes(rng, 3, false, 500);
    s.vhids.push_back(MakeVhid("lan", 1, 1, false, {0, 100, 200}));
    s.vhids.push_back(MakeVhid("wan", 2, 1, true, {20, 120, 220}));
    s.link.loss = 0.2;
    for (size_t k = 0; k < 2; ++k) {
      s.probes.push_back(probe(P::kStableBest, k, 0, Seconds(5), Seconds(300)));
    }
    s.run_for = Seconds(300);
  } else if (name == "crash-restart") {
    // The master crashes (no bow-out), a backup takes over after master-down;
    // the restarted node (fresh cookie) preempts back.
    s.nodes = MakeNodes(rng, 3, false, 500);
    s.vhids.push_back(MakeVhid("lan", 1, 1, true, {0, 60, 120}));
    s.vhids.push_back(MakeVhid("wan", 2, 2, true, {5, 65, 125}));
    Fault f = fault(FaultKind::kCrash, 20, 20);
    f.node = 0;
    s.faults.push_back(f);
    for (size_t k = 0; k < 2; ++k) {
      s.probes.push_back(probe(P::kMasterIs, k, 0, {}, Seconds(19)));
      s.probes.push_back(probe(P::kMasterIs, k, 1, {}, Seconds(30)));
      s.probes.push_back(probe(P::kMasterIs, k, 0, {}, Seconds(55)));
    }
    s.run_for = Seconds(60);
  } else if (name == "one-way") {
    // n1 stops hearing n0: n1 becomes MASTER too (dual master is expected while
    // the fault lasts); after the heal n1 hears n0 and steps down.
    s.nodes = MakeNodes(rng, 2, false, 500);
    s.vhids.push_back(MakeVhid("lan", 1, 1, false, {0, 100}));
    Fault f = fault(FaultKind::kOneWay, 15, 20);
    f.side = {0};
    f.other = {1};
    f.segment = "lan";
    s.faults.push_back(f);
    s.probes.push_back(probe(P::kDualMasterIn, 0, 0, Seconds(15), Seconds(35)));
    s.probes.push_back(probe(P::kMasterIs, 0, 0, {}, Seconds(14)));
    s.probes.push_back(probe(P::kMasterIs, 0, 0, {}, Seconds(40)));
    s.run_for = Seconds(45);
  } else if (name == "partition") {
    // A symmetric split on every segment: one master per side, one after the heal.
    s.nodes = MakeNodes(rng, 4, false, 500);
    s.vhids.push_back(MakeVhid("lan", 1, 1, true, {0, 30, 60, 90}));
    s.vhids.push_back(MakeVhid("wan", 2, 1, false, {0, 30, 60, 90}));
    Fault f = fault(FaultKind::kPartition, 15, 15);
    f.side = {0, 1};
    f.other = {2, 3};
    s.faults.push_back(f);
    for (size_t k = 0; k < 2; ++k) {
      s.probes.push_back(probe(P::kDualMasterIn, k, 0, Seconds(15), Seconds(30)));
      s.probes.push_back(probe(P::kMasterIs, k, 0, {}, Seconds(14)));
      s.probes.push_back(probe(P::kMasterIs, k, 0, {}, Seconds(36)));
    }
    s.run_for = Seconds(40);
  } else {
    return std::nullopt;
  }
  return s;
}

}  // namespace hafw::carp::sim
