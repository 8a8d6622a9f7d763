#pragma once

// Typed access to a parsed TOML document for the section loaders: every
// wrong type, range or key becomes a Diagnostic at the value's position and an
// empty result, so loading goes on and reports every mistake at once. Private
// to haagent/config (toml++ stays inside this folder).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Debian's toml++ library is built with exceptions: parse errors arrive as
// toml::parse_error, caught in loader.cc; they never leave haagent/config.
#include <toml++/toml.h>

#include "common/ip_address.h"
#include "haagent/config/cluster_config.h"
#include "haagent/config/diagnostics.h"

namespace hafw::agent {

using Keys = std::span<const std::string_view>;

SourcePosition PositionOf(const toml::source_region& region);
std::string_view TypeName(const toml::node& node);  // "a string", "an array", ...

class TomlReader {
 public:
  // `base_dir`: where relative file names in the document resolve.
  TomlReader(std::filesystem::path base_dir, Diagnostics& diag)
      : base_dir_(std::move(base_dir)), diag_(diag) {}

  Diagnostics& Diag() { return diag_; }
  void Fail(SourcePosition at, std::string message) { diag_.Add(at, std::move(message)); }
  void Fail(const toml::node& at, std::string message) {
    Fail(PositionOf(at.source()), std::move(message));
  }

  // Rejects keys not in `allowed`, pointing at the key itself.
  void CheckKeys(const toml::table& table, Keys allowed, std::string_view where);
  // Where a missing key would have gone: the table's header (1:1 for the root).
  static SourcePosition TablePosition(const toml::table& table);
  // The key's node; a diagnostic "<where> needs the key '<key>'" when absent.
  const toml::node* Require(const toml::table& table, std::string_view key, std::string_view where);

  // nullptr / nullopt in: nullopt out without a message (the key is optional).
  std::optional<std::string> AsString(const toml::node* node, std::string_view key);
  std::optional<bool> AsBool(const toml::node* node, std::string_view key);
  std::optional<int64_t> AsInt(const toml::node* node, std::string_view key, int64_t min,
                               int64_t max);
  const toml::table* AsTable(const toml::node* node, std::string_view key);
  const toml::array* AsArray(const toml::node* node, std::string_view key);
  // An array of tables ([[key]]); wrong elements are reported and skipped.
  std::vector<const toml::table*> AsTables(const toml::node* node, std::string_view key);
  std::optional<IpAddress> AsAddress(const toml::node& node, std::string_view key);
  std::optional<carp::MasterDownRule> AsMasterDown(const toml::node* node);

  // Absolute and normalized; relative names resolve against the file's directory.
  std::string ResolvePath(const std::string& text) const;
  // A secret file's content (secrets.h); failures are reported at `at`.
  std::optional<std::string> ReadSecret(const toml::node& at, const std::string& path,
                                        std::string_view what);

 private:
  std::filesystem::path base_dir_;
  Diagnostics& diag_;
};

}  // namespace hafw::agent
