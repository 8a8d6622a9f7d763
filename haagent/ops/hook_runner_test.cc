#include "haagent/ops/hook_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace hafw::agent {
namespace {

namespace fs = std::filesystem;

class HookRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hafw-hook-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Script(const std::string& name, const std::string& body) {
    fs::path p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
  }

  boost::asio::io_context io_;
  fs::path dir_;
};

TEST_F(HookRunnerTest, RunsHooksInOrderWithArgsAndEnv) {
  std::string log = (dir_ / "log").string();
  std::string hook = Script("h", "echo \"$1 $HAFW_VHID\" >> " + log);
  std::vector<HookResult> results;
  HookRunner runner(io_, std::chrono::seconds(5),
                    [&](const HookResult& r) { results.push_back(r); });
  runner.Enqueue({hook, {"master"}, {{"HAFW_VHID", "1"}}});
  runner.Enqueue({hook, {"backup"}, {{"HAFW_VHID", "2"}}});
  runner.Drain(std::chrono::seconds(5));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].exit_code, 0);
  std::ifstream in(log);
  std::string a, b;
  std::getline(in, a);
  std::getline(in, b);
  EXPECT_EQ(a, "master 1");
  EXPECT_EQ(b, "backup 2");
}

TEST_F(HookRunnerTest, ReportsExitCode) {
  std::vector<HookResult> results;
  HookRunner runner(io_, std::chrono::seconds(5),
                    [&](const HookResult& r) { results.push_back(r); });
  runner.Enqueue({Script("fail", "exit 3"), {}, {}});
  runner.Drain(std::chrono::seconds(5));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].exit_code, 3);
  EXPECT_FALSE(results[0].timed_out);
}

TEST_F(HookRunnerTest, KillsHookThatOverrunsItsTimeout) {
  std::vector<HookResult> results;
  HookRunner runner(io_, std::chrono::seconds(1),
                    [&](const HookResult& r) { results.push_back(r); });
  auto start = std::chrono::steady_clock::now();
  runner.Enqueue({Script("slow", "sleep 30"), {}, {}});
  runner.Drain(std::chrono::seconds(10));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].timed_out);
  EXPECT_EQ(results[0].signal, SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(HookRunnerTest, KillsHookThatIgnoresSigterm) {
  std::vector<HookResult> results;
  HookRunner runner(io_, std::chrono::seconds(1),
                    [&](const HookResult& r) { results.push_back(r); });
  runner.Enqueue({Script("stubborn",
                         "trap '' TERM; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done"),
                  {},
                  {}});
  runner.Drain(std::chrono::seconds(10));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].timed_out);
  EXPECT_EQ(results[0].signal, SIGKILL);
}

TEST_F(HookRunnerTest, MissingExecutableIsReportedNotFatal) {
  std::vector<HookResult> results;
  HookRunner runner(io_, std::chrono::seconds(5),
                    [&](const HookResult& r) { results.push_back(r); });
  runner.Enqueue({(dir_ / "nope").string(), {}, {}});
  runner.Drain(std::chrono::seconds(5));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].exit_code, 127);
  EXPECT_EQ(results[0].error, "cannot execute");
}

}  // namespace
}  // namespace hafw::agent
