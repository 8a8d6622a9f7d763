#include "tests/sim/scenario_builders.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace hafw::carp::sim {

IpAddress DocAddress(int host) { return IpAddress::V4({192, 0, 2, static_cast<uint8_t>(host)}); }

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

std::vector<uint8_t> DistinctSkews(Rng& rng, int count, int lo, int hi) {
  std::vector<uint8_t> out;
  while (static_cast<int>(out.size()) < count) {
    const auto s = static_cast<uint8_t>(rng.Range(lo, hi));
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

}  // namespace hafw::carp::sim
