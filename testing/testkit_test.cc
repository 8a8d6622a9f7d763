// The test kit's own checks. Commands and bounded waits run anywhere; the
// namespace fixture needs root (skipped without it, failed under CI).

#include <sys/stat.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "testing/netns_lab.h"

namespace hafw::testkit {
namespace {

bool NamespaceExists(const std::string& ns) {
  struct stat st {};
  return stat(("/run/netns/" + ns).c_str(), &st) == 0;
}

TEST(TestkitTest, RunCommandReportsExitStatusAndOutput) {
  EXPECT_EQ(RunCommand({"true"}), 0);
  EXPECT_EQ(RunCommand({"false"}), 1);
  EXPECT_EQ(RunCommand({"/nonexistent/hafw-no-such-binary"}), 127);
  std::string out;
  EXPECT_EQ(RunCommandCapture({"echo", "hafw"}, &out), 0);
  EXPECT_EQ(out, "hafw\n");
}

TEST(TestkitTest, WaitUntilIsBounded) {
  int calls = 0;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(WaitUntil([&] { return ++calls < 0; }, std::chrono::milliseconds(50)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_GT(calls, 1);
  EXPECT_TRUE(WaitUntil([] { return true; }, std::chrono::milliseconds(0)));
}

TEST(TestkitTest, RunInAnUnknownNamespaceIsAnError) {
  bool ran = false;
  auto result = RunIn("hafwtk-no-such-namespace", [&] { ran = true; });
  EXPECT_FALSE(result.has_value());
  EXPECT_FALSE(ran);
}

TEST(TestkitNetnsTest, GroupCreatesEntersAndRemovesItsNamespaces) {
  HAFW_REQUIRE_ROOT_OR_SKIP();
  std::string a, b;
  {
    NetnsGroup group;
    auto made_a = group.Add("a");
    ASSERT_TRUE(made_a.has_value()) << made_a.error().ToString();
    auto made_b = group.Add("b");
    ASSERT_TRUE(made_b.has_value()) << made_b.error().ToString();
    a = *made_a;
    b = *made_b;
    EXPECT_EQ(a.rfind("hafwtk-", 0), 0u);
    EXPECT_TRUE(NamespaceExists(a));
    ASSERT_TRUE(group.AddVeth(a, "tk0", b, "tk1").has_value());
    ASSERT_EQ(group.Ip(a, {"addr", "add", "203.0.113.1/24", "dev", "tk0"}), 0);
    auto count = RunIn(a, [] {
      return CountAddressesOn(
          "tk0", {*IpPrefix::Parse("203.0.113.1/24"), *IpPrefix::Parse("203.0.113.2/24")});
    });
    ASSERT_TRUE(count.has_value());
    EXPECT_EQ(*count, 1);
    // The peer end lives in b, not a.
    auto in_b = RunIn(b, [] { return CountAddressesOn("tk1", {}); });
    ASSERT_TRUE(in_b.has_value());
    EXPECT_EQ(*in_b, 0);
  }  // the destructor tears down
  EXPECT_FALSE(NamespaceExists(a));
  EXPECT_FALSE(NamespaceExists(b));
}

TEST(TestkitNetnsTest, LabSetupGivesTwoConnectedNamespaces) {
  HAFW_REQUIRE_ROOT_OR_SKIP();
  NetnsLab lab;
  auto ok = lab.Setup();
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  std::string out;
  EXPECT_EQ(lab.group.Exec(lab.ns_a, {"ping", "-c", "1", "-W", "2", "192.0.2.2"}, &out), 0) << out;
  lab.Teardown();
  EXPECT_FALSE(NamespaceExists(lab.ns_a));
}

}  // namespace
}  // namespace hafw::testkit
