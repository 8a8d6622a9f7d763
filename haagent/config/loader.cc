#include "haagent/config/loader.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "haagent/config/diagnostics.h"
#include "haagent/config/sections.h"
#include "haagent/config/toml_reader.h"

namespace hafw::agent {
namespace {

constexpr std::string_view kRootKeys[] = {"carp", "node", "vhid", "groups", "sync", "hooks"};

bool IsEmptyArray(const toml::node* node) {
  return node != nullptr && node->is_array() && node->as_array()->empty();
}

void LoadRoot(TomlReader& r, const toml::table& root, ClusterConfig& config) {
  r.CheckKeys(root, kRootKeys, "the cluster file");
  CarpDefaults defaults = LoadCarp(r, r.AsTable(root.get("carp"), "carp"));
  LoadSync(r, r.AsTable(root.get("sync"), "sync"), config);
  bool sync_configured = root.get("sync") != nullptr;
  std::vector<NodeExtra> extras;
  size_t errors_before_nodes = r.Diag().Count();
  LoadNodes(r, root, sync_configured, config, extras);
  bool nodes_ok = r.Diag().Count() == errors_before_nodes;
  LoadGroups(r, r.AsTable(root.get("groups"), "groups"), config);
  LoadHooks(r, r.AsTable(root.get("hooks"), "hooks"), config);
  // Vhids refer to nodes by name, so they are checked only against a
  // complete node list (a broken [[node]] would cause follow-up noise).
  const toml::node* vhids = root.get("vhid");
  if (vhids == nullptr) r.Fail(SourcePosition{1, 1}, "the cluster file defines no [[vhid]]");
  if (nodes_ok) {
    bool all_vhids_ok = true;
    for (const toml::table* t : r.AsTables(vhids, "vhid")) {
      all_vhids_ok &= LoadVhid(r, *t, defaults, extras, config);
    }
    // Renames are checked against the interfaces of a complete vhid list.
    if (all_vhids_ok) LoadRenames(r, extras, config);
    if (IsEmptyArray(vhids)) r.Fail(*vhids, "the cluster file defines no [[vhid]]");
  }
  if (const toml::node* nodes = root.get("node"); IsEmptyArray(nodes)) {
    r.Fail(*nodes, "the cluster file defines no [[node]]");
  }
}

}  // namespace

Result<ClusterConfig> LoadClusterConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kConfig, fmt::format("{}: cannot read the cluster file: {}", path,
                                                     std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string content = text.str();

  toml::table root;
  try {
    root = toml::parse(content, path);
  } catch (const toml::parse_error& e) {
    return MakeError(ErrorCode::kConfig, fmt::format("{}:{}:{}: {}", path, e.source().begin.line,
                                                     e.source().begin.column, e.description()));
  }

  std::error_code ec;
  Diagnostics diag;
  TomlReader reader(std::filesystem::absolute(path, ec).parent_path(), diag);
  ClusterConfig config;
  config.path = path;
  LoadRoot(reader, root, config);
  if (!diag.Empty()) return tl::unexpected(diag.ToError(path));
  return config;
}

}  // namespace hafw::agent
