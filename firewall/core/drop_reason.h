#pragma once

// Why the agent's nftables table dropped a packet. Each reason is one named
// nftables counter in the table (the name below), read by firewall/nft and
// shown by `hactl status` and the metrics.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hafw::firewall {

enum class DropReason : uint8_t {
  kCarpSource,  // CARP (IP protocol 112) on a parent from a source that is not allowed
  kCarpTtl,     // CARP on a parent with a TTL / hop limit other than 255
  kSyncSource,  // TCP to the sync port on the sync interface, not from a peer's sync address
  kCount,       // number of reasons; not a reason
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);
inline constexpr std::array<DropReason, kDropReasonCount> kDropReasons = {
    DropReason::kCarpSource, DropReason::kCarpTtl, DropReason::kSyncSource};

// "carp-source", "carp-ttl", "sync-source": the counter's name in the table,
// in JSON and in the metrics' reason label.
std::string_view DropReasonName(DropReason reason);
std::optional<DropReason> DropReasonFromName(std::string_view name);

struct PacketCount {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  friend bool operator==(const PacketCount&, const PacketCount&) = default;
};

// One packet/byte count per reason.
struct DropCounters {
  std::array<PacketCount, kDropReasonCount> counts{};

  PacketCount& operator[](DropReason reason) { return counts[static_cast<size_t>(reason)]; }
  const PacketCount& operator[](DropReason reason) const {
    return counts[static_cast<size_t>(reason)];
  }
  uint64_t TotalPackets() const;
  friend bool operator==(const DropCounters&, const DropCounters&) = default;
};

}  // namespace hafw::firewall
