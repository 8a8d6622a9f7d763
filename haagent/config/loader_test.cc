#include "haagent/config/loader.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "haagent/config/config_test_fixture.h"
#include "haagent/config/node_plan.h"

namespace hafw::agent::config_test {
namespace {

namespace fs = std::filesystem;

// The example in etc/ with its /etc/hafw/secrets/ paths moved into the test
// directory, as tools/make_lab_secrets.sh does for the lab.
TEST_F(ConfigTest, ExampleParsesAndPlansMatchTheLab) {
  std::string text = ReadFile(fs::path(SourceDir()) / "etc/hafw.toml");
  ASSERT_NE(text.find("/etc/hafw/secrets/"), std::string::npos);
  for (size_t at; (at = text.find("/etc/hafw/secrets/")) != std::string::npos;) {
    text.replace(at, std::string_view("/etc/hafw/secrets/").size(), dir_.string() + "/");
  }
  WriteFile(dir_ / "hafw.toml", text, 0644);
  auto config = LoadClusterConfig((dir_ / "hafw.toml").string());
  ASSERT_TRUE(config) << config.error().context;

  ASSERT_EQ(config->nodes.size(), 2u);
  EXPECT_EQ(config->nodes[0].name, "fw1");
  EXPECT_EQ(config->nodes[1].name, "fw2");
  EXPECT_EQ(config->groups, (std::vector<InterfaceGroup>{{"edge", {"lan0", "wan0"}}}));
  ASSERT_TRUE(config->sync);
  EXPECT_EQ(config->sync->key_file, (dir_ / "sync.key").string());
  EXPECT_EQ(config->hooks, HookConfig{});

  VhidPlan lan;
  lan.interface = "lan0";
  lan.vhid = 1;
  lan.advbase = 1;
  lan.advskew = 0;
  lan.preempt = true;
  lan.vips = {Prefix("192.0.2.1/24"), Prefix("2001:db8:1::1/64")};
  lan.passphrase = Bytes("lan-secret");
  lan.groups = {"edge"};
  VhidPlan wan = lan;
  wan.interface = "wan0";
  wan.vhid = 2;
  wan.vips = {Prefix("198.51.100.1/24"), Prefix("2001:db8:2::1/64")};
  wan.passphrase = Bytes("wan-secret");

  NodePlan fw1;
  fw1.node = "fw1";
  fw1.vhids = {lan, wan};
  fw1.groups = {{"edge", {"lan0", "wan0"}}};
  fw1.sync = SyncPlan{
      "sync0", 7788, Address("203.0.113.1"), {{"fw2", Address("203.0.113.2")}}, Bytes(kSyncKey)};
  auto plan1 = PlanForNode(*config, "fw1");
  ASSERT_TRUE(plan1) << plan1.error().context;
  EXPECT_EQ(*plan1, fw1);

  NodePlan fw2 = fw1;
  fw2.node = "fw2";
  fw2.vhids[0].advskew = 100;
  fw2.vhids[1].advskew = 100;
  fw2.sync = SyncPlan{
      "sync0", 7788, Address("203.0.113.2"), {{"fw1", Address("203.0.113.1")}}, Bytes(kSyncKey)};
  auto plan2 = PlanForNode(*config, "fw2");
  ASSERT_TRUE(plan2) << plan2.error().context;
  EXPECT_EQ(*plan2, fw2);
}

TEST_F(ConfigTest, MinimalFileGetsDefaults) {
  auto config = Load("good_minimal.toml");
  ASSERT_TRUE(config) << config.error().context;
  EXPECT_FALSE(config->sync);
  EXPECT_TRUE(config->groups.empty());
  ASSERT_EQ(config->vhids.size(), 1u);
  const VhidConfig& v = config->vhids[0];
  EXPECT_EQ(v.advbase, 1);
  EXPECT_FALSE(v.preempt);
  EXPECT_EQ(v.master_down, carp::MasterDownRule::kClassic);
  EXPECT_FALSE(v.demote_raises_advskew);
  EXPECT_FALSE(v.vmac);
  EXPECT_TRUE(v.unicast_peers.empty());
  EXPECT_EQ(v.passphrase_file, (dir_ / "vhid1.pass").string());
  EXPECT_EQ(config->hooks.timeout_seconds, 30u);
  auto plan = PlanForNode(*config, "fw2");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->vhids[0].advskew, 100);
  EXPECT_TRUE(plan->vhids[0].groups.empty());
  EXPECT_FALSE(plan->sync);
}

TEST_F(ConfigTest, OverridesRenamesPeersAndHooks) {
  auto config = Load("good_full.toml");
  ASSERT_TRUE(config) << config.error().context;
  // "secrets/../vhid1.pass" resolves against the file's directory.
  EXPECT_EQ(config->vhids[0].passphrase_file, (dir_ / "vhid1.pass").string());
  EXPECT_EQ(config->hooks.master, (dir_ / "hook.sh").string());
  EXPECT_EQ(config->hooks.backup, (dir_ / "hook.sh").string());
  EXPECT_EQ(config->hooks.init, "");
  EXPECT_EQ(config->hooks.timeout_seconds, 5u);
  // Groups sorted by name; members no vhid uses (dmz0) are fine.
  EXPECT_EQ(config->groups,
            (std::vector<InterfaceGroup>{{"edge", {"lan0", "wan0"}}, {"spare", {"dmz0"}}}));

  auto a = PlanForNode(*config, "a");
  ASSERT_TRUE(a) << a.error().context;
  ASSERT_EQ(a->vhids.size(), 2u);
  const VhidPlan& a_lan = a->vhids[0];
  EXPECT_EQ(a_lan.interface, "lan0");
  EXPECT_EQ(a_lan.vhid, 7);
  EXPECT_EQ(a_lan.advbase, 2);   // from [carp]
  EXPECT_EQ(a_lan.advskew, 10);  // the node's default
  EXPECT_TRUE(a_lan.preempt);
  EXPECT_EQ(a_lan.master_down, carp::MasterDownRule::kOpenBsd2025);
  EXPECT_TRUE(a_lan.demote_raises_advskew);
  EXPECT_TRUE(a_lan.vmac);
  EXPECT_EQ(a_lan.vips,
            (std::vector<IpPrefix>{Prefix("2001:db8:1::1/64"), Prefix("192.0.2.1/24")}));
  EXPECT_EQ(a_lan.unicast_peer_v4, Address("192.0.2.3"));
  EXPECT_EQ(a_lan.unicast_peer_v6, Address("2001:db8:1::3"));
  EXPECT_EQ(a_lan.groups, std::vector<std::string>{"edge"});
  const VhidPlan& a_wan = a->vhids[1];
  EXPECT_EQ(a_wan.interface, "wan0");
  EXPECT_EQ(a_wan.vhid, 7);  // the same vhid on another interface is fine
  EXPECT_EQ(a_wan.advbase, 0);
  EXPECT_FALSE(a_wan.preempt);
  EXPECT_EQ(a_wan.master_down, carp::MasterDownRule::kClassic);
  EXPECT_FALSE(a_wan.demote_raises_advskew);
  EXPECT_EQ(a_wan.passphrase, Bytes("wan-secret"));
  EXPECT_FALSE(a_wan.unicast_peer_v4);
  ASSERT_TRUE(a->sync);
  EXPECT_EQ(a->sync->interface, "sync0");
  EXPECT_EQ(a->sync->port, 7789);
  EXPECT_EQ(a->sync->local_address, Address("2001:db8:ff::1"));
  EXPECT_EQ(a->sync->peers, (std::vector<SyncPeer>{{"b", Address("2001:db8:ff::2")}}));

  auto b = PlanForNode(*config, "b");
  ASSERT_TRUE(b) << b.error().context;
  EXPECT_EQ(b->vhids[0].interface, "enp1s0");  // renamed on b only
  EXPECT_EQ(b->vhids[0].advskew, 5);           // the vhid's per-node value wins
  EXPECT_EQ(b->vhids[0].unicast_peer_v4, Address("192.0.2.2"));
  EXPECT_FALSE(b->vhids[0].unicast_peer_v6);
  EXPECT_EQ(b->vhids[1].interface, "wan0");
  EXPECT_EQ(b->vhids[1].advskew, 20);
  EXPECT_EQ(b->groups,
            (std::vector<InterfaceGroup>{{"edge", {"enp1s0", "wan0"}}, {"spare", {"dmz0"}}}));
  EXPECT_EQ(b->sync->interface, "enp9s0");
  EXPECT_EQ(b->sync->peers, (std::vector<SyncPeer>{{"a", Address("2001:db8:ff::1")}}));
  // The VIPs and passphrase are the cluster's, not the node's.
  EXPECT_EQ(b->vhids[0].vips, a_lan.vips);
  EXPECT_EQ(b->vhids[0].passphrase, a_lan.passphrase);
}

TEST_F(ConfigTest, NineteenBytePassphraseIsTheLimit) {
  WriteFile(dir_ / "vhid1.pass", "0123456789abcdefghi\n", 0600);
  auto config = Load("good_minimal.toml");
  ASSERT_TRUE(config) << config.error().context;
  EXPECT_EQ(config->vhids[0].passphrase, Bytes("0123456789abcdefghi"));
}

TEST_F(ConfigTest, UnknownNodeIsRejectedByPlanForNode) {
  auto config = Load("good_minimal.toml");
  ASSERT_TRUE(config);
  auto plan = PlanForNode(*config, "fw3");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code, ErrorCode::kConfig);
  EXPECT_EQ(plan.error().context,
            (dir_ / "good_minimal.toml").string() +
                ": node 'fw3' is not defined in the cluster file (nodes: fw1, fw2)");
}

TEST_F(ConfigTest, MissingClusterFile) {
  auto config = LoadClusterConfig((dir_ / "nope.toml").string());
  ASSERT_FALSE(config);
  EXPECT_EQ(
      config.error().context,
      (dir_ / "nope.toml").string() + ": cannot read the cluster file: No such file or directory");
}

}  // namespace
}  // namespace hafw::agent::config_test
