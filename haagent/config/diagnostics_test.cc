#include "haagent/config/diagnostics.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hafw::agent {
namespace {

TEST(EditDistanceTest, CountsEditsAndSwapsOnce) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("advskew", "advskew"), 0u);
  EXPECT_EQ(EditDistance("advksew", "advskew"), 1u);  // a swapped pair
  EXPECT_EQ(EditDistance("prot", "port"), 1u);
  EXPECT_EQ(EditDistance("vhid", "vhids"), 1u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(DidYouMeanTest, SuggestsOnlyCloseCandidates) {
  const std::vector<std::string_view> keys = {"advbase", "advskew", "preempt"};
  EXPECT_EQ(DidYouMean("advskwe", keys), " (did you mean 'advskew'?)");
  EXPECT_EQ(DidYouMean("colour", keys), "");
  EXPECT_EQ(DidYouMean("x", keys), "");
  // Two edits on a short word are too many to be a typo of it.
  EXPECT_EQ(DidYouMean("ab", std::vector<std::string_view>{"cd"}), "");
  EXPECT_EQ(DidYouMean("fw3", std::vector<std::string_view>{"fw1", "fw2"}),
            " (did you mean 'fw1'?)");  // the first of equally close ones
  EXPECT_EQ(DidYouMean("lan0", std::vector<std::string_view>{}), "");
  EXPECT_EQ(DidYouMeanAny("lan9", std::vector<std::string>{"lan0", "wan0"}),
            " (did you mean 'lan0'?)");
}

TEST(DiagnosticsTest, SortedByPositionStableAndCapped) {
  Diagnostics d;
  EXPECT_TRUE(d.Empty());
  d.Add({7, 1}, "second");
  d.Add({3, 11}, "first");
  d.Add({7, 1}, "third");
  Error e = d.ToError("f.toml");
  EXPECT_EQ(e.code, ErrorCode::kConfig);
  EXPECT_EQ(e.context, "f.toml:3:11: first\nf.toml:7:1: second\nf.toml:7:1: third");

  Diagnostics many;
  for (uint32_t i = 0; i < Diagnostics::kMaxShown + 3; ++i) many.Add({i + 1, 1}, "x");
  std::string text = many.ToError("f.toml").context;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 50);
  EXPECT_NE(text.find("\nf.toml: 3 more errors not shown"), std::string::npos);
}

}  // namespace
}  // namespace hafw::agent
