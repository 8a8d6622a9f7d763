#include "statesync/io/tls_connection.h"

#include <array>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

namespace hafw::statesync::io {

std::string_view CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kPeerClosed:
      return "peer-closed";
    case CloseReason::kIoError:
      return "io-error";
    case CloseReason::kProtocol:
      return "protocol";
    case CloseReason::kLocal:
      return "local";
    case CloseReason::kReplaced:
      return "replaced";
    case CloseReason::kStopped:
      return "stopped";
  }
  return "unknown";
}

TlsConnection::TlsConnection(boost::asio::io_context& io, boost::asio::ssl::context& context,
                             TlsRole role, size_t read_buffer_bytes,
                             boost::asio::ip::tcp::socket socket)
    : io_(io),
      role_(role),
      stream_(std::move(socket), context),
      deadline_(io),
      read_buffer_(read_buffer_bytes) {
  state_.server = role == TlsRole::kServer;
  PrepareSsl(stream_.native_handle(), &state_);
}

void TlsConnection::ArmDeadline(Duration deadline) {
  deadline_.expires_after(deadline);
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->established_ || self->closed_) return;
    self->timed_out_ = true;
    self->detail_ = "deadline passed";
    self->Shut();  // the pending connect or handshake completes with an error
  });
}

void TlsConnection::Connect(const boost::asio::ip::tcp::endpoint& remote, Duration deadline) {
  ArmDeadline(deadline);
  Socket().async_connect(remote,
                         [self = shared_from_this()](const boost::system::error_code& error) {
                           if (self->closed_ && !self->timed_out_) return;  // the owner dropped us
                           if (error || self->closed_) {
                             if (!self->timed_out_) self->detail_ = error.message();
                             self->Shut();
                             if (self->owner_ != nullptr) self->owner_->OnConnectFailed(*self);
                             return;
                           }
                           self->StartHandshake();
                         });
}

void TlsConnection::Handshake(Duration deadline) {
  ArmDeadline(deadline);
  StartHandshake();
}

void TlsConnection::StartHandshake() {
  const auto type = role_ == TlsRole::kClient ? Stream::client : Stream::server;
  stream_.async_handshake(type,
                          [self = shared_from_this()](const boost::system::error_code& error) {
                            self->OnHandshake(error);
                          });
}

void TlsConnection::OnHandshake(const boost::system::error_code& error) {
  if (closed_ && !timed_out_) return;  // the owner dropped us
  if (!error && !closed_) {
    deadline_.cancel();
    auto result = CheckEstablished(stream_.native_handle(), state_);
    if (!result) {
      detail_ = "handshake check failed";
      FailHandshake(result.error());
      return;
    }
    established_ = true;
    if (owner_ != nullptr) owner_->OnHandshakeDone(*this, result);
    return;
  }
  if (!timed_out_) detail_ = error.message();
  FailHandshake(timed_out_ ? HandshakeFailure::kTimeout : ClassifyHandshakeError(error, state_));
}

void TlsConnection::FailHandshake(HandshakeFailure failure) {
  Shut();
  if (owner_ != nullptr) owner_->OnHandshakeDone(*this, tl::unexpected(failure));
}

void TlsConnection::Shut() {
  closed_ = true;
  deadline_.cancel();
  boost::system::error_code ignored;
  Socket().close(ignored);
}

void TlsConnection::StartReading() {
  if (!established_ || closed_ || paused_ || read_in_flight_ || held_bytes_ > 0) return;
  ReadSome();
}

void TlsConnection::PauseReading() { paused_ = true; }

void TlsConnection::ResumeReading() {
  if (!paused_) return;
  paused_ = false;
  if (!established_ || closed_) return;
  if (held_bytes_ == 0) {
    if (!read_in_flight_) ReadSome();
    return;
  }
  if (delivery_posted_) return;
  // Not from inside the caller's call: deliver from the loop.
  delivery_posted_ = true;
  boost::asio::post(io_, [self = shared_from_this()] {
    self->delivery_posted_ = false;
    if (self->closed_ || self->paused_ || self->held_bytes_ == 0) return;
    const size_t bytes = self->held_bytes_;
    self->held_bytes_ = 0;
    self->Deliver(bytes);
  });
}

void TlsConnection::ReadSome() {
  read_in_flight_ = true;
  stream_.async_read_some(
      boost::asio::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        self->OnRead(error, bytes);
      });
}

void TlsConnection::OnRead(const boost::system::error_code& error, size_t bytes) {
  read_in_flight_ = false;
  if (closed_) return;
  if (error) {
    detail_ = error.message();
    Close(Classify(error));
    return;
  }
  if (paused_) {
    held_bytes_ = bytes;
    return;
  }
  Deliver(bytes);
}

void TlsConnection::Deliver(size_t bytes) {
  if (owner_ != nullptr && bytes > 0) {
    owner_->OnBytes(*this, std::span<const uint8_t>(read_buffer_.data(), bytes));
  }
  if (!closed_ && !paused_ && !read_in_flight_) ReadSome();
}

WriteStatus TlsConnection::Write(std::span<const uint8_t> first, std::span<const uint8_t> second,
                                 size_t messages) {
  if (!established_ || closed_) return WriteStatus::kNotConnected;
  if (write_in_flight_) return WriteStatus::kBusy;
  write_in_flight_ = true;
  if (write_counter_) ++*write_counter_;
  write_messages_ = messages;
  const std::array<boost::asio::const_buffer, 2> buffers = {
      boost::asio::buffer(first.data(), first.size()),
      boost::asio::buffer(second.data(), second.size())};
  boost::asio::async_write(
      stream_, buffers,
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        self->OnWrite(error, bytes);
      });
  return WriteStatus::kStarted;
}

void TlsConnection::OnWrite(const boost::system::error_code& error, size_t bytes) {
  write_in_flight_ = false;
  if (write_counter_) --*write_counter_;
  if (closed_) {
    NotifyClosedWhenIdle();
    return;
  }
  if (error) {
    detail_ = error.message();
    Close(Classify(error));
    return;
  }
  if (owner_ != nullptr) owner_->OnWriteDone(*this, bytes, write_messages_);
}

void TlsConnection::Close(CloseReason reason) {
  if (closed_) return;
  reason_ = reason;
  Shut();
  NotifyClosedWhenIdle();
}

void TlsConnection::NotifyClosedWhenIdle() {
  // The caller's write buffer is released only once no write is in flight.
  if (!established_ || close_notified_ || write_in_flight_) return;
  close_notified_ = true;
  boost::asio::post(io_, [self = shared_from_this()] {
    if (self->owner_ != nullptr) self->owner_->OnClosed(*self);
  });
}

CloseReason TlsConnection::Classify(const boost::system::error_code& error) const {
  if (error == boost::asio::error::eof || error == boost::asio::ssl::error::stream_truncated) {
    return CloseReason::kPeerClosed;
  }
  if (error.category() == boost::asio::error::get_ssl_category()) return CloseReason::kProtocol;
  return CloseReason::kIoError;
}

}  // namespace hafw::statesync::io
