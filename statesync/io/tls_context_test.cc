// The TLS contexts and the identity policy, handshaking in memory (a BIO pair,
// no sockets): every verdict of the server's PSK callback, the checks after the
// handshake, and that no session ticket is ever sent.

#include "statesync/io/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

namespace hafw::statesync::io {
namespace {

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

SyncKey Key(std::string_view text) { return *SyncKey::FromBytes(AsBytes(text)); }

const IpAddress kFw1 = *IpAddress::Parse("192.0.2.1");
const IpAddress kFw2 = *IpAddress::Parse("192.0.2.2");
const IpAddress kFw3 = *IpAddress::Parse("192.0.2.3");

// Counts NewSessionTicket messages the client receives.
void CountTickets(int write_p, int /*version*/, int content_type, const void* buf, size_t len,
                  SSL* /*ssl*/, void* arg) {
  const auto* bytes = static_cast<const uint8_t*>(buf);
  if (write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      bytes[0] == SSL3_MT_NEWSESSION_TICKET) {
    ++*static_cast<int*>(arg);
  }
}

// One client and one server SSL joined by a BIO pair.
class MemoryHandshake {
 public:
  MemoryHandshake() {
    client_ctx_ = std::move(*MakeTlsContext(TlsRole::kClient));
    server_ctx_ = std::move(*MakeTlsContext(TlsRole::kServer));
  }
  ~MemoryHandshake() {
    if (client_ != nullptr) SSL_free(client_);
    if (server_ != nullptr) SSL_free(server_);
  }
  MemoryHandshake(const MemoryHandshake&) = delete;
  MemoryHandshake& operator=(const MemoryHandshake&) = delete;

  SSL_CTX* ClientCtx() { return client_ctx_->native_handle(); }
  SSL_CTX* ServerCtx() { return server_ctx_->native_handle(); }

  // Client `client_name` offers identity/psk; the server is `server_policy`
  // and sees the connection coming from `source`.
  void Prepare(std::string identity, const Psk& psk, std::shared_ptr<const PskPolicy> server_policy,
               IpAddress source) {
    client_ = SSL_new(ClientCtx());
    server_ = SSL_new(ServerCtx());
    client_state_.identity = std::move(identity);
    client_state_.psk = psk;
    server_state_.server = true;
    server_state_.policy = std::move(server_policy);
    server_state_.remote = source;
    PrepareSsl(client_, &client_state_);
    PrepareSsl(server_, &server_state_);
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client_, client_bio, client_bio);
    SSL_set_bio(server_, server_bio, server_bio);
    SSL_set_connect_state(client_);
    SSL_set_accept_state(server_);
    SSL_set_msg_callback(client_, CountTickets);
    SSL_set_msg_callback_arg(client_, &tickets_);
  }

  // Drives both sides until both finished or one failed.
  bool Run() {
    ERR_clear_error();
    for (int round = 0; round < 20; ++round) {
      if (!client_done_ && client_error_ == 0) Step(client_, client_done_, client_error_);
      if (!server_done_ && server_error_ == 0) Step(server_, server_done_, server_error_);
      if (client_done_ && server_done_) return true;
      if (client_error_ != 0 && server_error_ != 0) return false;
      if ((client_error_ != 0 && server_done_) || (server_error_ != 0 && client_done_)) break;
    }
    return client_done_ && server_done_;
  }

  // After the handshake: one byte each way, so tickets would have been read.
  void ExchangeData() {
    const char ping = 'p';
    char got = 0;
    ASSERT_EQ(SSL_write(server_, &ping, 1), 1);
    ASSERT_EQ(SSL_read(client_, &got, 1), 1);
    ASSERT_EQ(SSL_write(client_, &ping, 1), 1);
    ASSERT_EQ(SSL_read(server_, &got, 1), 1);
  }

  HandshakeFailure ServerFailure() const {
    return ClassifyHandshakeError(
        {static_cast<int>(server_error_), boost::asio::error::get_ssl_category()}, server_state_);
  }
  HandshakeFailure ClientFailure() const {
    return ClassifyHandshakeError(
        {static_cast<int>(client_error_), boost::asio::error::get_ssl_category()}, client_state_);
  }

  SSL* client_ = nullptr;
  SSL* server_ = nullptr;
  HandshakeState client_state_;
  HandshakeState server_state_;
  int tickets_ = 0;

 private:
  static void Step(SSL* ssl, bool& done, uint64_t& error) {
    const int rc = SSL_do_handshake(ssl);
    if (rc == 1) {
      done = true;
      return;
    }
    const int code = SSL_get_error(ssl, rc);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return;
    error = ERR_get_error();
    if (error == 0) error = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_UNEXPECTED_EOF_WHILE_READING);
    ERR_clear_error();
  }

  std::unique_ptr<boost::asio::ssl::context> client_ctx_;
  std::unique_ptr<boost::asio::ssl::context> server_ctx_;
  bool client_done_ = false;
  bool server_done_ = false;
  uint64_t client_error_ = 0;
  uint64_t server_error_ = 0;
};

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // fw2's view: peers fw1 and fw3, keys new (current) and old (previous).
    auto fw2 = PskPolicy::Create("fw2", {{"fw1", kFw1}, {"fw3", kFw3}},
                                 SyncKeys{Key("new-key"), Key("old-key")});
    ASSERT_TRUE(fw2) << fw2.error().ToString();
    fw2_ = *fw2;
    auto fw1 = PskPolicy::Create("fw1", {{"fw2", kFw2}, {"fw3", kFw3}},
                                 SyncKeys{Key("new-key"), std::nullopt});
    ASSERT_TRUE(fw1);
    fw1_ = *fw1;
  }

  // fw1 dialing fw2 with its current key.
  std::string Fw1Identity() const { return PskIdentity("fw1", fw1_->Keys().current.Id()); }
  const Psk& Fw1Psk() const { return fw1_->ClientPsk(0, 0); }

  std::shared_ptr<const PskPolicy> fw1_;
  std::shared_ptr<const PskPolicy> fw2_;
};

TEST_F(TlsContextTest, PeerWithCurrentKeyEstablishes) {
  MemoryHandshake hs;
  hs.Prepare(Fw1Identity(), Fw1Psk(), fw2_, kFw1);
  ASSERT_TRUE(hs.Run());
  auto server = CheckEstablished(hs.server_, hs.server_state_);
  auto client = CheckEstablished(hs.client_, hs.client_state_);
  ASSERT_TRUE(server) << HandshakeFailureName(server.error());
  ASSERT_TRUE(client) << HandshakeFailureName(client.error());
  EXPECT_EQ(server->version, "TLSv1.3");
  EXPECT_EQ(server->cipher, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(server->group, "x25519");
  EXPECT_EQ(server->key_id, KeyIdOf(AsBytes("new-key")));
  EXPECT_EQ(server->identity, Fw1Identity());
  EXPECT_EQ(client->key_id, server->key_id);
  EXPECT_EQ(client->cipher, server->cipher);
  EXPECT_EQ(hs.server_state_.peer, 0U);
  EXPECT_EQ(hs.server_state_.key, 0U);
}

TEST_F(TlsContextTest, ServerSendsNoSessionTicket) {
  MemoryHandshake hs;
  hs.Prepare(Fw1Identity(), Fw1Psk(), fw2_, kFw1);
  ASSERT_TRUE(hs.Run());
  hs.ExchangeData();
  EXPECT_EQ(hs.tickets_, 0);
}

TEST_F(TlsContextTest, TicketCounterSeesTicketsOfADefaultServer) {
  // The detector of the test above works: OpenSSL's defaults send a ticket
  // (one after a PSK handshake).
  MemoryHandshake hs;
  SSL_CTX_clear_options(hs.ServerCtx(), SSL_OP_NO_TICKET);
  ASSERT_EQ(SSL_CTX_set_num_tickets(hs.ServerCtx(), 2), 1);
  hs.Prepare(Fw1Identity(), Fw1Psk(), fw2_, kFw1);
  ASSERT_TRUE(hs.Run());
  hs.ExchangeData();
  EXPECT_GE(hs.tickets_, 1);
}

TEST_F(TlsContextTest, PreviousKeyIsAccepted) {
  auto old_only = PskPolicy::Create("fw1", {{"fw2", kFw2}}, SyncKeys{Key("old-key"), {}});
  ASSERT_TRUE(old_only);
  MemoryHandshake hs;
  hs.Prepare(PskIdentity("fw1", KeyIdOf(AsBytes("old-key"))), (*old_only)->ClientPsk(0, 0), fw2_,
             kFw1);
  ASSERT_TRUE(hs.Run());
  auto server = CheckEstablished(hs.server_, hs.server_state_);
  ASSERT_TRUE(server);
  EXPECT_EQ(server->key_id, KeyIdOf(AsBytes("old-key")));
  EXPECT_EQ(hs.server_state_.key, 1U);
}

TEST_F(TlsContextTest, UnknownKeyIdIsRefused) {
  auto other = PskPolicy::Create("fw1", {{"fw2", kFw2}}, SyncKeys{Key("other-key"), {}});
  ASSERT_TRUE(other);
  MemoryHandshake hs;
  hs.Prepare(PskIdentity("fw1", KeyIdOf(AsBytes("other-key"))), (*other)->ClientPsk(0, 0), fw2_,
             kFw1);
  EXPECT_FALSE(hs.Run());
  EXPECT_EQ(hs.ServerFailure(), HandshakeFailure::kBadKeyId);
  EXPECT_EQ(hs.ClientFailure(), HandshakeFailure::kPeerRejected);
}

TEST_F(TlsContextTest, UnknownNameIsRefused) {
  MemoryHandshake hs;
  hs.Prepare(PskIdentity("fw9", fw1_->Keys().current.Id()), Fw1Psk(), fw2_, kFw1);
  EXPECT_FALSE(hs.Run());
  EXPECT_EQ(hs.ServerFailure(), HandshakeFailure::kUnknownIdentity);
  EXPECT_FALSE(hs.server_state_.peer);
}

TEST_F(TlsContextTest, MalformedIdentityIsRefused) {
  MemoryHandshake hs;
  hs.Prepare("fw1", Fw1Psk(), fw2_, kFw1);
  EXPECT_FALSE(hs.Run());
  EXPECT_EQ(hs.ServerFailure(), HandshakeFailure::kUnknownIdentity);
}

TEST_F(TlsContextTest, RightNameFromAnotherPeersAddressIsRefused) {
  MemoryHandshake hs;
  hs.Prepare(Fw1Identity(), Fw1Psk(), fw2_, kFw3);
  EXPECT_FALSE(hs.Run());
  EXPECT_EQ(hs.ServerFailure(), HandshakeFailure::kWrongSource);
  EXPECT_EQ(hs.server_state_.peer, 0U);
}

TEST_F(TlsContextTest, OwnIdentityIsRefused) {
  // fw2's own ClientHello (to fw3) reflected to fw2 from fw1's address.
  MemoryHandshake hs;
  hs.Prepare(PskIdentity("fw2", fw2_->Keys().current.Id()), fw2_->ClientPsk(1, 0), fw2_, kFw1);
  EXPECT_FALSE(hs.Run());
  EXPECT_EQ(hs.ServerFailure(), HandshakeFailure::kSelfIdentity);
}

TEST_F(TlsContextTest, PskOfTheOtherDirectionFailsTheBinder) {
  // fw1's identity but PSK(fw2, fw1): derivation is per ordered pair.
  MemoryHandshake hs;
  hs.Prepare(Fw1Identity(), fw2_->ClientPsk(0, 0), fw2_, kFw1);
  EXPECT_FALSE(hs.Run());
  EXPECT_EQ(hs.ServerFailure(), HandshakeFailure::kPskMismatch);
  EXPECT_EQ(hs.server_state_.peer, 0U);  // attributed to fw1
}

TEST_F(TlsContextTest, ClientWithoutPskCannotFallBackToCertificates) {
  MemoryHandshake hs;
  hs.Prepare(Fw1Identity(), Fw1Psk(), fw2_, kFw1);
  hs.client_state_.identity.clear();  // the callback offers nothing
  EXPECT_FALSE(hs.Run());
  EXPECT_NE(hs.ServerFailure(), HandshakeFailure::kTimeout);
}

TEST_F(TlsContextTest, NoCommonGroupFailsInsteadOfPskOnlyKeyExchange) {
  MemoryHandshake hs;
  ASSERT_EQ(SSL_CTX_set1_groups_list(hs.ClientCtx(), "P-256"), 1);
  ASSERT_EQ(SSL_CTX_set1_groups_list(hs.ServerCtx(), "X25519"), 1);
  hs.Prepare(Fw1Identity(), Fw1Psk(), fw2_, kFw1);
  EXPECT_FALSE(hs.Run());
}

TEST_F(TlsContextTest, PskOnlyKeyExchangeIsDetected) {
  // Allowing psk_ke on both ends (never done by MakeTlsContext) with no common
  // group completes a handshake without (EC)DHE: the check must catch it.
  MemoryHandshake hs;
  SSL_CTX_set_options(hs.ClientCtx(), SSL_OP_ALLOW_NO_DHE_KEX);
  SSL_CTX_set_options(hs.ServerCtx(), SSL_OP_ALLOW_NO_DHE_KEX);
  ASSERT_EQ(SSL_CTX_set1_groups_list(hs.ClientCtx(), "P-256"), 1);
  ASSERT_EQ(SSL_CTX_set1_groups_list(hs.ServerCtx(), "X25519"), 1);
  hs.Prepare(Fw1Identity(), Fw1Psk(), fw2_, kFw1);
  ASSERT_TRUE(hs.Run());
  auto server = CheckEstablished(hs.server_, hs.server_state_);
  auto client = CheckEstablished(hs.client_, hs.client_state_);
  ASSERT_FALSE(server);
  ASSERT_FALSE(client);
  EXPECT_EQ(server.error(), HandshakeFailure::kNoEphemeral);
  EXPECT_EQ(client.error(), HandshakeFailure::kNoEphemeral);
}

TEST_F(TlsContextTest, PolicyRefusesItselfAsPeerAndEmptyKeys) {
  EXPECT_FALSE(PskPolicy::Create("fw1", {{"fw1", kFw1}}, SyncKeys{Key("k"), {}}));
  EXPECT_FALSE(PskPolicy::Create("fw1", {{"fw2", kFw2}}, SyncKeys{}));
  EXPECT_FALSE(PskPolicy::Create("fw1", {{"fw2", kFw2}}, SyncKeys{Key("k"), SyncKey()}));
}

TEST(TlsFailureNames, EveryReasonHasAName) {
  for (size_t i = 0; i < kHandshakeFailureCount; ++i) {
    EXPECT_NE(HandshakeFailureName(static_cast<HandshakeFailure>(i)), "unknown") << i;
  }
}

}  // namespace
}  // namespace hafw::statesync::io
