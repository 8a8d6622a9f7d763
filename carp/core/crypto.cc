#include "carp/core/crypto.h"

// SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
// EVP cannot resume a saved digest state without allocating (OpenSSL 3.0
// mallocs a provider context in every EVP_MD_CTX_copy_ex and
// EVP_DigestInit_ex), and Finish() runs for every received advertisement.
// SHA_CTX is a plain struct: copying it is the allocation-free resume.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace hafw::carp {
namespace {

constexpr size_t kSha1BlockSize = 64;
constexpr uint8_t kIpad = 0x36;
constexpr uint8_t kOpad = 0x5c;

// OpenSSL only fails here on allocation failure or a broken installation; there
// is no sensible way to continue without HMAC, so this is a hard stop, not an
// input-dependent assertion.
void Check(int ok) {
  if (ok != 1) std::abort();
}

// Fetched once: an explicit fetch avoids the per-call implicit lookup of EVP_sha1().
const EVP_MD* Sha1() {
  static EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    if (fetched == nullptr) std::abort();
    return fetched;
  }();
  return md;
}

}  // namespace

Sha1Digest HmacSha1(std::span<const uint8_t> key, std::span<const uint8_t> message) {
  Sha1Digest out{};
  size_t out_len = 0;
  // EVP_Q_mac dislikes a null key pointer even with length 0 (BSD allows an empty key).
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  const uint8_t* msg_ptr = message.empty() ? &kEmpty : message.data();
  unsigned char* result = EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, key_ptr, key.size(),
                                    msg_ptr, message.size(), out.data(), out.size(), &out_len);
  if (result == nullptr || out_len != out.size()) std::abort();
  return out;
}

bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// inner: SHA1 state after (K ^ ipad) || prefix; outer: after (K ^ opad).
struct PrefixedHmacSha1::Impl {
  SHA_CTX inner;
  SHA_CTX outer;
};

PrefixedHmacSha1::PrefixedHmacSha1(std::span<const uint8_t> key, std::span<const uint8_t> prefix)
    : impl_(std::make_unique<Impl>()) {
  // RFC 2104: keys longer than a block are hashed first; shorter ones zero-padded.
  std::array<uint8_t, kSha1BlockSize> block{};
  if (key.size() > kSha1BlockSize) {
    unsigned int len = 0;
    Check(EVP_Digest(key.data(), key.size(), block.data(), &len, Sha1(), nullptr));
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<uint8_t, kSha1BlockSize> pad{};

  std::transform(block.begin(), block.end(), pad.begin(),
                 [](uint8_t b) { return static_cast<uint8_t>(b ^ kIpad); });
  Check(SHA1_Init(&impl_->inner));
  Check(SHA1_Update(&impl_->inner, pad.data(), pad.size()));
  if (!prefix.empty()) Check(SHA1_Update(&impl_->inner, prefix.data(), prefix.size()));

  std::transform(block.begin(), block.end(), pad.begin(),
                 [](uint8_t b) { return static_cast<uint8_t>(b ^ kOpad); });
  Check(SHA1_Init(&impl_->outer));
  Check(SHA1_Update(&impl_->outer, pad.data(), pad.size()));

  // The key material should not linger on the stack.
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
}

PrefixedHmacSha1::~PrefixedHmacSha1() {
  if (impl_) OPENSSL_cleanse(impl_.get(), sizeof(Impl));
}
PrefixedHmacSha1::PrefixedHmacSha1(PrefixedHmacSha1&&) noexcept = default;
PrefixedHmacSha1& PrefixedHmacSha1::operator=(PrefixedHmacSha1&& other) noexcept {
  if (this != &other) {
    if (impl_) OPENSSL_cleanse(impl_.get(), sizeof(Impl));
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Sha1Digest PrefixedHmacSha1::Finish(std::span<const uint8_t> suffix) const {
  // Resume from copies (plain structs: no allocation), keeping the
  // precomputed states reusable.
  SHA_CTX ctx = impl_->inner;
  Sha1Digest inner_digest{};
  if (!suffix.empty()) Check(SHA1_Update(&ctx, suffix.data(), suffix.size()));
  Check(SHA1_Final(inner_digest.data(), &ctx));

  Sha1Digest out{};
  ctx = impl_->outer;
  Check(SHA1_Update(&ctx, inner_digest.data(), inner_digest.size()));
  Check(SHA1_Final(out.data(), &ctx));
  OPENSSL_cleanse(&ctx, sizeof(ctx));
  return out;
}

}  // namespace hafw::carp
