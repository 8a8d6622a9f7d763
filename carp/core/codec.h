#pragma once

// The CARP v2 advertisement: 36 bytes after the IP header (carp-protocol.md §1.1).
//   0  version(4 bits)=2 | type(4 bits)=1
//   1  vhid   2 advskew   3 authlen=7   4 demote (OpenBSD)   5 advbase
//   6  checksum (RFC 1071 over the 36 bytes, no pseudo-header)
//   8  counter (64-bit big-endian)   16 HMAC-SHA1 (20 bytes)

#include <array>
#include <cstdint>
#include <span>

#include <tl/expected.hpp>

#include "carp/core/drop_reason.h"
#include "common/ip_address.h"

namespace hafw::carp {

inline constexpr size_t kAdvertisementSize = 36;
inline constexpr size_t kHmacSize = 20;
inline constexpr uint8_t kCarpVersion = 2;
inline constexpr uint8_t kTypeAdvertisement = 1;
inline constexpr uint8_t kAuthLen = 7;        // (8-byte counter + 20-byte HMAC) / 4
inline constexpr uint8_t kRequiredTtl = 255;  // TTL / hop limit, sent and required
inline constexpr uint8_t kIpProtocolCarp = 112;
inline constexpr uint8_t kBowOutAdvbase = 255;  // with kBowOutAdvskew: "I am leaving" (§3.7)
inline constexpr uint8_t kBowOutAdvskew = 255;

// The CARP multicast groups: 224.0.0.18 and ff02::12.
IpAddress CarpGroupAddress(IpFamily family);

using AdvertisementBytes = std::array<uint8_t, kAdvertisementSize>;
using HmacDigest = std::array<uint8_t, kHmacSize>;

struct Advertisement {
  uint8_t version = kCarpVersion;
  uint8_t type = kTypeAdvertisement;
  uint8_t vhid = 0;
  uint8_t advskew = 0;
  uint8_t authlen = kAuthLen;
  uint8_t demote = 0;
  uint8_t advbase = 1;
  uint16_t checksum = 0;  // as received; recomputed by EncodeAdvertisement
  uint64_t counter = 0;
  HmacDigest hmac{};

  friend bool operator==(const Advertisement&, const Advertisement&) = default;
};

// Parses the CARP bytes that follow the IP header. Checks, in order: at least 36
// bytes (kShort), version 2 (kBadVersion), checksum over exactly the first 36
// bytes (kBadChecksum); extra trailing bytes are ignored as OpenBSD does. The
// type nibble and authlen are not checked (no implementation does). Never reads
// past `bytes`.
tl::expected<Advertisement, DropReason> DecodeAdvertisement(std::span<const uint8_t> bytes);

// The fields of a 36-byte header as they stand, with no check at all (the
// checksum field is read, not verified). DecodeAdvertisement is this plus its
// checks; tools that rewrite packets (the fuzzer) use it directly.
Advertisement ReadAdvertisementFields(std::span<const uint8_t, kAdvertisementSize> header);

// Serialises `ad`, computing the checksum (ad.checksum is ignored).
AdvertisementBytes EncodeAdvertisement(const Advertisement& ad);

// RFC 1071 Internet checksum of `bytes` (odd length padded with a zero byte).
uint16_t InternetChecksum(std::span<const uint8_t> bytes);

}  // namespace hafw::carp
