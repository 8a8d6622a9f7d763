#pragma once

// Test-only helpers for the sync link tests: nodes that record their link's
// callbacks, a TLS client that offers any identity from any address, raw TCP
// clients, and a TCP mirror and relay for reflection attacks.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "statesync/io/tls_link.h"

namespace hafw::statesync::io::testing {

IpAddress Addr(std::string_view text);
boost::asio::ip::tcp::endpoint Endpoint(std::string_view address, uint16_t port);
SyncKey KeyOf(std::string_view text);
SyncKeys Keys(std::string_view current, std::optional<std::string_view> previous = std::nullopt);

inline constexpr uint16_t kPort = 7788;
// fw1 .. fw3 on 192.0.2.1 .. .3; .9 belongs to nobody.
std::vector<LinkEndpoint> Cluster(std::string_view prefix = "192.0.2.");

// A TlsLink whose callbacks are recorded.
class TestNode {
 public:
  static std::unique_ptr<TestNode> Make(boost::asio::io_context& io, std::string_view name,
                                        const std::vector<LinkEndpoint>& cluster, SyncKeys keys,
                                        const std::function<void(TlsLinkConfig&)>& tweak = {});

  TlsLink& Link() { return *link_; }
  size_t Id(std::string_view peer) const { return *link_->FindPeer(peer); }
  bool Connected(std::string_view peer) const { return link_->Connected(Id(peer)); }
  PeerLinkCounters PeerCounters(std::string_view peer) const {
    return link_->Status(Id(peer)).counters;
  }
  uint64_t Failed(HandshakeFailure failure) const {
    return link_->Counters().handshake_failed[static_cast<size_t>(failure)];
  }

  // "established fw2", "closed fw2 peer-closed", in order.
  std::vector<std::string> events;
  std::map<size_t, std::string> received;  // bytes by peer
  std::map<size_t, TlsInfo> tls;           // last established
  std::map<size_t, int> established;
  std::map<size_t, int> closed;
  std::map<size_t, CloseReason> last_close;
  std::map<size_t, int> writable;
  std::vector<std::string> notices;
  // Optional hook run on every delivery (after recording).
  std::function<void(size_t peer, std::span<const uint8_t> bytes)> on_bytes;
  std::function<void(size_t peer)> on_writable;

 private:
  std::unique_ptr<TlsLink> link_;
};

// A TLS client built from the link's own pieces, offering what the test wants.
class TestDialer final : private TlsConnectionOwner {
 public:
  TestDialer(boost::asio::io_context& io, std::string identity, const Psk& psk);
  ~TestDialer() override;
  TestDialer(const TestDialer&) = delete;
  TestDialer& operator=(const TestDialer&) = delete;

  // Binds `source` and connects to `destination`:kPort.
  void Connect(std::string_view source, std::string_view destination);
  bool Done() const { return result.has_value() || connect_failed; }
  bool Established() const { return result && result->has_value(); }
  TlsConnection& Connection() { return *connection_; }

  std::optional<tl::expected<TlsInfo, HandshakeFailure>> result;
  bool connect_failed = false;
  bool closed = false;
  std::string received;
  int tickets = 0;  // NewSessionTicket messages received

 private:
  void OnConnectFailed(TlsConnection& connection) override;
  void OnHandshakeDone(TlsConnection& connection,
                       const tl::expected<TlsInfo, HandshakeFailure>& done) override;
  size_t OnBytes(TlsConnection& connection, std::span<const uint8_t> bytes) override;
  void OnWriteDone(TlsConnection& connection, size_t bytes, size_t messages) override;
  void OnClosed(TlsConnection& connection) override;

  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::ssl::context> context_;
  std::shared_ptr<TlsConnection> connection_;
};

// A plain TCP client: connects from `source`, sends what it is told and
// records when the other side closes.
class RawClient {
 public:
  RawClient(boost::asio::io_context& io, std::string_view source, std::string_view destination);
  bool Connected() const { return connected_; }
  void Send(const std::vector<uint8_t>& bytes);
  bool SawEof() const { return eof_; }
  std::chrono::steady_clock::time_point EofAt() const { return eof_at_; }
  boost::asio::ip::tcp::socket& Socket() { return socket_; }

 private:
  void ReadMore();
  boost::asio::ip::tcp::socket socket_;
  std::vector<uint8_t> sink_ = std::vector<uint8_t>(4096);
  std::vector<std::vector<uint8_t>> sent_;
  bool connected_ = false;
  bool eof_ = false;
  std::chrono::steady_clock::time_point eof_at_{};
};

// Listens on address:kPort. kMirror sends every byte back to where it came
// from; kSilent accepts and never answers; kRelay connects from `relay_source`
// to `relay_target`:kPort and pipes both ways.
class TcpTrap {
 public:
  enum class Mode { kMirror, kSilent, kRelay };
  TcpTrap(boost::asio::io_context& io, std::string_view address, Mode mode,
          std::string_view relay_source = {}, std::string_view relay_target = {});
  ~TcpTrap();
  TcpTrap(const TcpTrap&) = delete;
  TcpTrap& operator=(const TcpTrap&) = delete;
  int accepted = 0;

 private:
  struct Pipe;
  void Accept();
  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Mode mode_;
  std::string relay_source_;
  std::string relay_target_;
  std::vector<std::shared_ptr<Pipe>> pipes_;
};

// Random bytes from a fixed seed.
std::vector<uint8_t> Garbage(size_t size, uint32_t seed);

}  // namespace hafw::statesync::io::testing
