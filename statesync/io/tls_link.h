#pragma once

// statesync/io: the sync link. One TLS 1.3 (external PSK) connection per pair
// of nodes on one boost::asio::io_context (docs/statesync.md, "Transport").
//
//   auto link = TlsLink::Create(io, config, callbacks);   // derives the PSKs
//   (*link)->Start();     // listens on local_address:port, dials its peers
//   ... established(peer, tls) / received(peer, bytes) / writable(peer) /
//       closed(peer, reason) arrive from the loop;
//   (*link)->Write(peer, bytes, messages);   // one write in flight per peer
//   (*link)->Stop();
//
// - Who dials: for each pair the node whose name sorts first dials, the other
//   listens (both listen). The listener refuses, before TLS, every source
//   address that is not the sync address of a peer that dials us; the PSK
//   callback then checks identity, key id and source address together.
// - Dialing: bounded backoff (backoff_min doubling to backoff_max, reset once
//   established); connect and handshake share one deadline. With a previous
//   key, a dialer whose handshake the peer refused offers the other key next.
// - Streams: received bytes go to the caller as they arrive (the wire decoder
//   does the framing); the caller tells how many messages they completed.
//   Write takes caller-owned bytes (e.g. two ranges of the send log's ring)
//   that must stay valid until writable(peer) or closed(peer) is reported.
//   Nothing is queued here: Write on a busy peer returns kBusy and the caller
//   waits for writable. PauseReading stops deliveries (back-pressure to TCP).
// - Callbacks come only from the loop, never from inside a TlsLink method;
//   none after Stop(). closed(peer) always precedes the next established(peer).
// - Every method must be called on the io_context's thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/ip_address.h"
#include "common/result.h"
#include "common/time.h"
#include "statesync/io/tls_connection.h"
#include "statesync/io/tls_context.h"
#include "statesync/io/tls_keys.h"
#include "statesync/io/tls_socket.h"

namespace hafw::statesync::io {

struct TlsLinkConfig {
  std::string node;                 // own name (the cluster file's)
  IpAddress local_address;          // own sync_address: listen here, dial from here
  uint16_t port = 7788;             // every node's sync port
  std::vector<LinkEndpoint> peers;  // every other node; the index is the peer id
  SyncKeys keys;
  SocketTuning socket;
  Duration handshake_timeout = Seconds(1);
  Duration backoff_min = Millis(25);
  Duration backoff_max = Seconds(1);
  size_t read_buffer_bytes = 64 * 1024;  // per connection, allocated once
  size_t max_pending_handshakes = 16;    // unauthenticated connections at once
  size_t max_pending_per_address = 2;
};

// Why the listener closed a connection before any TLS.
enum class Refusal : uint8_t {
  kUnknownAddress,  // not the sync address of a configured peer
  kNotDialer,       // a peer that we dial (it must not dial us)
  kTooManyPending,  // too many handshakes in progress
};
inline constexpr size_t kRefusalCount = 3;
std::string_view RefusalName(Refusal refusal);  // "unknown-address", ...

struct LinkTraffic {
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t messages_in = 0;   // as reported by the received callback
  uint64_t messages_out = 0;  // as passed to Write
};

struct PeerLinkCounters {
  LinkTraffic traffic;
  uint64_t dials = 0;             // connection attempts (dialer side)
  uint64_t connect_failures = 0;  // TCP connect failed or timed out
  uint64_t established = 0;
  std::array<uint64_t, kHandshakeFailureCount> handshake_failed{};
  std::array<uint64_t, kCloseReasonCount> closed{};
};

struct TlsLinkCounters {
  LinkTraffic traffic;    // all peers
  uint64_t accepted = 0;  // TCP connections that passed the address check
  std::array<uint64_t, kRefusalCount> refused{};
  // Every failed handshake, also those no peer can be blamed for.
  std::array<uint64_t, kHandshakeFailureCount> handshake_failed{};
  std::array<uint64_t, kCloseReasonCount> closed{};
  uint64_t dials = 0;
  uint64_t connect_failures = 0;
  uint64_t established = 0;
  uint64_t accept_errors = 0;
  uint64_t socket_option_errors = 0;
  uint64_t rto_min_unsupported = 0;  // sockets left at the kernel's minimum RTO
};

struct PeerLinkStatus {
  bool connected = false;
  bool dialer = false;  // we dial this peer
  std::optional<TlsInfo> tls;
  bool write_in_flight = false;
  bool reading_paused = false;
  size_t key_offered = 0;  // dialer: 0 current key, 1 previous
  Duration backoff{};      // dialer: the wait after the next failure (reset when established)
  // The last failed attempt with this peer, for operators ("bad-key-id: ...").
  std::optional<HandshakeFailure> last_failure;
  std::string last_error;
  PeerLinkCounters counters;
};

struct TlsLinkCallbacks {
  std::function<void(size_t peer, const TlsInfo& tls)> established;
  std::function<void(size_t peer, CloseReason reason)> closed;
  // Returns how many complete messages these bytes finished (for counters).
  std::function<size_t(size_t peer, std::span<const uint8_t> bytes)> received;
  std::function<void(size_t peer)> writable;
  // Optional: a failed handshake (peer when it could be attributed).
  std::function<void(std::optional<size_t> peer, HandshakeFailure failure, const IpAddress& remote)>
      handshake_failed;
  // Optional: rare conditions worth a log line (once per kind).
  std::function<void(std::string_view message)> notice;
};

class TlsLink final : private TlsConnectionOwner {
 public:
  static Result<std::unique_ptr<TlsLink>> Create(boost::asio::io_context& io, TlsLinkConfig config,
                                                 TlsLinkCallbacks callbacks);
  ~TlsLink() override;  // Stop()
  TlsLink(const TlsLink&) = delete;
  TlsLink& operator=(const TlsLink&) = delete;

  // Binds the listener and starts dialing. Sockets belong to the network
  // namespace of the thread that creates them (this one, and the loop's).
  Result<void> Start();
  // Closes everything; no callback afterwards. Writes in flight may still read
  // their bytes while the loop runs their cancelled handlers: keep the bytes
  // until WritesInFlight() is 0 or the loop no longer runs.
  void Stop();
  size_t WritesInFlight() const { return *writes_in_flight_; }

  // `second` may be empty (a ring range that does not wrap).
  WriteStatus Write(size_t peer, std::span<const uint8_t> first, std::span<const uint8_t> second,
                    size_t messages);
  WriteStatus Write(size_t peer, std::span<const uint8_t> bytes, size_t messages) {
    return Write(peer, bytes, {}, messages);
  }
  void PauseReading(size_t peer);
  void ResumeReading(size_t peer);
  // Ends the peer's connection (closed(peer, kLocal) follows); a dialer redials.
  void Close(size_t peer);

  bool Connected(size_t peer) const;
  size_t PeerCount() const { return peers_.size(); }
  const LinkEndpoint& Peer(size_t peer) const { return peers_[peer].endpoint; }
  std::optional<size_t> FindPeer(std::string_view name) const { return policy_->FindPeer(name); }
  PeerLinkStatus Status(size_t peer) const;
  const TlsLinkCounters& Counters() const { return counters_; }
  const TlsLinkConfig& Config() const { return config_; }

 private:
  struct PeerSlot {
    LinkEndpoint endpoint;
    bool dial = false;
    std::shared_ptr<TlsConnection> active;    // established and reported
    std::shared_ptr<TlsConnection> retiring;  // closed, closed() not yet reported
    std::shared_ptr<TlsConnection> next;      // established, waits for retiring
    std::shared_ptr<TlsConnection> dialing;
    std::optional<TlsInfo> tls;
    std::optional<TlsInfo> next_tls;
    std::unique_ptr<boost::asio::steady_timer> retry;
    Duration backoff{};
    size_t key = 0;
    bool paused = false;
    std::optional<HandshakeFailure> last_failure;
    std::string last_error;
    PeerLinkCounters counters;
  };

  TlsLink(boost::asio::io_context& io, TlsLinkConfig config, TlsLinkCallbacks callbacks,
          std::shared_ptr<const PskPolicy> policy);

  void Accept();
  void OnAccepted(boost::asio::ip::tcp::socket socket);
  bool Tune(boost::asio::ip::tcp::socket& socket);
  void Dial(size_t peer);
  void ScheduleDial(size_t peer);
  void Promote(size_t peer, const std::shared_ptr<TlsConnection>& connection, TlsInfo tls);
  void Retire(size_t peer, CloseReason reason);
  void CountFailure(std::optional<size_t> peer, HandshakeFailure failure, const IpAddress& remote,
                    const std::string& detail);
  void Notice(std::string_view message);

  // TlsConnectionOwner
  void OnConnectFailed(TlsConnection& connection) override;
  void OnHandshakeDone(TlsConnection& connection,
                       const tl::expected<TlsInfo, HandshakeFailure>& result) override;
  size_t OnBytes(TlsConnection& connection, std::span<const uint8_t> bytes) override;
  void OnWriteDone(TlsConnection& connection, size_t bytes, size_t messages) override;
  void OnClosed(TlsConnection& connection) override;

  boost::asio::io_context& io_;
  TlsLinkConfig config_;
  TlsLinkCallbacks callbacks_;
  std::shared_ptr<const PskPolicy> policy_;
  std::unique_ptr<boost::asio::ssl::context> client_context_;
  std::unique_ptr<boost::asio::ssl::context> server_context_;
  std::vector<PeerSlot> peers_;
  std::vector<std::shared_ptr<TlsConnection>> pending_;  // server handshakes
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  TlsLinkCounters counters_;
  std::shared_ptr<size_t> writes_in_flight_ = std::make_shared<size_t>(0);
  std::shared_ptr<char> alive_ = std::make_shared<char>(0);  // guards queued handlers
  bool started_ = false;
  bool stopped_ = false;
  bool rto_notice_given_ = false;
};

}  // namespace hafw::statesync::io
