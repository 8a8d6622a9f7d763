#include "statesync/io/tls_context.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace hafw::statesync::io {
namespace {

// TLS_AES_128_GCM_SHA256 (RFC 8446 B.4).
constexpr std::array<unsigned char, 2> kCipherId = {0x13, 0x01};
constexpr uint16_t kCipherProtocolId = 0x1301;
constexpr const char* kCipherSuites = "TLS_AES_128_GCM_SHA256";
constexpr const char* kGroups = "X25519:P-256";

int StateIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

HandshakeState* StateOf(SSL* ssl) {
  return static_cast<HandshakeState*>(SSL_get_ex_data(ssl, StateIndex()));
}

// A session that carries nothing but the PSK, for TLS 1.3 and our cipher.
SSL_SESSION* MakePskSession(SSL* ssl, const Psk& psk) {
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kCipherId.data());
  if (cipher == nullptr) return nullptr;
  SSL_SESSION* session = SSL_SESSION_new();
  if (session == nullptr) return nullptr;
  if (SSL_SESSION_set1_master_key(session, psk.Bytes().data(), psk.Bytes().size()) != 1 ||
      SSL_SESSION_set_cipher(session, cipher) != 1 ||
      SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(session);
    return nullptr;
  }
  return session;
}

int UsePskSession(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* id_len,
                  SSL_SESSION** session) {
  *id = nullptr;
  *id_len = 0;
  *session = nullptr;
  HandshakeState* state = StateOf(ssl);
  if (state == nullptr || state->server || state->identity.empty()) return 0;
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kCipherId.data());
  // After a HelloRetryRequest OpenSSL asks again with the chosen hash.
  if (cipher == nullptr || (md != nullptr && md != SSL_CIPHER_get_handshake_digest(cipher))) {
    return 1;  // no PSK to offer: the handshake fails (no certificates either)
  }
  *session = MakePskSession(ssl, state->psk);
  if (*session == nullptr) return 0;
  *id = reinterpret_cast<const unsigned char*>(state->identity.data());
  *id_len = state->identity.size();
  return 1;
}

// Returning 0 aborts the handshake at once; the verdict stays in the state.
int FindPskSession(SSL* ssl, const unsigned char* identity, size_t identity_len,
                   SSL_SESSION** session) {
  *session = nullptr;
  HandshakeState* state = StateOf(ssl);
  if (state == nullptr || !state->server || !state->policy) return 0;
  const PskPolicy& policy = *state->policy;
  auto refuse = [&](HandshakeFailure failure) {
    state->failure = failure;
    return 0;
  };
  const std::string_view text(reinterpret_cast<const char*>(identity), identity_len);
  const auto parts = ParsePskIdentity(text);
  if (!parts) return refuse(HandshakeFailure::kUnknownIdentity);
  if (parts->node == policy.Self()) return refuse(HandshakeFailure::kSelfIdentity);
  const auto peer = policy.FindPeer(parts->node);
  if (!peer) return refuse(HandshakeFailure::kUnknownIdentity);
  state->peer = peer;  // attributed from here on, also if the binder fails
  if (policy.Peers()[*peer].address != state->remote) {
    return refuse(HandshakeFailure::kWrongSource);
  }
  const auto key = policy.Keys().FindById(parts->key_id);
  if (!key) return refuse(HandshakeFailure::kBadKeyId);
  *session = MakePskSession(ssl, policy.ServerPsk(*peer, *key));
  if (*session == nullptr) return refuse(HandshakeFailure::kProtocol);
  state->key = key;
  return 1;
}

bool HasEphemeralKey(SSL* ssl, bool server) {
  EVP_PKEY* key = nullptr;
  // The server keeps its own key share, the client the server's.
  const int64_t ok = server ? SSL_get_tmp_key(ssl, &key) : SSL_get_peer_tmp_key(ssl, &key);
  if (ok != 1 || key == nullptr) return false;
  EVP_PKEY_free(key);  // both getters take a reference
  return true;
}

}  // namespace

std::string_view HandshakeFailureName(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::kUnknownIdentity:
      return "unknown-identity";
    case HandshakeFailure::kBadKeyId:
      return "bad-key-id";
    case HandshakeFailure::kWrongSource:
      return "wrong-source";
    case HandshakeFailure::kSelfIdentity:
      return "self-identity";
    case HandshakeFailure::kPskMismatch:
      return "psk-mismatch";
    case HandshakeFailure::kPeerRejected:
      return "peer-rejected";
    case HandshakeFailure::kNoPsk:
      return "no-psk";
    case HandshakeFailure::kNoEphemeral:
      return "no-ephemeral";
    case HandshakeFailure::kTimeout:
      return "timeout";
    case HandshakeFailure::kProtocol:
      return "protocol";
  }
  return "unknown";
}

Result<std::shared_ptr<const PskPolicy>> PskPolicy::Create(std::string self,
                                                           std::vector<LinkEndpoint> peers,
                                                           SyncKeys keys) {
  if (keys.current.Empty() || (keys.previous && keys.previous->Empty())) {
    return MakeError(ErrorCode::kInvalidArgument, "sync link: empty key");
  }
  std::vector<std::array<Psk, 2>> server_psk;
  std::vector<std::array<Psk, 2>> client_psk;
  for (const LinkEndpoint& peer : peers) {
    if (peer.name == self) {
      return MakeError(ErrorCode::kInvalidArgument, "sync link: '" + self + "' is its own peer");
    }
    std::array<Psk, 2> server{};
    std::array<Psk, 2> client{};
    for (size_t k = 0; k < keys.Count(); ++k) {
      auto to_us = DerivePsk(keys.At(k).Bytes(), peer.name, self);
      auto from_us = DerivePsk(keys.At(k).Bytes(), self, peer.name);
      if (!to_us) return tl::unexpected(to_us.error());
      if (!from_us) return tl::unexpected(from_us.error());
      server[k] = *to_us;
      client[k] = *from_us;
    }
    server_psk.push_back(server);
    client_psk.push_back(client);
  }
  return std::shared_ptr<const PskPolicy>(new PskPolicy(std::move(self), std::move(peers),
                                                        std::move(keys), std::move(server_psk),
                                                        std::move(client_psk)));
}

std::optional<size_t> PskPolicy::FindPeer(std::string_view name) const {
  for (size_t i = 0; i < peers_.size(); ++i) {
    if (peers_[i].name == name) return i;
  }
  return std::nullopt;
}

Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(TlsRole role) {
  using boost::asio::ssl::context;
  auto ctx = std::make_unique<context>(role == TlsRole::kClient ? context::tlsv13_client
                                                                : context::tlsv13_server);
  SSL_CTX* native = ctx->native_handle();
  auto fail = [](const char* what) {
    return MakeError(ErrorCode::kInternal, std::string("sync link TLS context: ") + what);
  };
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return fail("TLS 1.3 only");
  }
  if (SSL_CTX_set_ciphersuites(native, kCipherSuites) != 1) return fail(kCipherSuites);
  if (SSL_CTX_set1_groups_list(native, kGroups) != 1) return fail(kGroups);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_clear_options(native, SSL_OP_ALLOW_NO_DHE_KEX | SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
  if (SSL_CTX_set_num_tickets(native, 0) != 1) return fail("num_tickets 0");
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_max_early_data(native, 0) != 1 ||
      SSL_CTX_set_recv_max_early_data(native, 0) != 1) {
    return fail("no early data");
  }
  if (role == TlsRole::kClient) {
    // No trust anchors: a server that answers with a certificate instead of
    // our PSK fails verification.
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_psk_use_session_callback(native, UsePskSession);
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_psk_find_session_callback(native, FindPskSession);
  }
  return ctx;
}

void PrepareSsl(SSL* ssl, HandshakeState* state) {
  SSL_set_ex_data(ssl, StateIndex(), state);
  SSL_clear_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
}

tl::expected<TlsInfo, HandshakeFailure> CheckEstablished(SSL* ssl, const HandshakeState& state) {
  if (SSL_version(ssl) != TLS1_3_VERSION) return tl::unexpected(HandshakeFailure::kProtocol);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  if (cipher == nullptr || SSL_CIPHER_get_protocol_id(cipher) != kCipherProtocolId) {
    return tl::unexpected(HandshakeFailure::kProtocol);
  }
  if (SSL_session_reused(ssl) != 1) return tl::unexpected(HandshakeFailure::kNoPsk);
  if (state.server && (!state.peer || !state.key)) return tl::unexpected(HandshakeFailure::kNoPsk);
  if (SSL_get_early_data_status(ssl) == SSL_EARLY_DATA_ACCEPTED) {
    return tl::unexpected(HandshakeFailure::kProtocol);
  }
  if (!HasEphemeralKey(ssl, state.server)) return tl::unexpected(HandshakeFailure::kNoEphemeral);

  TlsInfo info;
  info.version = SSL_get_version(ssl);
  info.cipher = SSL_CIPHER_get_name(cipher);
  const int group = SSL_get_negotiated_group(ssl);
  const char* group_name = group != 0 ? SSL_group_to_name(ssl, group) : nullptr;
  info.group = group_name != nullptr ? group_name : "?";
  if (state.server) {
    info.key_id = state.policy->Keys().At(*state.key).Id();
    info.identity = PskIdentity(state.policy->Peers()[*state.peer].name, info.key_id);
  } else {
    info.identity = state.identity;
    const auto parts = ParsePskIdentity(state.identity);
    if (parts) info.key_id = std::string(parts->key_id);
  }
  return info;
}

HandshakeFailure ClassifyHandshakeError(const boost::system::error_code& error,
                                        const HandshakeState& state) {
  if (state.failure) return *state.failure;
  if (error.category() == boost::asio::error::get_ssl_category()) {
    const auto reason = ERR_GET_REASON(static_cast<uint64_t>(error.value()));
    if (reason == SSL_R_BINDER_DOES_NOT_VERIFY) return HandshakeFailure::kPskMismatch;
    // A server that skipped our PSK would have to prove a certificate.
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) return HandshakeFailure::kNoPsk;
    if (reason >= SSL_AD_REASON_OFFSET) return HandshakeFailure::kPeerRejected;  // an alert
    return HandshakeFailure::kProtocol;
  }
  // A server that refuses us before TLS (address filter) just closes.
  const bool closed = error == boost::asio::error::eof ||
                      error == boost::asio::ssl::error::stream_truncated ||
                      error == boost::asio::error::connection_reset;
  if (closed && !state.server) return HandshakeFailure::kPeerRejected;
  return HandshakeFailure::kProtocol;
}

}  // namespace hafw::statesync::io
