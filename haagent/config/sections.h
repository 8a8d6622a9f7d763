#pragma once

// The loaders of the cluster file's sections ([carp], [[node]], [[vhid]],
// [groups], [sync], [hooks] and the nodes' interface renames). Each reads its
// table through a TomlReader, reports mistakes there and fills ClusterConfig
// with what is valid. Private to haagent/config; loader.cc calls them in order.

#include <cstdint>
#include <vector>

#include "haagent/config/cluster_config.h"
#include "haagent/config/toml_reader.h"

namespace hafw::agent {

// [carp]: defaults for every [[vhid]].
struct CarpDefaults {
  uint8_t advbase = 1;
  SourcePosition advbase_at{1, 1};  // where advbase 0 is blamed when it came from [carp]
  bool preempt = false;
  carp::MasterDownRule master_down = carp::MasterDownRule::kClassic;
  bool demote_raises_advskew = false;
  bool vmac = false;
};

// What a [[node]] says that is applied later, once vhids and interfaces are known.
struct NodeExtra {
  uint8_t advskew = 0;
  const toml::table* interfaces = nullptr;
};

CarpDefaults LoadCarp(TomlReader& r, const toml::table* carp);

// Every [[node]]; `extras` gets one entry per node added to `config.nodes`.
void LoadNodes(TomlReader& r, const toml::table& root, bool sync_configured, ClusterConfig& config,
               std::vector<NodeExtra>& extras);

// One [[vhid]], checked against the nodes and the vhids before it; added to
// `config.vhids` when valid. Returns whether it was.
bool LoadVhid(TomlReader& r, const toml::table& table, const CarpDefaults& defaults,
              const std::vector<NodeExtra>& extras, ClusterConfig& config);

void LoadGroups(TomlReader& r, const toml::table* groups, ClusterConfig& config);
void LoadSync(TomlReader& r, const toml::table* sync, ClusterConfig& config);
void LoadHooks(TomlReader& r, const toml::table* hooks, ClusterConfig& config);

// The nodes' [[node]] interfaces: every key an interface the file uses, no
// two cluster interfaces with one local name.
void LoadRenames(TomlReader& r, const std::vector<NodeExtra>& extras, ClusterConfig& config);

}  // namespace hafw::agent
