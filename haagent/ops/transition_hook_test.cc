#include "haagent/ops/transition_hook.h"

#include <gtest/gtest.h>

namespace hafw::agent {
namespace {

TEST(TransitionHookTest, ArgumentsAndEnvironment) {
  TransitionHookEvent e;
  e.node = "fw1";
  e.vhid = 7;
  e.interface = "lan0";
  e.state = "MASTER";
  e.previous_state = "BACKUP";
  e.cause = "master-down";
  e.vips = {*IpPrefix::Parse("192.0.2.1/24"), *IpPrefix::Parse("2001:db8:1::1/64")};
  e.groups = {"edge", "lan"};
  HookInvocation h = TransitionHook("/usr/local/lib/hafw/master.sh", e);
  EXPECT_EQ(h.path, "/usr/local/lib/hafw/master.sh");
  EXPECT_EQ(h.args, (std::vector<std::string>{"MASTER", "7", "lan0"}));
  EXPECT_EQ(h.env, (std::map<std::string, std::string>{
                       {"HAFW_NODE", "fw1"},
                       {"HAFW_VHID", "7"},
                       {"HAFW_INTERFACE", "lan0"},
                       {"HAFW_STATE", "MASTER"},
                       {"HAFW_PREVIOUS_STATE", "BACKUP"},
                       {"HAFW_CAUSE", "master-down"},
                       {"HAFW_VIPS", "192.0.2.1/24 2001:db8:1::1/64"},
                       {"HAFW_GROUPS", "edge lan"},
                   }));
}

TEST(TransitionHookTest, NoVipsOrGroupsAreEmptyStrings) {
  HookInvocation h = TransitionHook("/x", TransitionHookEvent{});
  EXPECT_EQ(h.env.at("HAFW_VIPS"), "");
  EXPECT_EQ(h.env.at("HAFW_GROUPS"), "");
}

}  // namespace
}  // namespace hafw::agent
