#pragma once

// The only door to OpenSSL from carp/core: HMAC-SHA1 and a constant-time compare,
// spoken in std::span. The implementation (crypto.cc) is the only file that
// includes OpenSSL headers.

#include <array>
#include <cstdint>
#include <memory>
#include <span>

namespace hafw::carp {

using Sha1Digest = std::array<uint8_t, 20>;

// One-shot HMAC-SHA1.
Sha1Digest HmacSha1(std::span<const uint8_t> key, std::span<const uint8_t> message);

// Constant-time equality; false if the sizes differ.
bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

// HMAC-SHA1 whose key and message prefix are fixed: the inner hash over
// ipad || prefix is computed once, and each Finish() adds a suffix (CARP: the
// 8 counter bytes). The state lives behind a pimpl to keep OpenSSL out;
// Finish() resumes from copies of it and allocates nothing.
class PrefixedHmacSha1 {
 public:
  PrefixedHmacSha1(std::span<const uint8_t> key, std::span<const uint8_t> prefix);
  ~PrefixedHmacSha1();
  PrefixedHmacSha1(PrefixedHmacSha1&&) noexcept;
  PrefixedHmacSha1& operator=(PrefixedHmacSha1&&) noexcept;
  PrefixedHmacSha1(const PrefixedHmacSha1&) = delete;
  PrefixedHmacSha1& operator=(const PrefixedHmacSha1&) = delete;

  Sha1Digest Finish(std::span<const uint8_t> suffix) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hafw::carp
