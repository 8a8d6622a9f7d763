#include "statesync/io/tls_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>

#include <memory>

#include "statesync/core/messages.h"

namespace hafw::statesync::io {
namespace {

struct KdfFree {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

Psk::~Psk() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

std::string KeyIdOf(std::span<const uint8_t> key) {
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(key.data(), key.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(kKeyIdChars);
  for (size_t i = 0; i < kKeyIdChars / 2; ++i) {
    id.push_back(kHex[digest[i] >> 4]);
    id.push_back(kHex[digest[i] & 0x0f]);
  }
  return id;
}

Result<Psk> DerivePsk(std::span<const uint8_t> key, std::string_view client,
                      std::string_view server) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return MakeError(ErrorCode::kInternal, "HKDF: EVP_KDF_fetch failed");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return MakeError(ErrorCode::kInternal, "HKDF: EVP_KDF_CTX_new failed");

  std::string info;
  info.reserve(client.size() + 1 + server.size());
  info.append(client);
  info.push_back('\0');
  info.append(server);

  // OSSL_PARAM wants non-const pointers; OpenSSL only reads them.
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(key.data()),
                                        key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kPskSalt.data()),
                                        kPskSalt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end(),
  };
  Psk psk;
  const bool ok =
      EVP_KDF_derive(ctx.get(), psk.MutableBytes().data(), psk.Bytes().size(), params) == 1;
  OPENSSL_cleanse(info.data(), info.size());
  if (!ok) return MakeError(ErrorCode::kInternal, "HKDF: EVP_KDF_derive failed");
  return psk;
}

Result<SyncKey> SyncKey::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return MakeError(ErrorCode::kInvalidArgument, "sync key is empty");
  return SyncKey(std::vector<uint8_t>(bytes.begin(), bytes.end()), KeyIdOf(bytes));
}

SyncKey::~SyncKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

std::optional<size_t> SyncKeys::FindById(std::string_view id) const {
  for (size_t i = 0; i < Count(); ++i) {
    if (At(i).Id() == id) return i;
  }
  return std::nullopt;
}

std::string PskIdentity(std::string_view node, std::string_view key_id) {
  std::string identity;
  identity.reserve(node.size() + 1 + key_id.size());
  identity.append(node);
  identity.push_back('/');
  identity.append(key_id);
  return identity;
}

std::optional<PskIdentityParts> ParsePskIdentity(std::string_view identity) {
  const size_t slash = identity.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  PskIdentityParts parts{identity.substr(0, slash), identity.substr(slash + 1)};
  if (parts.node.empty() || parts.node.size() > kNodeNameMax) return std::nullopt;
  if (parts.key_id.size() != kKeyIdChars) return std::nullopt;
  for (char c : parts.key_id) {
    if (!IsLowerHex(c)) return std::nullopt;
  }
  return parts;
}

}  // namespace hafw::statesync::io
