#include "carp/core/carp_auth.h"

#include <algorithm>
#include <array>

namespace hafw::carp {
namespace {

std::array<uint8_t, 8> CounterBytes(uint64_t counter) {
  std::array<uint8_t, 8> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
  }
  return bytes;
}

bool HasScopeEmbedded(std::span<const IpAddress> vips) {
  return std::any_of(vips.begin(), vips.end(),
                     [](const IpAddress& a) { return a.IsScopeEmbedded(); });
}

}  // namespace

std::vector<uint8_t> CarpHmacMessage(uint8_t vhid, std::span<const IpAddress> vips,
                                     bool include_scope_embedded,
                                     std::optional<std::array<uint8_t, 6>> lladdr) {
  std::vector<std::array<uint8_t, 4>> v4;
  std::vector<std::array<uint8_t, 16>> v6;
  for (const IpAddress& vip : vips) {
    const std::span<const uint8_t> bytes = vip.Bytes();
    if (vip.IsV4()) {
      std::array<uint8_t, 4> a{};
      std::copy(bytes.begin(), bytes.end(), a.begin());
      v4.push_back(a);
      continue;
    }
    std::array<uint8_t, 16> a{};
    std::copy(bytes.begin(), bytes.end(), a.begin());
    if (vip.IsScopeEmbedded()) {
      if (!include_scope_embedded) continue;
      // BSD kernels keep the interface index in bytes 2-3; the HMAC zeroes it.
      a[2] = 0;
      a[3] = 0;
    }
    v6.push_back(a);
  }
  // Network-order byte arrays compare lexicographically = numerically for IPv4
  // and memcmp order for IPv6, which is what the BSDs use.
  std::sort(v4.begin(), v4.end());
  v4.erase(std::unique(v4.begin(), v4.end()), v4.end());
  std::sort(v6.begin(), v6.end());
  v6.erase(std::unique(v6.begin(), v6.end()), v6.end());

  std::vector<uint8_t> message;
  message.reserve(3 + 6 + 4 * v4.size() + 16 * v6.size());
  message.push_back(kCarpVersion);
  message.push_back(kTypeAdvertisement);
  if (lladdr) message.insert(message.end(), lladdr->begin(), lladdr->end());
  message.push_back(vhid);
  for (const auto& a : v4) message.insert(message.end(), a.begin(), a.end());
  for (const auto& a : v6) message.insert(message.end(), a.begin(), a.end());
  return message;
}

CarpAuthenticator::CarpAuthenticator(std::span<const uint8_t> passphrase, uint8_t vhid,
                                     std::span<const IpAddress> vips)
    // The BSD key is at most 19 passphrase bytes (strlcpy into 20); HMAC's zero
    // padding makes the trailing NULs irrelevant.
    : without_link_local_(passphrase.first(std::min(passphrase.size(), kMaxPassphraseSize)),
                          CarpHmacMessage(vhid, vips, /*include_scope_embedded=*/false)) {
  if (HasScopeEmbedded(vips)) {
    with_link_local_.emplace(passphrase.first(std::min(passphrase.size(), kMaxPassphraseSize)),
                             CarpHmacMessage(vhid, vips, /*include_scope_embedded=*/true));
  }
}

HmacDigest CarpAuthenticator::Sign(uint64_t counter) const {
  // Sent like OpenBSD (HMAC_NOV6LL): peers without our link-local agree on it.
  return without_link_local_.Finish(CounterBytes(counter));
}

bool CarpAuthenticator::Verify(uint64_t counter, std::span<const uint8_t> digest) const {
  const auto counter_bytes = CounterBytes(counter);
  bool ok = ConstantTimeEqual(without_link_local_.Finish(counter_bytes), digest);
  if (with_link_local_) {
    // Non-short-circuit OR: both variants are always computed.
    ok = ConstantTimeEqual(with_link_local_->Finish(counter_bytes), digest) | ok;
  }
  return ok;
}

}  // namespace hafw::carp
