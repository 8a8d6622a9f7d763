#include "haagent/config/sections.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "haagent/config/secrets.h"
#include "haagent/config/validation.h"

namespace hafw::agent {
namespace {

constexpr std::string_view kCarpKeys[] = {"advbase", "preempt", "master_down",
                                          "demote_raises_advskew", "vmac"};
constexpr std::string_view kNodeKeys[] = {"name", "sync_address", "advskew", "interfaces"};
constexpr std::string_view kSyncKeys[] = {"interface", "port", "key_file"};
constexpr std::string_view kHookKeys[] = {"master", "backup", "init", "timeout_seconds"};

// An interface name value, checked; nullopt (reported) when not valid.
std::optional<std::string> InterfaceName(TomlReader& r, const toml::node* node,
                                         std::string_view key) {
  auto name = r.AsString(node, key);
  if (name && !ValidInterfaceName(*name)) {
    r.Fail(*node, InvalidInterfaceNameMessage(*name));
    name.reset();
  }
  return name;
}

// A [[node]]'s name: valid and not seen before.
std::optional<std::string> NodeName(TomlReader& r, const toml::node* node,
                                    std::map<std::string, SourcePosition>& seen) {
  auto name = r.AsString(node, "name");
  if (name && !ValidName(*name)) {
    r.Fail(*node, fmt::format("node name '{}' must be 1..{} letters, digits, '-', '_' or '.'",
                              *name, kMaxName));
    return std::nullopt;
  }
  if (name) {
    auto [it, inserted] = seen.emplace(*name, PositionOf(node->source()));
    if (!inserted) {
      r.Fail(*node, fmt::format("duplicate node name '{}' (first defined at line {})", *name,
                                it->second.line));
      return std::nullopt;
    }
  }
  return name;
}

void LoadSyncAddress(TomlReader& r, const toml::table& t, bool sync_configured,
                     const std::optional<std::string>& name, NodeConfig& n) {
  const toml::node* sync_node = t.get("sync_address");
  if (sync_configured && sync_node == nullptr) {
    r.Fail(n.position, fmt::format("node '{}' needs the key 'sync_address' because [sync] is "
                                   "configured",
                                   name.value_or("?")));
  }
  if (sync_node == nullptr) return;
  if (!sync_configured) {
    r.Fail(*sync_node, "'sync_address' needs a [sync] table");
  } else if (auto a = r.AsAddress(*sync_node, "sync_address")) {
    if (a->IsUnspecified() || a->IsMulticast() || a->IsLoopback()) {
      r.Fail(*sync_node, fmt::format("sync_address {} must be a unicast address of the node on "
                                     "the sync link",
                                     a->ToString()));
    } else {
      n.sync_address = *a;
    }
  }
}

// The sync key file named at `at`: a secret of at least kMinSyncKeyBytes.
bool LoadSyncKey(TomlReader& r, const toml::node& at, SyncConfig& s) {
  auto secret = r.ReadSecret(at, s.key_file, "key file");
  if (!secret) return false;
  if (secret->size() < kMinSyncKeyBytes) {
    r.Fail(at, fmt::format("key in '{}' is {} bytes; the sync link needs at least {} (e.g. the "
                           "output of openssl rand -hex 32)",
                           s.key_file, secret->size(), kMinSyncKeyBytes));
    return false;
  }
  s.key.assign(secret->begin(), secret->end());
  return true;
}

}  // namespace

CarpDefaults LoadCarp(TomlReader& r, const toml::table* carp) {
  CarpDefaults d;
  if (carp == nullptr) return d;
  r.CheckKeys(*carp, kCarpKeys, "[carp]");
  if (auto v = r.AsInt(carp->get("advbase"), "advbase", 0, 255)) {
    d.advbase = static_cast<uint8_t>(*v);
    d.advbase_at = PositionOf(carp->get("advbase")->source());
  }
  if (auto v = r.AsBool(carp->get("preempt"), "preempt")) d.preempt = *v;
  if (auto v = r.AsMasterDown(carp->get("master_down"))) d.master_down = *v;
  if (auto v = r.AsBool(carp->get("demote_raises_advskew"), "demote_raises_advskew")) {
    d.demote_raises_advskew = *v;
  }
  if (auto v = r.AsBool(carp->get("vmac"), "vmac")) d.vmac = *v;
  return d;
}

void LoadNodes(TomlReader& r, const toml::table& root, bool sync_configured, ClusterConfig& config,
               std::vector<NodeExtra>& extras) {
  const toml::node* node = root.get("node");
  if (node == nullptr) r.Fail(SourcePosition{1, 1}, "the cluster file defines no [[node]]");
  std::map<std::string, SourcePosition> seen;
  for (const toml::table* t : r.AsTables(node, "node")) {
    r.CheckKeys(*t, kNodeKeys, "[[node]]");
    NodeConfig n;
    NodeExtra extra;
    n.position = TomlReader::TablePosition(*t);
    auto name = NodeName(r, r.Require(*t, "name", "[[node]]"), seen);
    LoadSyncAddress(r, *t, sync_configured, name, n);
    if (auto v = r.AsInt(t->get("advskew"), "advskew", 0, 254)) {
      extra.advskew = static_cast<uint8_t>(*v);
    }
    extra.interfaces = r.AsTable(t->get("interfaces"), "interfaces");
    if (!name) continue;
    n.name = *name;
    config.nodes.push_back(std::move(n));
    extras.push_back(extra);
  }
  CheckSyncAddresses(config.nodes, r.Diag());
}

void LoadGroups(TomlReader& r, const toml::table* groups, ClusterConfig& config) {
  if (groups == nullptr) return;
  for (auto&& [key, value] : *groups) {
    std::string name(key.str());
    if (!ValidName(name)) {
      r.Fail(PositionOf(key.source()),
             fmt::format("group name '{}' must be 1..{} letters, digits, '-', '_' or '.'", name,
                         kMaxName));
      continue;
    }
    if (name == "all") {
      // hactl demote --group all addresses every group at once.
      r.Fail(PositionOf(key.source()),
             "group name 'all' is reserved (hactl uses it for every group)");
      continue;
    }
    const toml::array* list = value.as_array();
    if (list == nullptr) {
      r.Fail(value, fmt::format("group '{}' must be an array of interface names, not {}", name,
                                TypeName(value)));
      continue;
    }
    if (list->empty()) {
      r.Fail(value, fmt::format("group '{}' lists no interfaces", name));
      continue;
    }
    InterfaceGroup group{name, {}};
    for (const toml::node& element : *list) {
      auto interface = InterfaceName(r, &element, "groups");
      if (!interface) continue;
      if (std::find(group.interfaces.begin(), group.interfaces.end(), *interface) !=
          group.interfaces.end()) {
        r.Fail(element, fmt::format("group '{}' lists '{}' twice", name, *interface));
        continue;
      }
      group.interfaces.push_back(*interface);
    }
    config.groups.push_back(std::move(group));
  }
  std::sort(config.groups.begin(), config.groups.end(),
            [](const InterfaceGroup& a, const InterfaceGroup& b) { return a.name < b.name; });
}

void LoadSync(TomlReader& r, const toml::table* sync, ClusterConfig& config) {
  if (sync == nullptr) return;
  r.CheckKeys(*sync, kSyncKeys, "[sync]");
  SyncConfig s;
  bool ok = true;
  auto interface = InterfaceName(r, r.Require(*sync, "interface", "[sync]"), "interface");
  if (interface) s.interface = *interface;
  ok &= interface.has_value();
  if (const toml::node* n = sync->get("port")) {
    auto port = r.AsInt(n, "port", 1, 65535);
    if (port) s.port = static_cast<uint16_t>(*port);
    ok &= port.has_value();
  }
  const toml::node* key_node = r.Require(*sync, "key_file", "[sync]");
  if (auto file = r.AsString(key_node, "key_file")) {
    s.key_file = r.ResolvePath(*file);
    ok &= LoadSyncKey(r, *key_node, s);
  } else {
    ok = false;
  }
  if (ok) config.sync = std::move(s);
}

void LoadHooks(TomlReader& r, const toml::table* hooks, ClusterConfig& config) {
  if (hooks == nullptr) return;
  r.CheckKeys(*hooks, kHookKeys, "[hooks]");
  auto load = [&](std::string_view key, std::string& out) {
    const toml::node* n = hooks->get(key);
    auto text = r.AsString(n, key);
    if (!text) return;
    std::string path = r.ResolvePath(*text);
    if (auto usable = CheckHookProgram(path, key); !usable) {
      r.Fail(*n, usable.error().context);
    } else {
      out = path;
    }
  };
  load("master", config.hooks.master);
  load("backup", config.hooks.backup);
  load("init", config.hooks.init);
  if (auto t = r.AsInt(hooks->get("timeout_seconds"), "timeout_seconds", 1, 3600)) {
    config.hooks.timeout_seconds = static_cast<uint32_t>(*t);
  }
}

void LoadRenames(TomlReader& r, const std::vector<NodeExtra>& extras, ClusterConfig& config) {
  std::set<std::string> used;
  for (const VhidConfig& v : config.vhids) used.insert(v.interface);
  for (const InterfaceGroup& g : config.groups) {
    used.insert(g.interfaces.begin(), g.interfaces.end());
  }
  if (config.sync) used.insert(config.sync->interface);
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    NodeConfig& node = config.nodes[i];
    if (extras[i].interfaces == nullptr) continue;
    for (auto&& [key, value] : *extras[i].interfaces) {
      std::string from(key.str());
      if (used.count(from) == 0) {
        // A typo here would silently leave the real interface unrenamed.
        r.Fail(PositionOf(key.source()),
               fmt::format("node '{}' renames interface '{}', which no vhid, group or [sync] "
                           "uses{}",
                           node.name, from, DidYouMeanAny(from, used)));
        continue;
      }
      auto to = InterfaceName(r, &value, from);
      if (to) node.interface_renames[from] = *to;
    }
    CheckLocalNamesDistinct(node, used, PositionOf(extras[i].interfaces->source()), r.Diag());
  }
}

}  // namespace hafw::agent
