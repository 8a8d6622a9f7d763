#include "haagent/config/toml_reader.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "haagent/config/secrets.h"

namespace hafw::agent {

SourcePosition PositionOf(const toml::source_region& region) {
  return {static_cast<uint32_t>(region.begin.line), static_cast<uint32_t>(region.begin.column)};
}

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

void TomlReader::CheckKeys(const toml::table& table, Keys allowed, std::string_view where) {
  for (auto&& [key, value] : table) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    Fail(PositionOf(key.source()), fmt::format("unknown key '{}' in {}{}", key.str(), where,
                                               DidYouMeanAny(key.str(), allowed)));
  }
}

SourcePosition TomlReader::TablePosition(const toml::table& table) {
  SourcePosition p = PositionOf(table.source());
  return p.line == 0 ? SourcePosition{1, 1} : p;
}

const toml::node* TomlReader::Require(const toml::table& table, std::string_view key,
                                      std::string_view where) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    Fail(TablePosition(table), fmt::format("{} needs the key '{}'", where, key));
  }
  return node;
}

std::optional<std::string> TomlReader::AsString(const toml::node* node, std::string_view key) {
  if (node == nullptr) return std::nullopt;
  if (const auto* s = node->as_string()) return s->get();
  Fail(*node, fmt::format("'{}' must be a string, not {}", key, TypeName(*node)));
  return std::nullopt;
}

std::optional<bool> TomlReader::AsBool(const toml::node* node, std::string_view key) {
  if (node == nullptr) return std::nullopt;
  if (const auto* b = node->as_boolean()) return b->get();
  Fail(*node, fmt::format("'{}' must be true or false, not {}", key, TypeName(*node)));
  return std::nullopt;
}

std::optional<int64_t> TomlReader::AsInt(const toml::node* node, std::string_view key, int64_t min,
                                         int64_t max) {
  if (node == nullptr) return std::nullopt;
  const auto* i = node->as_integer();
  if (i == nullptr) {
    Fail(*node, fmt::format("'{}' must be an integer, not {}", key, TypeName(*node)));
    return std::nullopt;
  }
  int64_t v = i->get();
  if (v < min || v > max) {
    Fail(*node, fmt::format("{} {} is out of range {}..{}", key, v, min, max));
    return std::nullopt;
  }
  return v;
}

const toml::table* TomlReader::AsTable(const toml::node* node, std::string_view key) {
  if (node == nullptr) return nullptr;
  if (const toml::table* t = node->as_table()) return t;
  Fail(*node, fmt::format("'{}' must be a table, not {}", key, TypeName(*node)));
  return nullptr;
}

const toml::array* TomlReader::AsArray(const toml::node* node, std::string_view key) {
  if (node == nullptr) return nullptr;
  if (const toml::array* a = node->as_array()) return a;
  Fail(*node, fmt::format("'{}' must be an array, not {}", key, TypeName(*node)));
  return nullptr;
}

std::vector<const toml::table*> TomlReader::AsTables(const toml::node* node, std::string_view key) {
  std::vector<const toml::table*> out;
  if (node == nullptr) return out;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    Fail(*node,
         fmt::format("'{}' must be written as [[{}]] tables, not {}", key, key, TypeName(*node)));
    return out;
  }
  for (const toml::node& element : *array) {
    if (const toml::table* t = element.as_table()) {
      out.push_back(t);
    } else {
      Fail(element, fmt::format("each '{}' entry must be a table, not {}", key, TypeName(element)));
    }
  }
  return out;
}

std::optional<IpAddress> TomlReader::AsAddress(const toml::node& node, std::string_view key) {
  auto text = AsString(&node, key);
  if (!text) return std::nullopt;
  auto address = IpAddress::Parse(*text);
  if (!address) {
    Fail(node, address.error().context);
    return std::nullopt;
  }
  return *address;
}

std::optional<carp::MasterDownRule> TomlReader::AsMasterDown(const toml::node* node) {
  auto text = AsString(node, "master_down");
  if (!text) return std::nullopt;
  if (auto rule = ParseMasterDownRule(*text)) return rule;
  Fail(*node,
       fmt::format("master_down must be \"classic\" or \"openbsd-2025\", not \"{}\"", *text));
  return std::nullopt;
}

std::string TomlReader::ResolvePath(const std::string& text) const {
  std::filesystem::path p(text);
  if (p.is_relative()) p = base_dir_ / p;
  return p.lexically_normal().string();
}

std::optional<std::string> TomlReader::ReadSecret(const toml::node& at, const std::string& path,
                                                  std::string_view what) {
  auto secret = ReadSecretFile(path, what);
  if (!secret) {
    Fail(at, secret.error().context);
    return std::nullopt;
  }
  return std::move(*secret);
}

}  // namespace hafw::agent
