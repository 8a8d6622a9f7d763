#include "haagent/control/status_format.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "haagent/control/json.h"

namespace hafw::agent {
namespace {

std::string JoinItems(const google::protobuf::RepeatedPtrField<std::string>& items,
                      std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string DropsText(const google::protobuf::Map<std::string, uint64_t>& drops) {
  std::vector<std::pair<std::string, uint64_t>> sorted(drops.begin(), drops.end());
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [reason, count] : sorted) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", reason, count);
  }
  return out;
}

}  // namespace

std::string FormatAge(double seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  auto s = static_cast<int64_t>(seconds);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string FormatStatusText(const control::v1::StatusReply& st) {
  std::string out = fmt::format("node {} (hafw {}), up {}\n\n", st.node(), st.version(),
                                FormatAge(st.uptime_seconds()));
  out += fmt::format("{:<5} {:<10} {:<7} {:<9} {:<6} {:<34} {}\n", "VHID", "INTERFACE", "STATE",
                     "ADV/SKEW", "DEMOTE", "VIPS", "LAST TRANSITION");
  for (const auto& v : st.vhosts()) {
    std::string skew =
        v.advertised_advskew() != v.advskew()
            ? fmt::format("{}/{}({})", v.advbase(), v.advskew(), v.advertised_advskew())
            : fmt::format("{}/{}", v.advbase(), v.advskew());
    std::string transition = "-";
    if (v.has_last_transition()) {
      const auto& t = v.last_transition();
      transition = fmt::format("{}->{} ({}) {} ago", t.from(), t.to(), t.cause(),
                               FormatAge(t.seconds_ago()));
    }
    std::string state = v.link_up() ? v.state() : v.state() + "*";
    out += fmt::format("{:<5} {:<10} {:<7} {:<9} {:<6} {:<34} {}\n", v.vhid(), v.interface(), state,
                       skew, v.demote(), JoinItems(v.vips(), ", "), transition);
  }
  bool any_link_down = std::any_of(st.vhosts().begin(), st.vhosts().end(),
                                   [](const auto& v) { return !v.link_up(); });
  if (any_link_down) out += "(* parent link down)\n";

  out += "\nPeers:\n";
  bool any_peer = false;
  for (const auto& v : st.vhosts()) {
    if (!v.has_last_peer()) continue;
    any_peer = true;
    const auto& p = v.last_peer();
    out += fmt::format(
        "  vhid {} on {}: last advertisement from {} (advbase {}, advskew {}, "
        "demote {})\n",
        v.vhid(), v.interface(), p.address(), p.advbase(), p.advskew(), p.demote());
  }
  if (!any_peer) out += "  none heard\n";

  out += "\nDemotion:\n";
  for (const auto& g : st.groups()) {
    std::string members =
        g.interfaces().empty() ? "" : " (" + JoinItems(g.interfaces(), ", ") + ")";
    out += fmt::format("  group {}{}: {}\n", g.name(), members, g.total());
    for (const auto& r : g.reasons()) {
      out += fmt::format("    {} +{} since {} ago\n", r.reason(), r.count(),
                         FormatAge(r.since_seconds_ago()));
    }
  }

  out += "\nCounters:\n";
  for (const auto& v : st.vhosts()) {
    std::string drops = DropsText(v.drops());
    out += fmt::format("  vhid {} on {}: sent {}, received {}, transitions {}{}\n", v.vhid(),
                       v.interface(), v.adverts_sent(), v.adverts_received(), v.transitions(),
                       drops.empty() ? "" : "; dropped: " + drops);
  }
  for (const auto& i : st.interfaces()) {
    std::string drops = DropsText(i.drops());
    if (!drops.empty()) out += fmt::format("  {} (no vhid): dropped: {}\n", i.interface(), drops);
  }
  return out;
}

std::string FormatStatusJson(const control::v1::StatusReply& status) {
  return MessageToJson(status);
}

}  // namespace hafw::agent
