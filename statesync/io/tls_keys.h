#pragma once

// Key material of the sync link (docs/statesync.md, "Transport"). The cluster
// file's key is shared by every node; one PSK per ordered pair of nodes is
// derived from it, so a handshake reflected back to its sender (RFC 9257) can
// never find the PSK it was made with:
//   key id          = first 8 hex digits of SHA-256(key)
//   PSK(client, server) = HKDF-SHA256(ikm = key, salt = "hafw-sync-v1",
//                                     info = client || 0x00 || server), 32 bytes
//   PSK identity    = "<client node name>/<key id>"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hafw::statesync::io {

inline constexpr size_t kPskBytes = 32;
inline constexpr size_t kKeyIdChars = 8;
inline constexpr std::string_view kPskSalt = "hafw-sync-v1";

// A derived pre-shared key; wiped when destroyed.
class Psk {
 public:
  Psk() = default;
  ~Psk();
  Psk(const Psk& other) = default;
  Psk& operator=(const Psk& other) = default;

  std::span<const uint8_t> Bytes() const { return bytes_; }
  std::span<uint8_t> MutableBytes() { return bytes_; }

 private:
  std::array<uint8_t, kPskBytes> bytes_{};
};

// "1a2b3c4d": the first 8 hex digits (lower case) of SHA-256(key).
std::string KeyIdOf(std::span<const uint8_t> key);

// HKDF-SHA256 as above. Fails only if OpenSSL cannot run the KDF.
Result<Psk> DerivePsk(std::span<const uint8_t> key, std::string_view client,
                      std::string_view server);

// One key file's bytes and its id; the bytes are wiped when destroyed.
class SyncKey {
 public:
  // Empty keys are refused (the config layer enforces the real minimum).
  static Result<SyncKey> FromBytes(std::span<const uint8_t> bytes);
  SyncKey() = default;  // empty: not usable (PskPolicy refuses it)
  ~SyncKey();
  SyncKey(const SyncKey& other) = default;
  SyncKey& operator=(const SyncKey& other) = default;
  SyncKey(SyncKey&& other) noexcept = default;
  SyncKey& operator=(SyncKey&& other) noexcept = default;

  std::span<const uint8_t> Bytes() const { return bytes_; }
  const std::string& Id() const { return id_; }
  bool Empty() const { return bytes_.empty(); }

 private:
  SyncKey(std::vector<uint8_t> bytes, std::string id)
      : bytes_(std::move(bytes)), id_(std::move(id)) {}
  std::vector<uint8_t> bytes_;
  std::string id_;
};

// The current key and, during a rollover, the previous one. Servers accept
// both; clients offer the current one and alternate after a failed handshake.
struct SyncKeys {
  SyncKey current;
  std::optional<SyncKey> previous;

  // 1 or 2.
  size_t Count() const { return previous ? 2 : 1; }
  // 0: current, 1: previous.
  const SyncKey& At(size_t index) const { return index == 0 ? current : *previous; }
  // The index of the key with this id, if any.
  std::optional<size_t> FindById(std::string_view id) const;
};

// "<node>/<key id>".
std::string PskIdentity(std::string_view node, std::string_view key_id);

struct PskIdentityParts {
  std::string_view node;
  std::string_view key_id;
};
// Splits at the last '/'; nullopt unless the node part is 1..64 bytes and the
// key id is 8 lower-case hex digits.
std::optional<PskIdentityParts> ParsePskIdentity(std::string_view identity);

}  // namespace hafw::statesync::io
