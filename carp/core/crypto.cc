#include "carp/core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>

namespace hafw::carp {
namespace {

constexpr size_t kSha1BlockSize = 64;
constexpr uint8_t kIpad = 0x36;
constexpr uint8_t kOpad = 0x5c;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

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

MdCtxPtr NewCtx() {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) std::abort();
  return ctx;
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
  MdCtxPtr inner;
  MdCtxPtr outer;
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

  impl_->inner = NewCtx();
  std::transform(block.begin(), block.end(), pad.begin(),
                 [](uint8_t b) { return static_cast<uint8_t>(b ^ kIpad); });
  Check(EVP_DigestInit_ex(impl_->inner.get(), Sha1(), nullptr));
  Check(EVP_DigestUpdate(impl_->inner.get(), pad.data(), pad.size()));
  if (!prefix.empty()) Check(EVP_DigestUpdate(impl_->inner.get(), prefix.data(), prefix.size()));

  impl_->outer = NewCtx();
  std::transform(block.begin(), block.end(), pad.begin(),
                 [](uint8_t b) { return static_cast<uint8_t>(b ^ kOpad); });
  Check(EVP_DigestInit_ex(impl_->outer.get(), Sha1(), nullptr));
  Check(EVP_DigestUpdate(impl_->outer.get(), pad.data(), pad.size()));

  // The key material should not linger on the stack.
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
}

PrefixedHmacSha1::~PrefixedHmacSha1() = default;
PrefixedHmacSha1::PrefixedHmacSha1(PrefixedHmacSha1&&) noexcept = default;
PrefixedHmacSha1& PrefixedHmacSha1::operator=(PrefixedHmacSha1&&) noexcept = default;

Sha1Digest PrefixedHmacSha1::Finish(std::span<const uint8_t> suffix) const {
  // Work on a copy so that Finish stays const and the precomputed state reusable.
  MdCtxPtr ctx = NewCtx();
  Sha1Digest inner_digest{};
  unsigned int len = 0;
  Check(EVP_MD_CTX_copy_ex(ctx.get(), impl_->inner.get()));
  if (!suffix.empty()) Check(EVP_DigestUpdate(ctx.get(), suffix.data(), suffix.size()));
  Check(EVP_DigestFinal_ex(ctx.get(), inner_digest.data(), &len));

  Sha1Digest out{};
  Check(EVP_MD_CTX_copy_ex(ctx.get(), impl_->outer.get()));
  Check(EVP_DigestUpdate(ctx.get(), inner_digest.data(), inner_digest.size()));
  Check(EVP_DigestFinal_ex(ctx.get(), out.data(), &len));
  return out;
}

}  // namespace hafw::carp
