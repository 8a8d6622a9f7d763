#include "haagent/config/cluster_config.h"

namespace hafw::agent {

namespace {
constexpr std::string_view kClassic = "classic";
constexpr std::string_view kOpenBsd2025 = "openbsd-2025";
}  // namespace

std::string_view MasterDownRuleName(carp::MasterDownRule rule) {
  return rule == carp::MasterDownRule::kOpenBsd2025 ? kOpenBsd2025 : kClassic;
}

std::optional<carp::MasterDownRule> ParseMasterDownRule(std::string_view text) {
  if (text == kClassic) return carp::MasterDownRule::kClassic;
  if (text == kOpenBsd2025) return carp::MasterDownRule::kOpenBsd2025;
  return std::nullopt;
}

}  // namespace hafw::agent
