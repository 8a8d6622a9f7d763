#pragma once

// Why a received CARP packet was dropped. Every reason has a counter that
// `hactl status` and the metrics show; nothing from the network is asserted on.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hafw::carp {

enum class DropReason : uint8_t {
  kShort,           // fewer than 36 CARP bytes
  kBadVersion,      // version nibble is not 2
  kBadChecksum,     // Internet checksum over the 36 bytes is wrong
  kBadTtl,          // TTL / hop limit is not 255
  kUnknownVhid,     // no vhid with that number on the receiving interface
  kBadAuth,         // HMAC-SHA1 does not match (passphrase or VIP list differs)
  kOwnPacket,       // our own advertisement looped back (own cookie or own source)
  kNotRunning,      // the vhid is in INIT (link down, stopped)
  kWrongFamily,     // an IPv6 advertisement for a vhid without IPv6 VIPs, or vice versa
  kBadDestination,  // neither the CARP group nor a configured unicast peer's destination
  kCount,           // number of reasons; not a reason
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

// Stable snake_case names, used in JSON, metrics and logs ("bad_auth").
std::string_view DropReasonName(DropReason reason);

// One counter per reason.
struct DropCounters {
  std::array<uint64_t, kDropReasonCount> counts{};

  void Count(DropReason reason) { ++counts[static_cast<size_t>(reason)]; }
  uint64_t Get(DropReason reason) const { return counts[static_cast<size_t>(reason)]; }
  uint64_t Total() const;
};

}  // namespace hafw::carp
