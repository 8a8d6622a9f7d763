#include "firewall/core/firewall_plan.h"

#include <algorithm>
#include <array>
#include <set>

namespace hafw::firewall {

IpPrefix LinkLocalV6() {
  std::array<uint8_t, 16> bytes{};
  bytes[0] = 0xfe;
  bytes[1] = 0x80;
  return IpPrefix{IpAddress::V6(bytes), 10};
}

IpPrefix HostPrefix(const IpAddress& address) {
  return IpPrefix{address, IpPrefix::MaxLength(address.Family())};
}

bool IsValidInterfaceName(std::string_view name) {
  constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
  if (name.empty() || name.size() > kMaxInterfaceName || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '"' && c != '\\' && c != '/' && c != '*' && c != ':';
  });
}

bool IsValidTableName(std::string_view name) {
  constexpr size_t kMaxTableName = 32;
  if (name.empty() || name.size() > kMaxTableName || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

namespace {

Result<void> Invalid(std::string what) {
  return MakeError(ErrorCode::kInvalidArgument, "firewall plan: " + std::move(what));
}

IpPrefix Masked(const IpPrefix& prefix) {
  auto bytes = prefix.address.Bytes();
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int bits_here =
        std::clamp(static_cast<int>(prefix.length) - static_cast<int>(i * 8), 0, 8);
    const auto mask = static_cast<uint8_t>(bits_here == 0 ? 0 : 0xff << (8 - bits_here));
    out[i] = bytes[i] & mask;
  }
  auto address = IpAddress::FromBytes(std::span<const uint8_t>(out.data(), bytes.size()));
  return IpPrefix{*address, prefix.length};
}

}  // namespace

Result<void> ValidatePlan(const FirewallPlan& plan) {
  if (!IsValidTableName(plan.table_name)) {
    return Invalid("table name '" + plan.table_name +
                   "' must match [a-z][a-z0-9_-]* (at most 32 characters)");
  }
  std::set<std::string> parents;
  for (const CarpParent& parent : plan.carp_parents) {
    if (!IsValidInterfaceName(parent.interface)) {
      return Invalid("'" + parent.interface + "' is not a usable interface name");
    }
    if (!parents.insert(parent.interface).second) {
      return Invalid("parent " + parent.interface + " is listed twice");
    }
    for (const IpPrefix& source : parent.allowed_sources) {
      if (source.length > IpPrefix::MaxLength(source.address.Family())) {
        return Invalid("allowed CARP source " + source.ToString() + " on " + parent.interface +
                       " has a prefix longer than its family allows");
      }
    }
  }
  if (plan.sync) {
    if (!IsValidInterfaceName(plan.sync->interface)) {
      return Invalid("sync interface '" + plan.sync->interface + "' is not a usable name");
    }
    if (plan.sync->port == 0) return Invalid("the sync port must not be 0");
    if (plan.sync->peer_addresses.empty()) {
      return Invalid("the sync link on " + plan.sync->interface + " has no peer address");
    }
  }
  return {};
}

std::vector<IpPrefix> NormalizeSources(std::vector<IpPrefix> sources) {
  for (IpPrefix& p : sources) p = Masked(p);
  // Shorter prefixes first within equal addresses, so a covering prefix is
  // kept before what it covers.
  std::sort(sources.begin(), sources.end(), [](const IpPrefix& a, const IpPrefix& b) {
    if (a.address != b.address) return a.address < b.address;
    return a.length < b.length;
  });
  std::vector<IpPrefix> out;
  for (const IpPrefix& p : sources) {
    // Sorted by address: a prefix that covers p is the last one kept of p's family, if any.
    if (!out.empty() && out.back().address.Family() == p.address.Family() &&
        out.back().Contains(p.address) && out.back().length <= p.length) {
      continue;
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace hafw::firewall
