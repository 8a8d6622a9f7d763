// Every rejected mistake of haagent/config/testdata/bad_*.toml, with the
// loader's exact message.

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "haagent/config/config_test_fixture.h"

namespace hafw::agent::config_test {
namespace {

namespace fs = std::filesystem;

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
  for (const auto& entry :
       fs::directory_iterator(fs::path(SourceDir()) / "haagent/config/testdata")) {
    std::string name = entry.path().filename();
    if (name.rfind("bad_", 0) != 0) continue;
    bool listed = std::any_of(std::begin(kBadFiles), std::end(kBadFiles),
                              [&](const BadFile& b) { return b.file == name; });
    EXPECT_TRUE(listed) << name << " has no entry in kBadFiles";
  }
}

}  // namespace
}  // namespace hafw::agent::config_test
