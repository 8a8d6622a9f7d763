#include "haagent/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace hafw::agent {
namespace {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* dir = std::getenv("HAFW_SOURCE_DIR");
  return dir ? dir : HAFW_TEST_SOURCE_DIR;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const fs::path& path, std::string_view text, mode_t mode) {
  fs::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  // Modes are set explicitly: git keeps none and the umask varies.
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

IpPrefix Prefix(std::string_view text) { return *IpPrefix::Parse(text); }
IpAddress Address(std::string_view text) { return *IpAddress::Parse(text); }

constexpr std::string_view kSyncKey =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

// Each test gets a private directory holding the secrets the testdata files
// name (relative to the config file, so the files are copied there too).
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hafw-config-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    WriteFile(dir_ / "vhid1.pass", "lan-secret\n", 0600);
    WriteFile(dir_ / "vhid2.pass", "wan-secret", 0600);
    WriteFile(dir_ / "sync.key", std::string(kSyncKey) + "\n", 0600);
    WriteFile(dir_ / "long.pass", "0123456789abcdefghij\n", 0600);  // 20 bytes
    WriteFile(dir_ / "empty.pass", "\n", 0600);
    WriteFile(dir_ / "two_lines.pass", "one\ntwo\n", 0600);
    WriteFile(dir_ / "open.pass", "secret\n", 0644);
    WriteFile(dir_ / "group.key", std::string(kSyncKey) + "\n", 0640);
    WriteFile(dir_ / "hook.sh", "#!/bin/sh\nexit 0\n", 0755);
    WriteFile(dir_ / "open_hook.sh", "#!/bin/sh\nexit 0\n", 0777);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Copies haagent/testdata/<name> into the test directory.
  std::string Copy(std::string_view name) {
    fs::path from = fs::path(SourceDir()) / "haagent/testdata" / name;
    std::string text = ReadFile(from);
    EXPECT_FALSE(text.empty()) << from;
    fs::path to = dir_ / name;
    WriteFile(to, text, 0644);
    return to.string();
  }

  Result<ClusterConfig> Load(std::string_view name) { return LoadClusterConfig(Copy(name)); }

  // The loader's complete message for testdata file `name`, with the test
  // directory shown as "DIR".
  std::string ErrorOf(std::string_view name) {
    auto config = Load(name);
    if (config) return "(loaded without error)";
    EXPECT_EQ(config.error().code, ErrorCode::kConfig);
    std::string text = config.error().context;
    for (size_t at; (at = text.find(dir_.string())) != std::string::npos;) {
      text.replace(at, dir_.string().size(), "DIR");
    }
    return text;
  }

  fs::path dir_;
};

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
  EXPECT_EQ(v.master_down, MasterDownRule::kClassic);
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
  EXPECT_EQ(a_lan.master_down, MasterDownRule::kOpenBsd2025);
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
  EXPECT_EQ(a_wan.master_down, MasterDownRule::kClassic);
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

TEST_F(ConfigTest, DescribePlanShowsTimingButNoSecrets) {
  auto config = Load("good_minimal.toml");
  ASSERT_TRUE(config);
  auto plan = PlanForNode(*config, "fw2");
  ASSERT_TRUE(plan);
  std::string text = DescribePlan(*config, *plan);
  EXPECT_NE(text.find("node fw2 (cluster file "), std::string::npos) << text;
  EXPECT_NE(text.find("vhid 1 on lan0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("1 / 100 (advert every 1.391 s, master down after 3.391 s, classic rule)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("passphrase             10 bytes from "), std::string::npos) << text;
  EXPECT_EQ(text.find("lan-secret"), std::string::npos) << text;
}

struct BadFile {
  std::string_view file;
  std::string_view message;  // after "DIR/<file>:"
};

// One file per rejected mistake, with the loader's exact message.
constexpr BadFile kBadFiles[] = {
    {"bad_toml_syntax.toml", "11:13: Error while parsing value: could not determine value type"},
    {"bad_unknown_key.toml", "3:1: unknown key 'advksew' in [[node]] (did you mean 'advskew'?)"},
    {"bad_unknown_key_no_hint.toml", "1:1: unknown key 'colour' in the cluster file"},
    {"bad_unknown_section.toml", "19:1: unknown key 'prot' in [sync] (did you mean 'port'?)"},
    {"bad_duplicate_vhid.toml", "16:8: vhid 1 is already used on interface 'lan0' (line 9)"},
    {"bad_advskew_range.toml", "3:11: advskew 255 is out of range 0..254"},
    {"bad_advbase_range.toml", "14:11: advbase 256 is out of range 0..255"},
    {"bad_advbase_zero.toml",
     "14:11: vhid 1: advbase 0 needs advskew 1..254 on every node, but node 'fw1' has "
     "advskew 0"},
    {"bad_equal_advskew.toml",
     "7:1: vhid 1: nodes 'fw1' and 'fw2' both have advskew 0; CARP has no tie-break, give every "
     "node a different advskew"},
    {"bad_passphrase_long.toml",
     "13:19: passphrase in 'DIR/long.pass' is 20 bytes; CARP uses at most 19 (BSD peers "
     "truncate longer ones, UCARP refuses them)"},
    {"bad_passphrase_empty.toml",
     "13:19: passphrase file 'DIR/empty.pass' is empty; CARP needs a passphrase of 1..19 bytes"},
    {"bad_passphrase_two_lines.toml",
     "13:19: passphrase file 'DIR/two_lines.pass' must hold exactly one line (no carriage "
     "return or NUL)"},
    {"bad_passphrase_mode.toml",
     "13:19: passphrase file 'DIR/open.pass' is accessible by group or others (mode 0644); run "
     "chmod 600 on it"},
    {"bad_passphrase_missing.toml",
     "13:19: cannot read passphrase file 'DIR/missing.pass': No such file or directory"},
    {"bad_key_mode.toml",
     "19:12: key file 'DIR/group.key' is accessible by group or others (mode 0640); run chmod "
     "600 on it"},
    {"bad_key_short.toml",
     "19:12: key in 'DIR/vhid1.pass' is 10 bytes; the sync link needs at least 32 (e.g. the "
     "output of openssl rand -hex 32)"},
    {"bad_missing_sync_address.toml",
     "1:1: node 'fw1' needs the key 'sync_address' because [sync] is configured\n"
     "DIR/bad_missing_sync_address.toml:5:1: node 'fw2' needs the key 'sync_address' because "
     "[sync] is configured"},
    {"bad_vip.toml", "12:25: '192.0.2.300' is not a valid IP address"},
    {"bad_vip_no_prefix.toml", "12:9: '192.0.2.1' needs a prefix length (address/len)"},
    {"bad_vip_reused.toml", "18:9: VIP 192.0.2.1 already belongs to vhid 1 on 'lan0' (line 9)"},
    {"bad_duplicate_node.toml", "10:8: duplicate node name 'fw1' (first defined at line 2)"},
    {"bad_vhid_range.toml", "10:8: vhid 256 is out of range 1..255"},
    {"bad_vhid_zero.toml", "10:8: vhid 0 is out of range 1..255"},
    {"bad_override_interface.toml",
     "8:16: node 'fw2' renames interface 'lan9', which no vhid, group or [sync] uses (did you "
     "mean 'lan0'?)"},
    {"bad_override_collision.toml",
     "8:14: on node 'fw2' interfaces 'lan0' and 'wan0' would both be 'wan0'"},
    {"bad_missing_key.toml", "9:1: [[vhid]] needs the key 'interface'"},
    {"bad_missing_vhid.toml", "1:1: the cluster file defines no [[vhid]]"},
    {"bad_wrong_type.toml", "14:11: 'preempt' must be true or false, not a string"},
    {"bad_wrong_type_vips.toml", "12:8: 'vips' must be an array, not a string"},
    {"bad_master_down.toml",
     "14:15: master_down must be \"classic\" or \"openbsd-2025\", not \"openbsd\""},
    {"bad_advskew_unknown_node.toml", "14:13: unknown node 'fw3' (did you mean 'fw1'?)"},
    {"bad_unicast_family.toml",
     "14:25: unicast peer 2001:db8:1::3 is ipv6 but vhid 1 has no ipv6 VIP\n"
     "DIR/bad_unicast_family.toml:14:50: unicast peer 2001:db8:1::2 is ipv6 but vhid 1 has no "
     "ipv6 VIP"},
    {"bad_unicast_partial.toml",
     "14:16: unicast_peer is set for some nodes but not for 'fw2'; set it for every node or for "
     "none"},
    {"bad_group_reserved.toml",
     "10:1: group name 'all' is reserved (hactl uses it for every group)"},
    {"bad_interface_name.toml",
     "11:13: 'lan0/1' is not a valid interface name (1..15 characters, no space, '/' or ':')"},
    {"bad_hook_writable.toml",
     "16:10: master hook 'DIR/open_hook.sh' is writable by group or others (mode 0777)"},
    // Every mistake at once, in file order.
    {"bad_several.toml",
     "3:11: advskew 300 is out of range 0..254\n"
     "DIR/bad_several.toml:7:1: unknown key 'advskwe' in [[node]] (did you mean 'advskew'?)"},
};

TEST_F(ConfigTest, BadFilesAreRejectedWithExactMessages) {
  for (const BadFile& bad : kBadFiles) {
    SCOPED_TRACE(bad.file);
    EXPECT_EQ(ErrorOf(bad.file), "DIR/" + std::string(bad.file) + ":" + std::string(bad.message));
  }
}

TEST_F(ConfigTest, EveryBadTestdataFileHasAnExpectation) {
  for (const auto& entry : fs::directory_iterator(fs::path(SourceDir()) / "haagent/testdata")) {
    std::string name = entry.path().filename();
    if (name.rfind("bad_", 0) != 0) continue;
    bool listed = std::any_of(std::begin(kBadFiles), std::end(kBadFiles),
                              [&](const BadFile& b) { return b.file == name; });
    EXPECT_TRUE(listed) << name << " has no entry in kBadFiles";
  }
}

}  // namespace
}  // namespace hafw::agent
