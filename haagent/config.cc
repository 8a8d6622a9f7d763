#include "haagent/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <span>
#include <sstream>
#include <tuple>
#include <utility>

#include <fmt/format.h>
// Debian's toml++ library is built with exceptions, so parse errors arrive as
// toml::parse_error; they are caught in Parse() below and never leave this file.
#include <toml++/toml.h>

namespace hafw::agent {
namespace {

constexpr size_t kMaxPassphraseBytes = 19;  // CARP key: 19 bytes + NUL (carp-protocol.md §2.1)
constexpr size_t kMinSyncKeyBytes = 32;
constexpr size_t kMaxSecretFileBytes = 4096;
constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
constexpr size_t kMaxName = 63;
constexpr size_t kMaxErrors = 50;

using Keys = std::span<const std::string_view>;

constexpr std::string_view kRootKeys[] = {"carp", "node", "vhid", "groups", "sync", "hooks"};
constexpr std::string_view kCarpKeys[] = {"advbase", "preempt", "master_down",
                                          "demote_raises_advskew", "vmac"};
constexpr std::string_view kNodeKeys[] = {"name", "sync_address", "advskew", "interfaces"};
constexpr std::string_view kVhidKeys[] = {
    "vhid",        "interface", "vips",        "passphrase_file",       "advbase",
    "advskew",     "preempt",   "master_down", "demote_raises_advskew", "vmac",
    "unicast_peer"};
constexpr std::string_view kSyncKeys[] = {"interface", "port", "key_file"};
constexpr std::string_view kHookKeys[] = {"master", "backup", "init", "timeout_seconds"};

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Optimal string alignment distance: a swapped pair of letters counts once.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// " (did you mean 'x'?)" when one candidate is close, else "".
template <typename Range>
std::string DidYouMean(std::string_view word, const Range& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const auto& c : candidates) {
    std::string_view candidate(c);
    size_t distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  if (best.empty() || best_distance > 2 || best_distance * 2 >= best.size()) return "";
  return fmt::format(" (did you mean '{}'?)", best);
}

bool ValidInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxInterfaceName || name == "." || name == "..") {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c > ' ' && c < 0x7f && c != '/' && c != ':'; });
}

// Node and group names: letters, digits, '-', '_', '.'; they appear in hook
// environments, logs and metrics labels.
bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

SourcePosition PositionOf(const toml::source_region& region) {
  return {static_cast<uint32_t>(region.begin.line), static_cast<uint32_t>(region.begin.column)};
}

struct Diagnostic {
  SourcePosition position;
  std::string message;
};

class Loader {
 public:
  explicit Loader(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    base_dir_ = std::filesystem::absolute(path_, ec).parent_path();
  }

  Result<ClusterConfig> Run() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      return MakeError(ErrorCode::kConfig, fmt::format("{}: cannot read the cluster file: {}",
                                                       path_, std::strerror(errno)));
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string content = text.str();

    toml::table root;
    try {
      root = toml::parse(content, path_);
    } catch (const toml::parse_error& e) {
      return MakeError(ErrorCode::kConfig, fmt::format("{}:{}:{}: {}", path_, e.source().begin.line,
                                                       e.source().begin.column, e.description()));
    }

    ClusterConfig config;
    config.path = path_;
    LoadRoot(root, config);
    if (!errors_.empty()) return Failure();
    return config;
  }

 private:
  // --- diagnostics ---

  void Fail(SourcePosition at, std::string message) { errors_.push_back({at, std::move(message)}); }
  void Fail(const toml::node& at, std::string message) {
    Fail(PositionOf(at.source()), std::move(message));
  }

  tl::unexpected<Error> Failure() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.position.line, a.position.column) <
             std::tie(b.position.line, b.position.column);
    });
    std::string out;
    size_t shown = std::min(errors_.size(), kMaxErrors);
    for (size_t i = 0; i < shown; ++i) {
      if (i) out += '\n';
      out += fmt::format("{}:{}:{}: {}", path_, errors_[i].position.line,
                         errors_[i].position.column, errors_[i].message);
    }
    if (errors_.size() > shown) {
      out += fmt::format("\n{}: {} more errors not shown", path_, errors_.size() - shown);
    }
    return MakeError(ErrorCode::kConfig, std::move(out));
  }

  // --- typed access ---

  // Rejects keys not in `allowed`, pointing at the key itself.
  void CheckKeys(const toml::table& table, Keys allowed, std::string_view where) {
    for (auto&& [key, value] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      Fail(PositionOf(key.source()), fmt::format("unknown key '{}' in {}{}", key.str(), where,
                                                 DidYouMean(key.str(), allowed)));
    }
  }

  // Where a missing key would have gone: the table's header.
  SourcePosition TablePosition(const toml::table& table) {
    SourcePosition p = PositionOf(table.source());
    return p.line == 0 ? SourcePosition{1, 1} : p;
  }

  const toml::node* Require(const toml::table& table, std::string_view key,
                            std::string_view where) {
    const toml::node* node = table.get(key);
    if (!node) Fail(TablePosition(table), fmt::format("{} needs the key '{}'", where, key));
    return node;
  }

  std::optional<std::string> AsString(const toml::node* node, std::string_view key) {
    if (!node) return std::nullopt;
    if (auto v = node->value<std::string>(); v && node->is_string()) return *v;
    Fail(*node, fmt::format("'{}' must be a string, not {}", key, TypeName(*node)));
    return std::nullopt;
  }

  std::optional<bool> AsBool(const toml::node* node, std::string_view key) {
    if (!node) return std::nullopt;
    if (node->is_boolean()) return node->as_boolean()->get();
    Fail(*node, fmt::format("'{}' must be true or false, not {}", key, TypeName(*node)));
    return std::nullopt;
  }

  std::optional<int64_t> AsInt(const toml::node* node, std::string_view key, int64_t min,
                               int64_t max) {
    if (!node) return std::nullopt;
    if (!node->is_integer()) {
      Fail(*node, fmt::format("'{}' must be an integer, not {}", key, TypeName(*node)));
      return std::nullopt;
    }
    int64_t v = node->as_integer()->get();
    if (v < min || v > max) {
      Fail(*node, fmt::format("{} {} is out of range {}..{}", key, v, min, max));
      return std::nullopt;
    }
    return v;
  }

  const toml::table* AsTable(const toml::node* node, std::string_view key) {
    if (!node) return nullptr;
    if (const toml::table* t = node->as_table()) return t;
    Fail(*node, fmt::format("'{}' must be a table, not {}", key, TypeName(*node)));
    return nullptr;
  }

  const toml::array* AsArray(const toml::node* node, std::string_view key) {
    if (!node) return nullptr;
    if (const toml::array* a = node->as_array()) return a;
    Fail(*node, fmt::format("'{}' must be an array, not {}", key, TypeName(*node)));
    return nullptr;
  }

  // An array of tables ([[name]]); `what` names one element in messages.
  std::vector<const toml::table*> AsTables(const toml::node* node, std::string_view key) {
    std::vector<const toml::table*> out;
    const toml::array* array = node ? node->as_array() : nullptr;
    if (node && !array) {
      Fail(*node,
           fmt::format("'{}' must be written as [[{}]] tables, not {}", key, key, TypeName(*node)));
      return out;
    }
    if (!array) return out;
    for (const toml::node& element : *array) {
      if (const toml::table* t = element.as_table()) {
        out.push_back(t);
      } else {
        Fail(element,
             fmt::format("each '{}' entry must be a table, not {}", key, TypeName(element)));
      }
    }
    return out;
  }

  std::optional<IpAddress> AsAddress(const toml::node& node, std::string_view key) {
    auto text = AsString(&node, key);
    if (!text) return std::nullopt;
    auto address = IpAddress::Parse(*text);
    if (!address) {
      Fail(node, address.error().context);
      return std::nullopt;
    }
    return *address;
  }

  std::string ResolvePath(const std::string& text) {
    std::filesystem::path p(text);
    if (p.is_relative()) p = base_dir_ / p;
    return p.lexically_normal().string();
  }

  // A secret file: exists, regular, mode 0600 or stricter, one line.
  std::optional<std::string> ReadSecret(const toml::node& at, const std::string& path,
                                        std::string_view what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      Fail(at, fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
      return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
      Fail(at, fmt::format("{} '{}' is not a regular file", what, path));
      return std::nullopt;
    }
    if ((st.st_mode & 077) != 0) {
      Fail(at, fmt::format("{} '{}' is accessible by group or others (mode {:04o}); "
                           "run chmod 600 on it",
                           what, path, st.st_mode & 07777));
      return std::nullopt;
    }
    if (st.st_size > static_cast<off_t>(kMaxSecretFileBytes)) {
      Fail(at, fmt::format("{} '{}' is larger than {} bytes", what, path, kMaxSecretFileBytes));
      return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      Fail(at, fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
      return std::nullopt;
    }
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!data.empty() && data.back() == '\n') data.pop_back();
    if (data.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos) {
      Fail(at, fmt::format("{} '{}' must hold exactly one line (no carriage return or NUL)", what,
                           path));
      return std::nullopt;
    }
    return data;
  }

  // --- sections ---

  struct CarpDefaults {
    uint8_t advbase = 1;
    SourcePosition advbase_at{1, 1};
    bool preempt = false;
    MasterDownRule master_down = MasterDownRule::kClassic;
    bool demote_raises_advskew = false;
    bool vmac = false;
  };

  std::optional<MasterDownRule> AsMasterDown(const toml::node* node) {
    auto text = AsString(node, "master_down");
    if (!text) return std::nullopt;
    if (*text == "classic") return MasterDownRule::kClassic;
    if (*text == "openbsd-2025") return MasterDownRule::kOpenBsd2025;
    Fail(*node,
         fmt::format("master_down must be \"classic\" or \"openbsd-2025\", not \"{}\"", *text));
    return std::nullopt;
  }

  CarpDefaults LoadCarp(const toml::table* carp) {
    CarpDefaults d;
    if (!carp) return d;
    CheckKeys(*carp, kCarpKeys, "[carp]");
    if (auto v = AsInt(carp->get("advbase"), "advbase", 0, 255)) {
      d.advbase = static_cast<uint8_t>(*v);
      d.advbase_at = PositionOf(carp->get("advbase")->source());
    }
    if (auto v = AsBool(carp->get("preempt"), "preempt")) d.preempt = *v;
    if (auto v = AsMasterDown(carp->get("master_down"))) d.master_down = *v;
    if (auto v = AsBool(carp->get("demote_raises_advskew"), "demote_raises_advskew")) {
      d.demote_raises_advskew = *v;
    }
    if (auto v = AsBool(carp->get("vmac"), "vmac")) d.vmac = *v;
    return d;
  }

  struct NodeExtra {
    uint8_t advskew = 0;
    const toml::table* interfaces = nullptr;  // checked once interfaces are known
  };

  void LoadNodes(const toml::table& root, bool sync_configured, ClusterConfig& config,
                 std::vector<NodeExtra>& extras) {
    const toml::node* node = root.get("node");
    if (!node) Fail(SourcePosition{1, 1}, "the cluster file defines no [[node]]");
    std::map<std::string, SourcePosition> seen;
    for (const toml::table* t : AsTables(node, "node")) {
      CheckKeys(*t, kNodeKeys, "[[node]]");
      NodeConfig n;
      NodeExtra extra;
      n.position = TablePosition(*t);
      const toml::node* name_node = Require(*t, "name", "[[node]]");
      auto name = AsString(name_node, "name");
      if (name && !ValidName(*name)) {
        Fail(*name_node, fmt::format("node name '{}' must be 1..{} letters, digits, '-', '_' "
                                     "or '.'",
                                     *name, kMaxName));
        name.reset();
      }
      if (name) {
        auto [it, inserted] = seen.emplace(*name, PositionOf(name_node->source()));
        if (!inserted) {
          Fail(*name_node, fmt::format("duplicate node name '{}' (first defined at line {})", *name,
                                       it->second.line));
          name.reset();
        }
      }
      const toml::node* sync_node = t->get("sync_address");
      if (sync_configured && !sync_node) {
        Fail(n.position, fmt::format("node '{}' needs the key 'sync_address' because [sync] is "
                                     "configured",
                                     name.value_or("?")));
      }
      if (sync_node) {
        if (!sync_configured) {
          Fail(*sync_node, "'sync_address' needs a [sync] table");
        } else if (auto a = AsAddress(*sync_node, "sync_address")) {
          if (a->IsUnspecified() || a->IsMulticast() || a->IsLoopback()) {
            Fail(*sync_node, fmt::format("sync_address {} must be a unicast address of the "
                                         "node on the sync link",
                                         a->ToString()));
          } else {
            n.sync_address = *a;
          }
        }
      }
      if (auto v = AsInt(t->get("advskew"), "advskew", 0, 254)) {
        extra.advskew = static_cast<uint8_t>(*v);
      }
      extra.interfaces = AsTable(t->get("interfaces"), "interfaces");
      if (!name) continue;
      n.name = *name;
      config.nodes.push_back(std::move(n));
      extras.push_back(extra);
    }
    // Sync addresses: distinct and of one family, so peers can reach each other.
    const NodeConfig* first = nullptr;
    for (const NodeConfig& n : config.nodes) {
      if (!n.sync_address) continue;
      if (!first) {
        first = &n;
        continue;
      }
      for (const NodeConfig& other : config.nodes) {
        if (&other == &n) break;
        if (other.sync_address == n.sync_address) {
          Fail(n.position, fmt::format("node '{}' has the same sync_address {} as node '{}'",
                                       n.name, n.sync_address->ToString(), other.name));
          break;
        }
      }
      if (n.sync_address->Family() != first->sync_address->Family()) {
        Fail(n.position, fmt::format("node '{}' has an {} sync_address but node '{}' an {} one; "
                                     "the sync link uses one family",
                                     n.name, IpFamilyName(n.sync_address->Family()), first->name,
                                     IpFamilyName(first->sync_address->Family())));
      }
    }
  }

  std::vector<std::string> NodeNames(const ClusterConfig& config) {
    std::vector<std::string> names;
    for (const NodeConfig& n : config.nodes) names.push_back(n.name);
    return names;
  }

  // A table keyed by node name, e.g. advskew = { fw1 = 0, fw2 = 100 }.
  // Returns the entries whose key is a known node.
  std::vector<std::pair<std::string, const toml::node*>> NodeMap(const toml::table& table,
                                                                 const ClusterConfig& config) {
    std::vector<std::pair<std::string, const toml::node*>> out;
    auto names = NodeNames(config);
    for (auto&& [key, value] : table) {
      if (std::find(names.begin(), names.end(), key.str()) == names.end()) {
        Fail(PositionOf(key.source()),
             fmt::format("unknown node '{}'{}", key.str(), DidYouMean(key.str(), names)));
        continue;
      }
      out.emplace_back(std::string(key.str()), &value);
    }
    return out;
  }

  void LoadVhid(const toml::table& t, const CarpDefaults& defaults,
                const std::vector<NodeExtra>& extras, ClusterConfig& config) {
    CheckKeys(t, kVhidKeys, "[[vhid]]");
    VhidConfig v;
    v.position = TablePosition(t);
    bool ok = true;

    auto id = AsInt(Require(t, "vhid", "[[vhid]]"), "vhid", 1, 255);
    if (id) v.vhid = static_cast<uint8_t>(*id);
    ok &= id.has_value();

    const toml::node* if_node = Require(t, "interface", "[[vhid]]");
    auto interface = AsString(if_node, "interface");
    if (interface && !ValidInterfaceName(*interface)) {
      Fail(*if_node, fmt::format("'{}' is not a valid interface name (1..15 characters, no "
                                 "space, '/' or ':')",
                                 *interface));
      interface.reset();
    }
    if (interface) v.interface = *interface;
    ok &= interface.has_value();

    if (id && interface) {
      for (const VhidConfig& other : config.vhids) {
        if (other.vhid == v.vhid && other.interface == v.interface) {
          Fail(*t.get("vhid"), fmt::format("vhid {} is already used on interface '{}' (line {})",
                                           v.vhid, v.interface, other.position.line));
          ok = false;
        }
      }
    }

    const toml::node* vips_node = Require(t, "vips", "[[vhid]]");
    if (const toml::array* vips = AsArray(vips_node, "vips")) {
      if (vips->empty()) {
        Fail(*vips_node, "'vips' must list at least one address/prefix");
        ok = false;
      }
      for (const toml::node& element : *vips) {
        auto text = AsString(&element, "vips");
        if (!text) {
          ok = false;
          continue;
        }
        auto prefix = IpPrefix::Parse(*text);
        if (!prefix) {
          Fail(element, prefix.error().context);
          ok = false;
          continue;
        }
        const IpAddress& a = prefix->address;
        if (a.IsUnspecified() || a.IsMulticast() || a.IsLoopback()) {
          Fail(element, fmt::format("VIP {} must be a unicast address", a.ToString()));
          ok = false;
          continue;
        }
        if (std::any_of(v.vips.begin(), v.vips.end(),
                        [&](const IpPrefix& p) { return p.address == a; })) {
          Fail(element, fmt::format("VIP {} is listed twice", a.ToString()));
          ok = false;
          continue;
        }
        for (const VhidConfig& other : config.vhids) {
          for (const IpPrefix& p : other.vips) {
            if (p.address == a) {
              Fail(element,
                   fmt::format("VIP {} already belongs to vhid {} on '{}' (line {})", a.ToString(),
                               other.vhid, other.interface, other.position.line));
              ok = false;
            }
          }
        }
        v.vips.push_back(*prefix);
      }
    } else {
      ok = false;
    }

    const toml::node* pass_node = Require(t, "passphrase_file", "[[vhid]]");
    if (auto file = AsString(pass_node, "passphrase_file")) {
      v.passphrase_file = ResolvePath(*file);
      if (auto secret = ReadSecret(*pass_node, v.passphrase_file, "passphrase file")) {
        if (secret->empty()) {
          Fail(*pass_node, fmt::format("passphrase file '{}' is empty; CARP needs a passphrase "
                                       "of 1..{} bytes",
                                       v.passphrase_file, kMaxPassphraseBytes));
          ok = false;
        } else if (secret->size() > kMaxPassphraseBytes) {
          Fail(*pass_node,
               fmt::format("passphrase in '{}' is {} bytes; CARP uses at most {} (BSD peers "
                           "truncate longer ones, UCARP refuses them)",
                           v.passphrase_file, secret->size(), kMaxPassphraseBytes));
          ok = false;
        } else {
          v.passphrase.assign(secret->begin(), secret->end());
        }
      } else {
        ok = false;
      }
    } else {
      ok = false;
    }

    v.advbase = defaults.advbase;
    SourcePosition advbase_at = defaults.advbase_at;
    if (const toml::node* n = t.get("advbase")) {
      if (auto b = AsInt(n, "advbase", 0, 255)) {
        v.advbase = static_cast<uint8_t>(*b);
        advbase_at = PositionOf(n->source());
      } else {
        ok = false;
      }
    }
    v.preempt = defaults.preempt;
    if (auto b = AsBool(t.get("preempt"), "preempt")) v.preempt = *b;
    v.master_down = defaults.master_down;
    if (auto m = AsMasterDown(t.get("master_down"))) v.master_down = *m;
    v.demote_raises_advskew = defaults.demote_raises_advskew;
    if (auto b = AsBool(t.get("demote_raises_advskew"), "demote_raises_advskew")) {
      v.demote_raises_advskew = *b;
    }
    v.vmac = defaults.vmac;
    if (auto b = AsBool(t.get("vmac"), "vmac")) v.vmac = *b;

    // advskew: the vhid's per-node table beats the node's own default.
    for (size_t i = 0; i < config.nodes.size(); ++i) {
      v.advskew[config.nodes[i].name] = extras[i].advskew;
    }
    if (const toml::node* n = t.get("advskew")) {
      if (n->is_table()) {
        for (auto& [node_name, value] : NodeMap(*n->as_table(), config)) {
          if (auto s = AsInt(value, "advskew", 0, 254)) {
            v.advskew[node_name] = static_cast<uint8_t>(*s);
          } else {
            ok = false;
          }
        }
      } else {
        Fail(*n, fmt::format("'advskew' in [[vhid]] must be a table by node, e.g. "
                             "{{ fw1 = 0, fw2 = 100 }}, not {}",
                             TypeName(*n)));
        ok = false;
      }
    }
    if (ok && v.advbase == 0) {
      for (const auto& [node_name, skew] : v.advskew) {
        if (skew == 0) {
          Fail(advbase_at, fmt::format("vhid {}: advbase 0 needs advskew 1..254 on every node, "
                                       "but node '{}' has advskew 0",
                                       v.vhid, node_name));
          ok = false;
        }
      }
    }
    if (ok) {
      // CARP has no tie-break between equal timings (carp-protocol.md §3.4).
      std::map<uint8_t, std::string> by_skew;
      for (const NodeConfig& node : config.nodes) {
        uint8_t skew = v.advskew[node.name];
        auto [it, inserted] = by_skew.emplace(skew, node.name);
        if (!inserted) {
          Fail(v.position, fmt::format("vhid {}: nodes '{}' and '{}' both have advskew {}; CARP "
                                       "has no tie-break, give every node a different advskew",
                                       v.vhid, it->second, node.name, skew));
          ok = false;
        }
      }
    }

    if (const toml::node* n = t.get("unicast_peer")) {
      if (const toml::table* peers = AsTable(n, "unicast_peer")) {
        for (auto& [node_name, value] : NodeMap(*peers, config)) {
          UnicastPeers up;
          const toml::array* list = value->as_array();
          if (!list || list->empty() || list->size() > 2) {
            Fail(*value,
                 "a unicast_peer entry must be an array of one IPv4 and/or one IPv6 "
                 "address, e.g. [\"192.0.2.3\"]");
            ok = false;
            continue;
          }
          for (const toml::node& element : *list) {
            auto a = AsAddress(element, "unicast_peer");
            if (!a) {
              ok = false;
              continue;
            }
            if (a->IsUnspecified() || a->IsMulticast() || a->IsLoopback()) {
              Fail(element,
                   fmt::format("unicast peer {} must be a unicast address", a->ToString()));
              ok = false;
              continue;
            }
            if (std::any_of(v.vips.begin(), v.vips.end(),
                            [&](const IpPrefix& p) { return p.address == *a; })) {
              Fail(element, fmt::format("unicast peer {} is one of the vhid's own VIPs; use the "
                                        "peer node's real address",
                                        a->ToString()));
              ok = false;
              continue;
            }
            bool has_family = std::any_of(v.vips.begin(), v.vips.end(), [&](const IpPrefix& p) {
              return p.address.Family() == a->Family();
            });
            if (!has_family) {
              Fail(element,
                   fmt::format("unicast peer {} is {} but vhid {} has no {} VIP", a->ToString(),
                               IpFamilyName(a->Family()), v.vhid, IpFamilyName(a->Family())));
              ok = false;
              continue;
            }
            auto& slot = a->IsV4() ? up.v4 : up.v6;
            if (slot) {
              Fail(element, fmt::format("node '{}' has two {} unicast peers; CARP sends to one",
                                        node_name, IpFamilyName(a->Family())));
              ok = false;
              continue;
            }
            slot = *a;
          }
          v.unicast_peers[node_name] = up;
        }
        if (ok && !v.unicast_peers.empty()) {
          for (const NodeConfig& node : config.nodes) {
            if (!v.unicast_peers.count(node.name)) {
              Fail(*n, fmt::format("unicast_peer is set for some nodes but not for '{}'; set it "
                                   "for every node or for none",
                                   node.name));
              ok = false;
              break;
            }
          }
        }
      }
    }

    if (ok) {
      config.vhids.push_back(std::move(v));
    } else {
      any_vhid_failed_ = true;
    }
  }

  void LoadGroups(const toml::table* groups, ClusterConfig& config) {
    if (!groups) return;
    for (auto&& [key, value] : *groups) {
      std::string name(key.str());
      if (!ValidName(name)) {
        Fail(PositionOf(key.source()),
             fmt::format("group name '{}' must be 1..{} letters, digits, '-', '_' or '.'", name,
                         kMaxName));
        continue;
      }
      if (name == "all") {
        // hactl demote --group all addresses every group at once.
        Fail(PositionOf(key.source()),
             "group name 'all' is reserved (hactl uses it for every group)");
        continue;
      }
      const toml::array* list = value.as_array();
      if (!list) {
        Fail(value, fmt::format("group '{}' must be an array of interface names, not {}", name,
                                TypeName(value)));
        continue;
      }
      if (list->empty()) {
        Fail(value, fmt::format("group '{}' lists no interfaces", name));
        continue;
      }
      InterfaceGroup group{name, {}};
      for (const toml::node& element : *list) {
        auto interface = AsString(&element, "groups");
        if (!interface) continue;
        if (!ValidInterfaceName(*interface)) {
          Fail(element, fmt::format("'{}' is not a valid interface name (1..15 characters, no "
                                    "space, '/' or ':')",
                                    *interface));
          continue;
        }
        if (std::find(group.interfaces.begin(), group.interfaces.end(), *interface) !=
            group.interfaces.end()) {
          Fail(element, fmt::format("group '{}' lists '{}' twice", name, *interface));
          continue;
        }
        group.interfaces.push_back(*interface);
      }
      config.groups.push_back(std::move(group));
    }
    std::sort(config.groups.begin(), config.groups.end(),
              [](const InterfaceGroup& a, const InterfaceGroup& b) { return a.name < b.name; });
  }

  void LoadSync(const toml::table* sync, ClusterConfig& config) {
    if (!sync) return;
    CheckKeys(*sync, kSyncKeys, "[sync]");
    SyncConfig s;
    bool ok = true;
    const toml::node* if_node = Require(*sync, "interface", "[sync]");
    auto interface = AsString(if_node, "interface");
    if (interface && !ValidInterfaceName(*interface)) {
      Fail(*if_node, fmt::format("'{}' is not a valid interface name (1..15 characters, no "
                                 "space, '/' or ':')",
                                 *interface));
      interface.reset();
    }
    if (interface) s.interface = *interface;
    ok &= interface.has_value();
    if (const toml::node* n = sync->get("port")) {
      auto port = AsInt(n, "port", 1, 65535);
      if (port) s.port = static_cast<uint16_t>(*port);
      ok &= port.has_value();
    }
    const toml::node* key_node = Require(*sync, "key_file", "[sync]");
    if (auto file = AsString(key_node, "key_file")) {
      s.key_file = ResolvePath(*file);
      if (auto secret = ReadSecret(*key_node, s.key_file, "key file")) {
        if (secret->size() < kMinSyncKeyBytes) {
          Fail(*key_node, fmt::format("key in '{}' is {} bytes; the sync link needs at least {} "
                                      "(e.g. the output of openssl rand -hex 32)",
                                      s.key_file, secret->size(), kMinSyncKeyBytes));
          ok = false;
        } else {
          s.key.assign(secret->begin(), secret->end());
        }
      } else {
        ok = false;
      }
    } else {
      ok = false;
    }
    if (ok) config.sync = std::move(s);
  }

  void LoadHooks(const toml::table* hooks, ClusterConfig& config) {
    if (!hooks) return;
    CheckKeys(*hooks, kHookKeys, "[hooks]");
    auto load = [&](std::string_view key, std::string& out) {
      const toml::node* n = hooks->get(key);
      auto text = AsString(n, key);
      if (!text) return;
      std::string path = ResolvePath(*text);
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        Fail(*n, fmt::format("cannot use {} hook '{}': {}", key, path, std::strerror(errno)));
      } else if (!S_ISREG(st.st_mode) || (st.st_mode & S_IXUSR) == 0) {
        Fail(*n, fmt::format("{} hook '{}' is not an executable file", key, path));
      } else if ((st.st_mode & 022) != 0) {
        // The agent runs hooks as root: a hook others can rewrite is a root shell.
        Fail(*n, fmt::format("{} hook '{}' is writable by group or others (mode {:04o})", key, path,
                             st.st_mode & 07777));
      } else {
        out = path;
      }
    };
    load("master", config.hooks.master);
    load("backup", config.hooks.backup);
    load("init", config.hooks.init);
    if (auto t = AsInt(hooks->get("timeout_seconds"), "timeout_seconds", 1, 3600)) {
      config.hooks.timeout_seconds = static_cast<uint32_t>(*t);
    }
  }

  // Per-node interface renames: every key must be an interface the file uses,
  // and after renaming no two cluster interfaces may share a local name.
  void LoadRenames(const std::vector<NodeExtra>& extras, ClusterConfig& config) {
    std::set<std::string> used;
    for (const VhidConfig& v : config.vhids) used.insert(v.interface);
    for (const InterfaceGroup& g : config.groups) {
      used.insert(g.interfaces.begin(), g.interfaces.end());
    }
    if (config.sync) used.insert(config.sync->interface);
    for (size_t i = 0; i < config.nodes.size(); ++i) {
      NodeConfig& node = config.nodes[i];
      if (!extras[i].interfaces) continue;
      for (auto&& [key, value] : *extras[i].interfaces) {
        std::string from(key.str());
        if (!used.count(from)) {
          // A typo here would silently leave the real interface unrenamed.
          Fail(PositionOf(key.source()),
               fmt::format("node '{}' renames interface '{}', which no vhid, group or [sync] "
                           "uses{}",
                           node.name, from, DidYouMean(from, used)));
          continue;
        }
        auto to = AsString(&value, from);
        if (!to) continue;
        if (!ValidInterfaceName(*to)) {
          Fail(value, fmt::format("'{}' is not a valid interface name (1..15 characters, no "
                                  "space, '/' or ':')",
                                  *to));
          continue;
        }
        node.interface_renames[from] = *to;
      }
      std::map<std::string, std::string> local_to_cluster;
      for (const std::string& cluster_name : used) {
        auto it = node.interface_renames.find(cluster_name);
        std::string local = it == node.interface_renames.end() ? cluster_name : it->second;
        auto [seen, inserted] = local_to_cluster.emplace(local, cluster_name);
        if (!inserted) {
          Fail(PositionOf(extras[i].interfaces->source()),
               fmt::format("on node '{}' interfaces '{}' and '{}' would both be '{}'", node.name,
                           seen->second, cluster_name, local));
        }
      }
    }
  }

  void LoadRoot(const toml::table& root, ClusterConfig& config) {
    CheckKeys(root, kRootKeys, "the cluster file");
    CarpDefaults defaults = LoadCarp(AsTable(root.get("carp"), "carp"));
    LoadSync(AsTable(root.get("sync"), "sync"), config);
    bool sync_configured = root.get("sync") != nullptr;
    std::vector<NodeExtra> extras;
    size_t errors_before_nodes = errors_.size();
    LoadNodes(root, sync_configured, config, extras);
    bool nodes_ok = errors_.size() == errors_before_nodes;
    LoadGroups(AsTable(root.get("groups"), "groups"), config);
    LoadHooks(AsTable(root.get("hooks"), "hooks"), config);
    // Vhids refer to nodes by name, so they are checked only against a
    // complete node list (a broken [[node]] would cause follow-up noise).
    const toml::node* vhids = root.get("vhid");
    if (!vhids) Fail(SourcePosition{1, 1}, "the cluster file defines no [[vhid]]");
    if (nodes_ok) {
      for (const toml::table* t : AsTables(vhids, "vhid")) LoadVhid(*t, defaults, extras, config);
      if (!any_vhid_failed_) LoadRenames(extras, config);
      if (vhids && vhids->is_array() && vhids->as_array()->empty()) {
        Fail(*vhids, "the cluster file defines no [[vhid]]");
      }
    }
    if (const toml::node* nodes = root.get("node");
        nodes && nodes->is_array() && nodes->as_array()->empty()) {
      Fail(*nodes, "the cluster file defines no [[node]]");
    }
  }

  std::string path_;
  std::filesystem::path base_dir_;
  std::vector<Diagnostic> errors_;
  bool any_vhid_failed_ = false;
};

std::string LocalName(const NodeConfig& node, const std::string& cluster_name) {
  auto it = node.interface_renames.find(cluster_name);
  return it == node.interface_renames.end() ? cluster_name : it->second;
}

std::string Seconds(double s) { return fmt::format("{:.3f} s", s); }

}  // namespace

std::string_view MasterDownRuleName(MasterDownRule rule) {
  return rule == MasterDownRule::kOpenBsd2025 ? "openbsd-2025" : "classic";
}

Result<ClusterConfig> LoadClusterConfig(const std::string& path) { return Loader(path).Run(); }

Result<NodePlan> PlanForNode(const ClusterConfig& config, std::string_view node_name) {
  auto node = std::find_if(config.nodes.begin(), config.nodes.end(),
                           [&](const NodeConfig& n) { return n.name == node_name; });
  if (node == config.nodes.end()) {
    std::string names;
    for (const NodeConfig& n : config.nodes) names += (names.empty() ? "" : ", ") + n.name;
    return MakeError(ErrorCode::kConfig,
                     fmt::format("{}: node '{}' is not defined in the cluster file (nodes: {})",
                                 config.path, node_name, names));
  }
  NodePlan plan;
  plan.node = node->name;
  for (const InterfaceGroup& g : config.groups) {
    InterfaceGroup local{g.name, {}};
    for (const std::string& i : g.interfaces) local.interfaces.push_back(LocalName(*node, i));
    plan.groups.push_back(std::move(local));
  }
  for (const VhidConfig& v : config.vhids) {
    VhidPlan p;
    p.interface = LocalName(*node, v.interface);
    p.vhid = v.vhid;
    p.advbase = v.advbase;
    p.advskew = v.advskew.at(node->name);
    p.preempt = v.preempt;
    p.vips = v.vips;
    p.passphrase = v.passphrase;
    if (auto it = v.unicast_peers.find(node->name); it != v.unicast_peers.end()) {
      p.unicast_peer_v4 = it->second.v4;
      p.unicast_peer_v6 = it->second.v6;
    }
    p.master_down = v.master_down;
    p.demote_raises_advskew = v.demote_raises_advskew;
    p.vmac = v.vmac;
    for (const InterfaceGroup& g : config.groups) {
      if (std::find(g.interfaces.begin(), g.interfaces.end(), v.interface) != g.interfaces.end()) {
        p.groups.push_back(g.name);
      }
    }
    plan.vhids.push_back(std::move(p));
  }
  if (config.sync) {
    SyncPlan s;
    s.interface = LocalName(*node, config.sync->interface);
    s.port = config.sync->port;
    s.local_address = *node->sync_address;
    for (const NodeConfig& other : config.nodes) {
      if (other.name != node->name) s.peers.push_back({other.name, *other.sync_address});
    }
    s.key = config.sync->key;
    plan.sync = std::move(s);
  }
  plan.hooks = config.hooks;
  return plan;
}

std::string DescribePlan(const ClusterConfig& config, const NodePlan& plan) {
  std::string out = fmt::format("node {} (cluster file {})\n", plan.node, config.path);
  for (size_t i = 0; i < plan.vhids.size(); ++i) {
    const VhidPlan& v = plan.vhids[i];
    const VhidConfig& c = config.vhids[i];
    double advert = v.advbase + v.advskew / 256.0;
    double down = v.master_down == MasterDownRule::kClassic ? 3.0 * v.advbase + v.advskew / 256.0
                                                            : 3.0 * advert;
    out += fmt::format("\nvhid {} on {}\n", v.vhid, v.interface);
    std::string vips;
    for (const IpPrefix& p : v.vips) vips += (vips.empty() ? "" : " ") + p.ToString();
    out += fmt::format("  vips                   {}\n", vips);
    out += fmt::format(
        "  advbase / advskew      {} / {} (advert every {}, master down after {}, "
        "{} rule)\n",
        v.advbase, v.advskew, Seconds(advert), Seconds(down), MasterDownRuleName(v.master_down));
    out += fmt::format("  preempt                {}\n", v.preempt ? "yes" : "no");
    out += fmt::format("  demote raises advskew  {}\n", v.demote_raises_advskew ? "yes" : "no");
    out += fmt::format("  virtual MAC            {}\n",
                       v.vmac ? fmt::format("yes (00:00:5e:00:01:{:02x})", v.vhid) : "no");
    std::string dest;
    if (v.unicast_peer_v4) dest += "unicast to " + v.unicast_peer_v4->ToString();
    if (v.unicast_peer_v6) {
      dest += (dest.empty() ? "unicast to " : ", ") + v.unicast_peer_v6->ToString();
    }
    out += fmt::format("  adverts                {}\n", dest.empty() ? "multicast" : dest);
    out += fmt::format("  passphrase             {} bytes from {}\n", v.passphrase.size(),
                       c.passphrase_file);
    std::string groups;
    for (const std::string& g : v.groups) groups += (groups.empty() ? "" : " ") + g;
    out += fmt::format("  demotion groups        {}\n", groups.empty() ? "(none)" : groups);
  }
  out += "\ninterface groups\n";
  if (plan.groups.empty()) out += "  (none)\n";
  for (const InterfaceGroup& g : plan.groups) {
    std::string members;
    for (const std::string& i : g.interfaces) members += (members.empty() ? "" : " ") + i;
    out += fmt::format("  {:<22} {}\n", g.name, members);
  }
  out += "\nstate sync\n";
  if (!plan.sync) {
    out += "  off (no [sync] table)\n";
  } else {
    const SyncPlan& s = *plan.sync;
    out += fmt::format("  interface              {}\n", s.interface);
    out += fmt::format("  local address          {} port {}\n", s.local_address.ToString(), s.port);
    for (const SyncPeer& peer : s.peers) {
      out += fmt::format("  peer                   {} {}\n", peer.node, peer.address.ToString());
    }
    out += fmt::format("  key                    {} bytes from {}\n", s.key.size(),
                       config.sync->key_file);
  }
  out += "\nhooks\n";
  auto hook = [](const std::string& path) { return path.empty() ? std::string("(none)") : path; };
  out += fmt::format("  master                 {}\n", hook(plan.hooks.master));
  out += fmt::format("  backup                 {}\n", hook(plan.hooks.backup));
  out += fmt::format("  init                   {}\n", hook(plan.hooks.init));
  out += fmt::format("  timeout                {} s\n", plan.hooks.timeout_seconds);
  return out;
}

}  // namespace hafw::agent
