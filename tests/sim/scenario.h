#pragma once

// What one simulation run looks like: the nodes, their vhids, the segment's link
// model and a schedule of faults. Random scenarios are a pure function of the
// seed; named scenarios fix the structure and take the seed for everything else
// (delays, drift, cookies).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carp/core/demotion_groups.h"
#include "carp/core/vhost_engine.h"
#include "common/ip_address.h"
#include "common/time.h"
#include "tests/sim/network.h"

namespace hafw::carp::sim {

struct NodeSpec {
  IpAddress address;       // 192.0.2.x (documentation range)
  int64_t drift_ppm = 0;   // local clock rate 1 + ppm/1e6
  Duration boot_offset{};  // the local clock's reading at global time 0
  Duration start_at{};     // when the node is first started (global)
};

struct VhidSpec {
  std::string interface;
  uint8_t vhid = 0;
  uint8_t advbase = 1;
  bool preempt = false;
  MasterDownRule rule = MasterDownRule::kClassic;
  std::vector<uint8_t> advskew;  // per node, distinct (CARP has no tie-break)
  IpAddress vip;
};

enum class FaultKind : uint8_t {
  kCrash,      // the node dies silently; restarted with a fresh VhostSet and cookie at the end
  kStop,       // administrative stop (bow-out from masters), restarted at the end
  kPartition,  // symmetric: `side` cannot talk to the others (on `segment`, or all)
  kOneWay,     // frames from `side` do not reach `other`
  kLinkDown,   // the node's port on `segment` goes down (VhostSet::OnLinkChange)
  kLoss,       // extra loss `loss` on `segment` (or all)
  kDemote,     // AdjustDemotion(group, "admin", +amount) on the node
};
std::string_view FaultKindName(FaultKind kind);

struct Fault {
  FaultKind kind = FaultKind::kCrash;
  Duration start{};
  Duration duration{};
  int node = -1;
  std::string segment;  // "" = every segment (partition, loss)
  std::vector<int> side;
  std::vector<int> other;
  double loss = 0;
  std::string group;
  int amount = 0;

  std::string Describe() const;
};

// Scenario-specific expectations on top of the generic invariants.
struct Probe {
  enum class Kind : uint8_t {
    kMasterIs,      // at `at`, node `node` is the only MASTER of vhid index `vhid`
    kHandedOver,    // at `at`, node `node` is not MASTER of `vhid` and another node is
    kDualMasterIn,  // at least two MASTERs of `vhid` were seen within [from, at]
    kStableBest,    // the preferred node, once MASTER after `from`, stays MASTER until `at`
  };
  Kind kind = Kind::kMasterIs;
  size_t vhid = 0;
  int node = 0;
  Duration from{};
  Duration at{};

  std::string Describe() const;
};

struct Scenario {
  std::string name;  // "random" or a named scenario
  uint64_t seed = 0;
  std::vector<NodeSpec> nodes;
  std::vector<std::string> interfaces;
  std::map<std::string, std::vector<std::string>> groups;  // explicit groups (besides "all")
  std::vector<VhidSpec> vhids;
  LinkModel link;
  bool loopback = true;  // deliver own advertisements back (they must be discarded)
  std::vector<Fault> faults;
  std::vector<Probe> probes;
  Duration run_for{};

  std::string Describe() const;
};

// Whether, on a clean segment, no BACKUP can time out between two advertisements
// of any other node: the shortest master-down interval (min_skew) outlasts the
// longest advertisement interval (max_skew) by more than the link's delay
// spread (jitter, plus reordering), clock drift of up to `max_ppm` either way and
// kStabilitySlack. From advbase 1 on it holds for any spread below a second
// (3 x advbase > advbase + 1 s). At advbase 0 a BACKUP waits
// 3 x its own advskew/256 (both rules), so the skews must stay within a factor
// of about 3: otherwise a demoted fast node keeps timing out and retaking MASTER
// next to a slower, less-demoted master that ignores it (docs/carp.md). Random
// scenarios only use stable timings; sim_test shows the unstable case.
inline constexpr Duration kStabilitySlack = Millis(1);
bool TimingStable(uint8_t advbase, uint8_t min_skew, uint8_t max_skew, MasterDownRule rule,
                  const LinkModel& link, int64_t max_ppm);
bool TimingStable(const VhidSpec& v, const LinkModel& link, int64_t max_ppm);

// Random scenarios. Bump when GenerateScenario changes: every seed then names a
// different scenario (captured_scenarios.cc keeps older failures replayable).
// 2: advbase 0, both master-down rules in about half of the vhids, link drawn first.
inline constexpr int kGeneratorVersion = 2;
Scenario GenerateScenario(uint64_t seed);
std::vector<std::string_view> NamedScenarioNames();
std::optional<Scenario> NamedScenario(std::string_view name, uint64_t seed);

}  // namespace hafw::carp::sim
