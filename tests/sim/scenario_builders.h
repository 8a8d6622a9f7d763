#pragma once

// Building blocks shared by the random generator, the named scenarios and the
// captured ones: documentation addresses, the standard lan/wan(/dmz) topology,
// nodes, vhids, skews and link models.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "tests/sim/network.h"
#include "tests/sim/rng.h"
#include "tests/sim/scenario.h"

namespace hafw::carp::sim {

inline constexpr std::string_view kUplinks = "uplinks";

// 192.0.2.host (documentation range).
IpAddress DocAddress(int host);

// Every node a port on lan and wan (+dmz), lan and wan in the group "uplinks".
void AddStandardTopology(Scenario& s, bool with_dmz);

// Nodes 192.0.2.1.. with drift in [-max_ppm, max_ppm], a random boot offset and,
// when staggered, a start within the first 2 s.
std::vector<NodeSpec> MakeNodes(Rng& rng, int count, bool staggered, int64_t max_ppm);

// A classic-rule vhid with VIP 192.0.2.(100 + vhid).
VhidSpec MakeVhid(std::string iface, uint8_t vhid, uint8_t advbase, bool preempt,
                  std::vector<uint8_t> skews);

// `count` distinct advskews in lo..hi, ascending.
std::vector<uint8_t> DistinctSkews(Rng& rng, int count, int lo, int hi);

// A random permutation of 0..n-1.
std::vector<int> Permutation(Rng& rng, int n);

// The named scenarios' link: sub-millisecond delay, a little jitter, rare
// duplicates and reordering.
LinkModel QuietLink(Rng& rng);

}  // namespace hafw::carp::sim
