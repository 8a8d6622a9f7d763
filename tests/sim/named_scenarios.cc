// The named scenarios: fixed structure and probes; the seed drives the rest
// (delays, drift, cookies).

#include <string>

#include "carp/core/election.h"
#include "tests/sim/rng.h"
#include "tests/sim/scenario.h"
#include "tests/sim/scenario_builders.h"

namespace hafw::carp::sim {

namespace {

Probe MakeProbe(Probe::Kind kind, size_t vhid, int node, Duration at) {
  return Probe{kind, vhid, node, {}, at};
}

// advbase 0 (sub-second CARP) through a crash, a restart, a bow-out and a group
// demotion. The skews stay within a factor of 3 (TimingStable). At advbase 0 both
// master-down rules give 3 x advskew/256, so the two variants must run alike
// (sim_test compares their traces).
void Advbase0(Scenario& s, Rng& rng, MasterDownRule rule) {
  using P = Probe::Kind;
  s.nodes = MakeNodes(rng, 3, false, 200);
  // lan/1 adverts every 78/156/215 ms, master-down 234/469/645 ms; wan/2 98/176/234
  // and 293/527/703 ms.
  s.vhids.push_back(MakeVhid("lan", 1, 0, /*preempt=*/true, {20, 40, 55}));
  s.vhids.push_back(MakeVhid("wan", 2, 0, /*preempt=*/false, {25, 45, 60}));
  for (VhidSpec& v : s.vhids) v.rule = rule;
  // FIFO, as in bow-out: no older advertisement may overtake the bow-out.
  s.link.jitter = Duration(0);
  s.link.reorder = 0;
  auto fault = [](FaultKind kind, int node, int64_t start_s, int64_t dur_s) {
    Fault f;
    f.kind = kind;
    f.node = node;
    f.start = Seconds(start_s);
    f.duration = Seconds(dur_s);
    return f;
  };
  auto probe = [&s](P kind, size_t vhid, int node, Duration at) {
    s.probes.push_back(MakeProbe(kind, vhid, node, at));
  };
  for (size_t k = 0; k < 2; ++k) probe(P::kMasterIs, k, 0, Seconds(5));
  // n0 dies silently: n1 takes both over after its own master-down interval.
  s.faults.push_back(fault(FaultKind::kCrash, 0, 10, 5));
  for (size_t k = 0; k < 2; ++k) {
    const Duration n1_down = MasterDownInterval(0, s.vhids[k].advskew[1], rule);
    probe(P::kMasterIs, k, 1, Seconds(10) + n1_down + Millis(50));
  }
  // n0 restarts at 15 s: it preempts lan/1 at n1's next advert; wan/2 has no
  // preempt and an advbase-0 backup ignores a slower master, so n1 keeps it.
  probe(P::kMasterIs, 0, 0, Seconds(15) + Millis(500));
  probe(P::kMasterIs, 1, 1, Seconds(19) + Millis(500));
  // n1 stops: its bow-out makes n0 and n2 take wan/2 over at once (no backup's
  // master-down, at least 293 - 176 ms away, can have fired), n2 yields to n0.
  s.faults.push_back(fault(FaultKind::kStop, 1, 20, 5));
  probe(P::kHandedOver, 1, 1, Seconds(20) + Millis(20));
  for (size_t k = 0; k < 2; ++k) probe(P::kMasterIs, k, 0, Seconds(20) + Millis(500));
  for (size_t k = 0; k < 2; ++k) probe(P::kMasterIs, k, 0, Seconds(29));
  // Demoting "uplinks" on n0 moves both vhids to n1 at once; undoing it brings
  // lan/1 back (preempt), wan/2 stays with n1.
  Fault demote = fault(FaultKind::kDemote, 0, 30, 10);
  demote.group = std::string(kUplinks);
  demote.amount = 1;
  s.faults.push_back(demote);
  for (size_t k = 0; k < 2; ++k) {
    probe(P::kHandedOver, k, 0, Seconds(30) + Millis(20));
    probe(P::kMasterIs, k, 1, Seconds(31));
  }
  probe(P::kMasterIs, 0, 0, Seconds(40) + Millis(500));
  probe(P::kMasterIs, 1, 1, Seconds(44));
  s.run_for = Seconds(45);
}

}  // namespace

std::vector<std::string_view> NamedScenarioNames() {
  return {"bow-out", "group-demotion", "loss-20",          "crash-restart",
          "one-way", "partition",      "advbase0-classic", "advbase0-openbsd2025"};
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
  } else if (name == "advbase0-classic") {
    Advbase0(s, rng, MasterDownRule::kClassic);
  } else if (name == "advbase0-openbsd2025") {
    Advbase0(s, rng, MasterDownRule::kOpenBsd2025);
  } else {
    return std::nullopt;
  }
  return s;
}

}  // namespace hafw::carp::sim
