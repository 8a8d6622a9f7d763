#pragma once

// Messages about a cluster file: collected while loading (every mistake at
// once, not just the first), then reported in file order as
// "file:line:col: message" lines in one kConfig Error.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "haagent/config/cluster_config.h"

namespace hafw::agent {

struct Diagnostic {
  SourcePosition position;
  std::string message;
};

class Diagnostics {
 public:
  // More are counted but not shown: a wrong file must not flood the terminal.
  static constexpr size_t kMaxShown = 50;

  void Add(SourcePosition at, std::string message);
  bool Empty() const { return items_.empty(); }
  size_t Count() const { return items_.size(); }
  const std::vector<Diagnostic>& Items() const { return items_; }

  // kConfig with one "path:line:col: message" line per diagnostic, sorted by
  // position (stable: equal positions keep the order they were found in).
  Error ToError(std::string_view path) const;

 private:
  std::vector<Diagnostic> items_;
};

// Optimal string alignment distance: a swapped pair of letters counts once.
size_t EditDistance(std::string_view a, std::string_view b);

// " (did you mean 'x'?)" when one candidate is close to `word`, else "".
// Close: at most 2 edits, and fewer than half the candidate's length.
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates);

// The same for any range of string-like candidates.
template <typename Range>
std::string DidYouMeanAny(std::string_view word, const Range& candidates) {
  std::vector<std::string_view> views;
  for (const auto& c : candidates) views.emplace_back(c);
  return DidYouMean(word, views);
}

}  // namespace hafw::agent
