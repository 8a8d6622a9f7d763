#pragma once

// Random scenarios that once failed, captured field by field from the generator
// version that produced them. A generator change gives every seed number a new
// scenario; these keep reproducing the original runs (same seed, so the same
// network and cookie streams) as regression tests. `carp_sim --scenario NAME`
// replays one (the seed comes from the capture, --seed is ignored).

#include <optional>
#include <string_view>
#include <vector>

#include "tests/sim/scenario.h"

namespace hafw::carp::sim {

std::vector<std::string_view> CapturedScenarioNames();
std::optional<Scenario> CapturedScenario(std::string_view name);

}  // namespace hafw::carp::sim
