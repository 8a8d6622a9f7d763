// The [[vhid]] section loader (sections.h): the largest table of the file,
// with per-node advskew and unicast peers.

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "haagent/config/sections.h"
#include "haagent/config/validation.h"

namespace hafw::agent {
namespace {

constexpr std::string_view kVhidKeys[] = {
    "vhid",        "interface", "vips",        "passphrase_file",       "advbase",
    "advskew",     "preempt",   "master_down", "demote_raises_advskew", "vmac",
    "unicast_peer"};

// A table keyed by node name, e.g. advskew = { fw1 = 0, fw2 = 100 }: the
// entries whose key is a known node (the others are reported).
std::vector<std::pair<std::string, const toml::node*>> NodeMap(TomlReader& r,
                                                               const toml::table& table,
                                                               const ClusterConfig& config) {
  std::vector<std::string> names;
  for (const NodeConfig& n : config.nodes) names.push_back(n.name);
  std::vector<std::pair<std::string, const toml::node*>> out;
  for (auto&& [key, value] : table) {
    if (std::find(names.begin(), names.end(), key.str()) == names.end()) {
      r.Fail(PositionOf(key.source()),
             fmt::format("unknown node '{}'{}", key.str(), DidYouMeanAny(key.str(), names)));
      continue;
    }
    out.emplace_back(std::string(key.str()), &value);
  }
  return out;
}

bool LoadVips(TomlReader& r, const toml::table& t, const ClusterConfig& config, VhidConfig& v) {
  const toml::node* vips_node = r.Require(t, "vips", "[[vhid]]");
  const toml::array* vips = r.AsArray(vips_node, "vips");
  if (vips == nullptr) return false;
  bool ok = true;
  if (vips->empty()) {
    r.Fail(*vips_node, "'vips' must list at least one address/prefix");
    ok = false;
  }
  for (const toml::node& element : *vips) {
    auto text = r.AsString(&element, "vips");
    if (!text) {
      ok = false;
      continue;
    }
    auto prefix = IpPrefix::Parse(*text);
    if (!prefix) {
      r.Fail(element, prefix.error().context);
      ok = false;
      continue;
    }
    SourcePosition at = PositionOf(element.source());
    if (!CheckVip(prefix->address, v, at, r.Diag())) {
      ok = false;
      continue;
    }
    ok &= CheckVipFree(prefix->address, config.vhids, at, r.Diag());
    v.vips.push_back(*prefix);
  }
  return ok;
}

bool LoadPassphrase(TomlReader& r, const toml::table& t, VhidConfig& v) {
  const toml::node* pass_node = r.Require(t, "passphrase_file", "[[vhid]]");
  auto file = r.AsString(pass_node, "passphrase_file");
  if (!file) return false;
  v.passphrase_file = r.ResolvePath(*file);
  auto secret = r.ReadSecret(*pass_node, v.passphrase_file, "passphrase file");
  if (!secret) return false;
  if (secret->empty()) {
    r.Fail(*pass_node, fmt::format("passphrase file '{}' is empty; CARP needs a passphrase of "
                                   "1..{} bytes",
                                   v.passphrase_file, kMaxPassphraseBytes));
    return false;
  }
  if (secret->size() > kMaxPassphraseBytes) {
    r.Fail(*pass_node, fmt::format("passphrase in '{}' is {} bytes; CARP uses at most {} (BSD "
                                   "peers truncate longer ones, UCARP refuses them)",
                                   v.passphrase_file, secret->size(), kMaxPassphraseBytes));
    return false;
  }
  v.passphrase.assign(secret->begin(), secret->end());
  return true;
}

// advskew: the vhid's per-node table beats the node's own default.
bool LoadAdvskew(TomlReader& r, const toml::table& t, const std::vector<NodeExtra>& extras,
                 const ClusterConfig& config, VhidConfig& v) {
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    v.advskew[config.nodes[i].name] = extras[i].advskew;
  }
  const toml::node* n = t.get("advskew");
  if (n == nullptr) return true;
  if (!n->is_table()) {
    r.Fail(*n, fmt::format("'advskew' in [[vhid]] must be a table by node, e.g. "
                           "{{ fw1 = 0, fw2 = 100 }}, not {}",
                           TypeName(*n)));
    return false;
  }
  bool ok = true;
  for (auto& [node_name, value] : NodeMap(r, *n->as_table(), config)) {
    if (auto s = r.AsInt(value, "advskew", 0, 254)) {
      v.advskew[node_name] = static_cast<uint8_t>(*s);
    } else {
      ok = false;
    }
  }
  return ok;
}

bool LoadUnicastPeers(TomlReader& r, const toml::table* peers, const ClusterConfig& config,
                      VhidConfig& v) {
  bool ok = true;
  for (auto& [node_name, value] : NodeMap(r, *peers, config)) {
    UnicastPeers up;
    const toml::array* list = value->as_array();
    if (list == nullptr || list->empty() || list->size() > 2) {
      r.Fail(*value,
             "a unicast_peer entry must be an array of one IPv4 and/or one IPv6 address, e.g. "
             "[\"192.0.2.3\"]");
      ok = false;
      continue;
    }
    for (const toml::node& element : *list) {
      auto a = r.AsAddress(element, "unicast_peer");
      if (!a || !CheckUnicastPeer(*a, v, node_name, up, PositionOf(element.source()), r.Diag())) {
        ok = false;
        continue;
      }
      (a->IsV4() ? up.v4 : up.v6) = *a;
    }
    v.unicast_peers[node_name] = up;
  }
  return ok;
}

}  // namespace

bool LoadVhid(TomlReader& r, const toml::table& t, const CarpDefaults& defaults,
              const std::vector<NodeExtra>& extras, ClusterConfig& config) {
  r.CheckKeys(t, kVhidKeys, "[[vhid]]");
  VhidConfig v;
  v.position = TomlReader::TablePosition(t);
  bool ok = true;

  auto id = r.AsInt(r.Require(t, "vhid", "[[vhid]]"), "vhid", 1, 255);
  if (id) v.vhid = static_cast<uint8_t>(*id);
  ok &= id.has_value();

  const toml::node* if_node = r.Require(t, "interface", "[[vhid]]");
  auto interface = r.AsString(if_node, "interface");
  if (interface && !ValidInterfaceName(*interface)) {
    r.Fail(*if_node, InvalidInterfaceNameMessage(*interface));
    interface.reset();
  }
  if (interface) v.interface = *interface;
  ok &= interface.has_value();

  if (id && interface) {
    ok &= CheckVhidUnique(v, config.vhids, PositionOf(t.get("vhid")->source()), r.Diag());
  }
  ok &= LoadVips(r, t, config, v);
  ok &= LoadPassphrase(r, t, v);

  v.advbase = defaults.advbase;
  SourcePosition advbase_at = defaults.advbase_at;
  if (const toml::node* n = t.get("advbase")) {
    if (auto b = r.AsInt(n, "advbase", 0, 255)) {
      v.advbase = static_cast<uint8_t>(*b);
      advbase_at = PositionOf(n->source());
    } else {
      ok = false;
    }
  }
  v.preempt = r.AsBool(t.get("preempt"), "preempt").value_or(defaults.preempt);
  v.master_down = r.AsMasterDown(t.get("master_down")).value_or(defaults.master_down);
  v.demote_raises_advskew = r.AsBool(t.get("demote_raises_advskew"), "demote_raises_advskew")
                                .value_or(defaults.demote_raises_advskew);
  v.vmac = r.AsBool(t.get("vmac"), "vmac").value_or(defaults.vmac);

  ok &= LoadAdvskew(r, t, extras, config, v);
  // The timing checks need every node's skew, so only a vhid valid so far.
  ok = ok && CheckAdvbaseZero(v, advbase_at, r.Diag());
  ok = ok && CheckDistinctAdvskew(v, config.nodes, r.Diag());

  if (const toml::node* n = t.get("unicast_peer")) {
    if (const toml::table* peers = r.AsTable(n, "unicast_peer")) {
      ok &= LoadUnicastPeers(r, peers, config, v);
      ok = ok && CheckUnicastCoverage(v, config.nodes, PositionOf(n->source()), r.Diag());
    }
  }

  if (ok) config.vhids.push_back(std::move(v));
  return ok;
}

}  // namespace hafw::agent
