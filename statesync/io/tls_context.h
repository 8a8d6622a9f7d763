#pragma once

// The TLS side of the sync link: OpenSSL contexts for TLS 1.3 with an external
// PSK (docs/statesync.md, "Transport"), the server's identity policy and the
// checks a finished handshake must pass. Used by TlsConnection; tests use it to
// build clients that offer arbitrary identities.
//
//   - TLS 1.3 only, TLS_AES_128_GCM_SHA256, groups X25519 / P-256.
//   - psk_dhe_ke only (SSL_OP_ALLOW_NO_DHE_KEX stays off) and, after the
//     handshake, a check that an ephemeral (EC)DHE group was negotiated.
//   - No certificates: the client verifies peers (with an empty trust store, so
//     any certificate fails) and requires the PSK to have been used.
//   - No session tickets (SSL_OP_NO_TICKET, num_tickets 0), no session cache,
//     no early data.
//   - Client: psk_use_session callback offering HandshakeState::identity.
//   - Server: psk_find_session callback accepting "<name>/<key id>" only when
//     name is a configured peer (never the node itself), the TCP source address
//     is that peer's sync address and the key id is the current or previous key.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/ssl.h>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "common/ip_address.h"
#include "common/result.h"
#include "statesync/io/tls_keys.h"

namespace hafw::statesync::io {

// Why a handshake did not produce an established link. The first five are
// decided by our server's identity policy, the rest by either side.
enum class HandshakeFailure : uint8_t {
  kUnknownIdentity,  // malformed identity or a name that is not a configured peer
  kBadKeyId,         // the key id is neither the current nor the previous key
  kWrongSource,      // a peer's name from another address than its sync address
  kSelfIdentity,     // our own name: a reflected ClientHello (RFC 9257)
  kPskMismatch,      // identity fine, binder wrong: the peer holds another key
  kPeerRejected,     // the peer sent a fatal alert (it refused us)
  kNoPsk,            // the handshake completed without our PSK
  kNoEphemeral,      // no (EC)DHE: no forward secrecy
  kTimeout,          // not established within the deadline
  kProtocol,         // anything else: garbage, unexpected messages, EOF
};
inline constexpr size_t kHandshakeFailureCount = 10;
std::string_view HandshakeFailureName(HandshakeFailure failure);  // "unknown-identity", ...

// A node of the cluster file as the link sees it.
struct LinkEndpoint {
  std::string name;
  IpAddress address;  // sync_address
};

// Who this node is, whom it accepts, and the PSKs, derived once. Immutable and
// shared with every connection (callbacks may outlive the link object).
class PskPolicy {
 public:
  static Result<std::shared_ptr<const PskPolicy>> Create(std::string self,
                                                         std::vector<LinkEndpoint> peers,
                                                         SyncKeys keys);

  const std::string& Self() const { return self_; }
  const std::vector<LinkEndpoint>& Peers() const { return peers_; }
  const SyncKeys& Keys() const { return keys_; }
  std::optional<size_t> FindPeer(std::string_view name) const;
  // PSK(peer, self): what the peer offers when it dials us.
  const Psk& ServerPsk(size_t peer, size_t key) const { return server_psk_[peer][key]; }
  // PSK(self, peer): what we offer when we dial the peer.
  const Psk& ClientPsk(size_t peer, size_t key) const { return client_psk_[peer][key]; }

 private:
  PskPolicy(std::string self, std::vector<LinkEndpoint> peers, SyncKeys keys,
            std::vector<std::array<Psk, 2>> server_psk, std::vector<std::array<Psk, 2>> client_psk)
      : self_(std::move(self)),
        peers_(std::move(peers)),
        keys_(std::move(keys)),
        server_psk_(std::move(server_psk)),
        client_psk_(std::move(client_psk)) {}
  std::string self_;
  std::vector<LinkEndpoint> peers_;
  SyncKeys keys_;
  std::vector<std::array<Psk, 2>> server_psk_;
  std::vector<std::array<Psk, 2>> client_psk_;
};

// Per-handshake state, attached to the SSL object (ex_data) for the callbacks.
struct HandshakeState {
  bool server = false;
  // Server: the policy and the connection's TCP source address.
  std::shared_ptr<const PskPolicy> policy;
  IpAddress remote;
  // Client: what to offer (identity must stay alive until the handshake ends).
  std::string identity;
  Psk psk;
  // Results: the peer and key the server matched, or why it refused.
  std::optional<size_t> peer;
  std::optional<size_t> key;
  std::optional<HandshakeFailure> failure;
};

// What `hactl sync-status` shows about an established link.
struct TlsInfo {
  std::string version;   // "TLSv1.3"
  std::string cipher;    // "TLS_AES_128_GCM_SHA256"
  std::string group;     // "X25519": the (EC)DHE group
  std::string key_id;    // the key whose PSK authenticated the link
  std::string identity;  // the PSK identity, "<client>/<key id>"
};

enum class TlsRole : uint8_t { kClient, kServer };

// A context for one role with every setting above; nullptr-free or an error.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(TlsRole role);

// Ties `state` to `ssl` for the callbacks and drops Asio's per-read buffer
// release (no allocation per record). `state` must outlive the handshake.
void PrepareSsl(SSL* ssl, HandshakeState* state);

// After a successful handshake: TLS 1.3, our cipher, PSK used, an ephemeral
// group. On success describes the link.
tl::expected<TlsInfo, HandshakeFailure> CheckEstablished(SSL* ssl, const HandshakeState& state);

// Maps a failed handshake's error to a reason (the policy's verdict first).
HandshakeFailure ClassifyHandshakeError(const boost::system::error_code& error,
                                        const HandshakeState& state);

}  // namespace hafw::statesync::io
