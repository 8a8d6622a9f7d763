#include "tests/sim/captured_scenarios.h"

#include <string>
#include <utility>

#include "tests/sim/scenario_builders.h"

namespace hafw::carp::sim {

namespace {

constexpr std::string_view kG1Seed7038242 = "g1-restart-7038242";
constexpr std::string_view kG1Seed7038543 = "g1-restart-7038543";

// The generator-1 frame shared by every capture: lan, wan (group "uplinks") and dmz.
Scenario Frame(std::string_view name, uint64_t seed, Duration run_for) {
  Scenario s;
  s.name = std::string(name);
  s.seed = seed;
  s.interfaces = {"lan", "wan", "dmz"};
  s.groups[std::string(kUplinks)] = {"lan", "wan"};
  s.run_for = run_for;
  return s;
}

void AddNode(Scenario& s, int64_t ppm, int64_t boot_ns, int64_t start_ns) {
  NodeSpec n;
  n.address = DocAddress(static_cast<int>(s.nodes.size()) + 1);
  n.drift_ppm = ppm;
  n.boot_offset = Duration(boot_ns);
  n.start_at = Duration(start_ns);
  s.nodes.push_back(n);
}

void AddVhid(Scenario& s, std::string iface, uint8_t vhid, bool preempt,
             std::vector<uint8_t> skews) {
  VhidSpec v;
  v.interface = std::move(iface);
  v.vhid = vhid;
  v.advbase = 1;
  v.preempt = preempt;
  v.rule = MasterDownRule::kClassic;
  v.advskew = std::move(skews);
  v.vip = DocAddress(100 + vhid);
  s.vhids.push_back(std::move(v));
}

Fault MakeFault(FaultKind kind, int64_t start_ns, int64_t duration_ns, int node) {
  Fault f;
  f.kind = kind;
  f.start = Duration(start_ns);
  f.duration = Duration(duration_ns);
  f.node = node;
  return f;
}

Fault LinkDown(int64_t start_ns, int64_t duration_ns, int node, std::string segment) {
  Fault f = MakeFault(FaultKind::kLinkDown, start_ns, duration_ns, node);
  f.segment = std::move(segment);
  return f;
}

Fault Demote(int64_t start_ns, int64_t duration_ns, int node, std::string_view group, int amount) {
  Fault f = MakeFault(FaultKind::kDemote, start_ns, duration_ns, node);
  f.group = std::string(group);
  f.amount = amount;
  return f;
}

// Seed 7038242: n1 is MASTER of wan/2 with "uplinks" demoted by 2 while n0 is
// stopped; n0 restarts at 47.928 s, and 0.965 s later n1's dmz link (in no
// explicit group) goes down. The fault list keeps the generator's order, which
// decides the order of same-instant events.
Scenario Seed7038242() {
  Scenario s = Frame(kG1Seed7038242, 7038242, Duration(95254336099));
  AddNode(s, -496, 351424504123066, 1407128334);
  AddNode(s, -715, 622836463126580, 1144709115);
  AddVhid(s, "lan", 1, false, {13, 24});
  AddVhid(s, "wan", 2, true, {194, 224});
  AddVhid(s, "dmz", 4, false, {93, 146});
  s.link.delay = Duration(1520765);
  s.link.jitter = Duration(1909149);
  s.link.duplicate = 0x1.3e26d76873d3cp-7;
  s.link.reorder = 0x1.9fcaf052f83e2p-6;
  s.link.reorder_extra = Duration(8278912);
  s.loopback = true;
  s.faults.push_back(Demote(38099173381, 13871245284, 1, "uplinks", 2));
  s.faults.push_back(LinkDown(48893063184, 11001848875, 1, "dmz"));
  s.faults.push_back(MakeFault(FaultKind::kStop, 25377796115, 22550296487, 0));
  s.faults.push_back(LinkDown(52398663403, 17309407379, 1, "lan"));
  s.faults.push_back(MakeFault(FaultKind::kStop, 56926144166, 18328191933, 1));
  return s;
}

// Seed 7038543: n0 is MASTER of lan/1 and wan/2 with "all" demoted by 2 while n1
// is crashed; n1 restarts at 61.993 s, and 0.148 s later n0's dmz link goes down.
Scenario Seed7038543() {
  Scenario s = Frame(kG1Seed7038543, 7038543, Duration(92653958010));
  AddNode(s, 0, 951544254621429, 1313482696);
  AddNode(s, 0, 977763849573688, 1375777154);
  AddVhid(s, "lan", 1, true, {53, 153});
  AddVhid(s, "wan", 2, true, {46, 17});
  AddVhid(s, "dmz", 4, true, {207, 163});
  s.link.delay = Duration(69145);
  s.link.jitter = Duration(2282901);
  s.link.duplicate = 0x1.1c7a35d4eef2ap-6;
  s.link.reorder = 0;
  s.link.reorder_extra = Duration(703833);
  s.loopback = false;
  s.faults.push_back(LinkDown(62140685176, 2534835016, 0, "dmz"));
  s.faults.push_back(Demote(52633280566, 20020677444, 0, "all", 2));
  s.faults.push_back(MakeFault(FaultKind::kStop, 12740090764, 5338963685, 1));
  s.faults.push_back(MakeFault(FaultKind::kCrash, 43567251904, 18425804752, 1));
  s.faults.push_back(LinkDown(8000199327, 15044560147, 1, "dmz"));
  Fault one_way = MakeFault(FaultKind::kOneWay, 20504249022, 4432195877, 1);
  one_way.side = {1};
  one_way.other = {0};
  s.faults.push_back(one_way);
  return s;
}

}  // namespace

std::vector<std::string_view> CapturedScenarioNames() { return {kG1Seed7038242, kG1Seed7038543}; }

std::optional<Scenario> CapturedScenario(std::string_view name) {
  if (name == kG1Seed7038242) return Seed7038242();
  if (name == kG1Seed7038543) return Seed7038543();
  return std::nullopt;
}

}  // namespace hafw::carp::sim
