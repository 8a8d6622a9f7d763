#pragma once

// IPv4/IPv6 addresses and prefixes: parsing, formatting, ordering. Pure values.

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hafw {

enum class IpFamily : uint8_t { kV4 = 4, kV6 = 6 };

std::string_view IpFamilyName(IpFamily family);  // "ipv4" / "ipv6"

class IpAddress {
 public:
  // Default: 0.0.0.0.
  IpAddress() = default;

  // Accepts dotted quad or RFC 4291/5952 text; no prefix, no zone ("%eth0").
  static Result<IpAddress> Parse(std::string_view text);
  static IpAddress V4(std::array<uint8_t, 4> bytes);
  static IpAddress V4FromHostOrder(uint32_t value);
  static IpAddress V6(std::array<uint8_t, 16> bytes);
  // From 4 or 16 network-order bytes; any other size is an error.
  static Result<IpAddress> FromBytes(std::span<const uint8_t> bytes);

  IpFamily Family() const { return family_; }
  bool IsV4() const { return family_ == IpFamily::kV4; }
  bool IsV6() const { return family_ == IpFamily::kV6; }
  // 4 bytes for IPv4, 16 for IPv6, network order.
  std::span<const uint8_t> Bytes() const;
  uint32_t V4HostOrder() const;  // only meaningful for IPv4

  bool IsUnspecified() const;
  bool IsMulticast() const;
  bool IsLoopback() const;
  // IPv6 link-local unicast fe80::/10 or IPv4 169.254.0.0/16.
  bool IsLinkLocal() const;
  // Addresses whose meaning depends on an interface (the BSD "scope-embedded"
  // ones): IPv6 link-local unicast, link-local and interface-local multicast.
  bool IsScopeEmbedded() const;

  std::string ToString() const;

  // IPv4 sorts before IPv6; within a family, numerically (= byte-wise).
  friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b);
  friend bool operator==(const IpAddress& a, const IpAddress& b) = default;

 private:
  IpFamily family_ = IpFamily::kV4;
  std::array<uint8_t, 16> bytes_{};  // IPv4 uses the first 4
};

// An address with a prefix length, as VIPs are configured: "192.0.2.100/24".
struct IpPrefix {
  IpAddress address;
  uint8_t length = 0;

  // A missing "/len" is an error: a VIP without a prefix is ambiguous.
  static Result<IpPrefix> Parse(std::string_view text);
  static uint8_t MaxLength(IpFamily family) { return family == IpFamily::kV4 ? 32 : 128; }
  bool Contains(const IpAddress& other) const;
  std::string ToString() const;

  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

}  // namespace hafw

template <>
struct std::hash<hafw::IpAddress> {
  size_t operator()(const hafw::IpAddress& a) const noexcept;
};
