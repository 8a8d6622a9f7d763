#pragma once

// One TLS connection of the sync link (internal to TlsLink; tests use it to
// build misbehaving clients). Life: Connect (client) or Handshake (server)
// under a deadline, then reading into a fixed buffer and at most one write in
// flight, then Close. Every outcome goes to the owner; once the owner has
// detached, handlers that are still queued only release their resources.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/time.h"
#include "statesync/io/tls_context.h"

namespace hafw::statesync::io {

// Why an established connection ended.
enum class CloseReason : uint8_t {
  kPeerClosed,  // EOF, with or without close_notify
  kIoError,     // a socket error (reset, timeout, TCP_USER_TIMEOUT, ...)
  kProtocol,    // TLS records that do not decrypt: garbage after the handshake
  kLocal,       // the caller closed it (dead heartbeat, undecodable frame, ...)
  kReplaced,    // the peer connected again: the newer connection won
  kStopped,     // the link stopped
};
inline constexpr size_t kCloseReasonCount = 6;
std::string_view CloseReasonName(CloseReason reason);  // "peer-closed", ...

enum class WriteStatus : uint8_t {
  kStarted,       // the bytes are being written; writable follows
  kBusy,          // a write is already in flight: wait for writable
  kNotConnected,  // no established connection
};

class TlsConnection;

class TlsConnectionOwner {
 public:
  virtual ~TlsConnectionOwner() = default;
  // Client only: TCP connect failed or timed out (no TLS was spoken).
  virtual void OnConnectFailed(TlsConnection& connection) = 0;
  // The handshake finished; on failure the connection is already closed.
  virtual void OnHandshakeDone(TlsConnection& connection,
                               const tl::expected<TlsInfo, HandshakeFailure>& result) = 0;
  // Decrypted bytes, valid during the call; returns the messages they completed.
  virtual size_t OnBytes(TlsConnection& connection, std::span<const uint8_t> bytes) = 0;
  virtual void OnWriteDone(TlsConnection& connection, size_t bytes, size_t messages) = 0;
  // An established connection closed and no write of it is in flight any more.
  // Always from a handler, never from inside Close().
  virtual void OnClosed(TlsConnection& connection) = 0;
};

class TlsConnection : public std::enable_shared_from_this<TlsConnection> {
 public:
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  // Client: pass a fresh socket (tcp::socket(io)); server: the accepted one.
  TlsConnection(boost::asio::io_context& io, boost::asio::ssl::context& context, TlsRole role,
                size_t read_buffer_bytes, boost::asio::ip::tcp::socket socket);
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  void SetOwner(TlsConnectionOwner* owner) { owner_ = owner; }
  void Detach() { owner_ = nullptr; }
  // Incremented while a write is in flight; shared so it outlives the owner.
  void SetWriteCounter(std::shared_ptr<size_t> counter) { write_counter_ = std::move(counter); }
  boost::asio::ip::tcp::socket& Socket() { return stream_.next_layer(); }
  HandshakeState& State() { return state_; }
  const HandshakeState& State() const { return state_; }
  TlsRole Role() const { return role_; }

  // Peer index in the owner's list, once known (client: at once; server:
  // after the handshake).
  std::optional<size_t> peer;

  // Client: the socket is open, bound and tuned. Connect, then handshake,
  // both within `deadline`.
  void Connect(const boost::asio::ip::tcp::endpoint& remote, Duration deadline);
  // Server: handshake within `deadline`.
  void Handshake(Duration deadline);

  // After an established handshake: deliver bytes until paused or closed.
  void StartReading();
  // No OnBytes while paused (a read that completes meanwhile is kept).
  void PauseReading();
  void ResumeReading();
  bool ReadingPaused() const { return paused_; }

  WriteStatus Write(std::span<const uint8_t> first, std::span<const uint8_t> second,
                    size_t messages);
  bool WriteInFlight() const { return write_in_flight_; }

  void Close(CloseReason reason);
  bool Established() const { return established_; }
  bool Closed() const { return closed_; }
  CloseReason Reason() const { return reason_; }
  // The error text behind the last failure or close, for logs.
  const std::string& Detail() const { return detail_; }

 private:
  void StartHandshake();
  void OnHandshake(const boost::system::error_code& error);
  void ArmDeadline(Duration deadline);
  void ReadSome();
  void OnRead(const boost::system::error_code& error, size_t bytes);
  void Deliver(size_t bytes);
  void OnWrite(const boost::system::error_code& error, size_t bytes);
  void FailHandshake(HandshakeFailure failure);
  void Shut();  // closes socket and deadline
  void NotifyClosedWhenIdle();
  CloseReason Classify(const boost::system::error_code& error) const;

  boost::asio::io_context& io_;
  TlsRole role_;
  Stream stream_;
  boost::asio::steady_timer deadline_;
  HandshakeState state_;
  TlsConnectionOwner* owner_ = nullptr;
  std::shared_ptr<size_t> write_counter_;
  std::vector<uint8_t> read_buffer_;
  size_t held_bytes_ = 0;  // read while paused, delivered on resume
  bool delivery_posted_ = false;
  size_t write_messages_ = 0;
  bool timed_out_ = false;
  bool established_ = false;
  bool read_in_flight_ = false;
  bool paused_ = false;
  bool write_in_flight_ = false;
  bool closed_ = false;
  bool close_notified_ = false;
  CloseReason reason_ = CloseReason::kLocal;
  std::string detail_;
};

}  // namespace hafw::statesync::io
