#pragma once

// The CARP HMAC of carp-protocol.md §2: HMAC-SHA1 keyed with the passphrase
// (at most 19 bytes; zero padding to 20 makes no difference) over
//   02 01 vhid  IPv4 VIPs sorted numerically  IPv6 VIPs sorted byte-wise  counter
// IPv6 scope-embedded addresses (link-local) are left out when signing, like
// OpenBSD's HMAC_NOV6LL; verification accepts the digest with or without them
// (OpenBSD HMAC_ORIG, FreeBSD). Duplicates are hashed once.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "carp/core/codec.h"
#include "carp/core/crypto.h"
#include "common/ip_address.h"

namespace hafw::carp {

inline constexpr size_t kMaxPassphraseSize = 19;

// The message M (without the counter). `include_scope_embedded` selects the
// HMAC_ORIG variant. `lladdr` is OpenBSD's hand-set carp MAC case (vector V3).
std::vector<uint8_t> CarpHmacMessage(uint8_t vhid, std::span<const IpAddress> vips,
                                     bool include_scope_embedded,
                                     std::optional<std::array<uint8_t, 6>> lladdr = std::nullopt);

class CarpAuthenticator {
 public:
  CarpAuthenticator(std::span<const uint8_t> passphrase, uint8_t vhid,
                    std::span<const IpAddress> vips);

  // Digest for an advertisement carrying `counter` (big-endian on the wire).
  HmacDigest Sign(uint64_t counter) const;
  // Constant-time check of a received digest against both message variants.
  bool Verify(uint64_t counter, std::span<const uint8_t> digest) const;

 private:
  PrefixedHmacSha1 without_link_local_;
  std::optional<PrefixedHmacSha1> with_link_local_;  // only when a VIP is scope-embedded
};

}  // namespace hafw::carp
