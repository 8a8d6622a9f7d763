#include "haagent/config/diagnostics.h"

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace hafw::agent {

void Diagnostics::Add(SourcePosition at, std::string message) {
  items_.push_back({at, std::move(message)});
}

Error Diagnostics::ToError(std::string_view path) const {
  std::vector<Diagnostic> sorted = items_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.position.line, a.position.column) <
           std::tie(b.position.line, b.position.column);
  });
  std::string out;
  size_t shown = std::min(sorted.size(), kMaxShown);
  for (size_t i = 0; i < shown; ++i) {
    if (i != 0) out += '\n';
    out += fmt::format("{}:{}:{}: {}", path, sorted[i].position.line, sorted[i].position.column,
                       sorted[i].message);
  }
  if (sorted.size() > shown) {
    out += fmt::format("\n{}: {} more errors not shown", path, sorted.size() - shown);
  }
  return Error{ErrorCode::kConfig, std::move(out)};
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  size_t best_distance = SIZE_MAX;
  for (std::string_view candidate : candidates) {
    size_t distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  if (best.empty() || best_distance > 2 || best_distance * 2 >= best.size()) return "";
  return fmt::format(" (did you mean '{}'?)", best);
}

}  // namespace hafw::agent
