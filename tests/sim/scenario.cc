#include "tests/sim/scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "carp/core/election.h"
#include "tests/sim/rng.h"
#include "tests/sim/scenario_builders.h"

namespace hafw::carp::sim {

namespace {

std::string Nodes(const std::vector<int>& nodes) {
  std::string out;
  for (int n : nodes) out += fmt::format("{}n{}", out.empty() ? "" : ",", n);
  return "{" + out + "}";
}

std::string Secs(Duration d) {
  return fmt::format("{}.{:03}s", d.count() / 1'000'000'000, (d.count() / 1'000'000) % 1000);
}

// `count` distinct advbase-0 skews: the lowest drawn in 1..100, the range above
// it cut where TimingStable stops holding (and raised when it is too narrow).
std::vector<uint8_t> Advbase0Skews(Rng& rng, int count, MasterDownRule rule, const LinkModel& link,
                                   int64_t max_ppm) {
  for (int lo = static_cast<int>(rng.Range(1, 100)); lo + count - 1 <= 254; ++lo) {
    int hi = 254;
    while (hi >= lo + count - 1 && !TimingStable(0, static_cast<uint8_t>(lo),
                                                 static_cast<uint8_t>(hi), rule, link, max_ppm)) {
      --hi;
    }
    if (hi >= lo + count - 1) return DistinctSkews(rng, count, lo, hi);
  }
  // Only reached for a delay spread above ~170 ms (lo = 100 then fails), which
  // the generator never draws.
  return DistinctSkews(rng, count, 255 - count, 254);
}

}  // namespace

bool TimingStable(uint8_t advbase, uint8_t min_skew, uint8_t max_skew, MasterDownRule rule,
                  const LinkModel& link, int64_t max_ppm) {
  const Duration spread = link.jitter + (link.reorder > 0 ? link.reorder_extra : Duration(0));
  // Global time: a fast clock ends a local interval early, a slow one late.
  const double fast = 1.0 + static_cast<double>(max_ppm) / 1e6;
  const double slow = 1.0 - static_cast<double>(max_ppm) / 1e6;
  const double shortest_down =
      static_cast<double>(MasterDownInterval(advbase, min_skew, rule).count()) / fast;
  const double longest_interval =
      static_cast<double>(AdvertisementInterval(advbase, max_skew).count()) / slow;
  return shortest_down - longest_interval > static_cast<double>((spread + kStabilitySlack).count());
}

bool TimingStable(const VhidSpec& v, const LinkModel& link, int64_t max_ppm) {
  const auto [lo, hi] = std::minmax_element(v.advskew.begin(), v.advskew.end());
  return lo == v.advskew.end() || TimingStable(v.advbase, *lo, *hi, v.rule, link, max_ppm);
}

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
  const std::string generator =
      name == "random" ? fmt::format(" (generator {})", kGeneratorVersion) : "";
  std::string out = fmt::format("scenario {} seed {}{}: {} nodes, run {}\n", name, seed, generator,
                                nodes.size(), Secs(run_for));
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
  const int64_t max_ppm = rng.Chance(0.7) ? 1000 : 0;
  s.nodes = MakeNodes(rng, n, /*staggered=*/true, max_ppm);
  // The link first: advbase-0 skews depend on its delay spread.
  s.link.delay = Duration(rng.Range(50'000, 2'000'000));
  s.link.jitter = Duration(rng.Range(0, 3'000'000));
  s.link.duplicate = rng.Chance(0.5) ? rng.Unit() * 0.03 : 0;
  s.link.reorder = rng.Chance(0.5) ? rng.Unit() * 0.05 : 0;
  s.link.reorder_extra = Duration(rng.Range(0, 15'000'000));
  s.link.loss = rng.Chance(0.2) ? 0.01 + rng.Unit() * 0.04 : 0;
  s.loopback = rng.Chance(0.8);

  // lan/1 and wan/2 always (the "uplinks" group), sometimes a second lan vhid and a dmz one.
  std::vector<std::pair<std::string, uint8_t>> vhids = {{"lan", 1}, {"wan", 2}};
  if (rng.Chance(0.4)) vhids.push_back({"lan", 3});
  if (dmz) vhids.push_back({"dmz", 4});
  // Usually one node is primary everywhere (the common active/standby setup);
  // otherwise every vhid ranks the nodes independently (active/active).
  const bool shared_order = rng.Chance(0.6);
  const std::vector<int> order = Permutation(rng, n);
  const bool preempt_all = rng.Chance(0.5);
  // The master-down rule: the same on every vhid (a cluster configured one way),
  // or chosen per vhid. It only matters from advbase 1 on (election_test.cc).
  enum class Rules : uint8_t { kAllClassic, kAllOpenBsd2025, kPerVhid };
  const auto rules = static_cast<Rules>(rng.Below(3));
  for (const auto& [iface, vhid] : vhids) {
    // advbase 0 (sub-second, OpenBSD/UCARP) in about 2 of 7 vhids.
    static constexpr std::array<uint8_t, 7> kAdvbase = {0, 0, 1, 1, 1, 2, 3};
    const uint8_t advbase = kAdvbase[rng.Below(kAdvbase.size())];
    const bool openbsd2025 =
        rules == Rules::kAllOpenBsd2025 || (rules == Rules::kPerVhid && rng.Chance(0.5));
    const MasterDownRule rule =
        openbsd2025 ? MasterDownRule::kOpenBsd2025 : MasterDownRule::kClassic;
    // advbase 0 needs advskew 1..254 on every node (haagent/config.cc; UCARP
    // refuses 0/0) and a skew range the link and clocks leave stable (see
    // TimingStable); otherwise 0..240 (240 is where demotion-as-advskew caps).
    const std::vector<uint8_t> sorted =
        advbase == 0 ? Advbase0Skews(rng, n, rule, s.link, max_ppm) : DistinctSkews(rng, n, 0, 240);
    const std::vector<int> rank = shared_order ? order : Permutation(rng, n);
    std::vector<uint8_t> skews(n);
    for (int i = 0; i < n; ++i) skews[rank[i]] = sorted[i];
    VhidSpec v = MakeVhid(iface, vhid, advbase, preempt_all || rng.Chance(0.2), std::move(skews));
    v.rule = rule;
    s.vhids.push_back(std::move(v));
  }

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

}  // namespace hafw::carp::sim
