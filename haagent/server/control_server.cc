#include "haagent/server/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "haagent/control/client.h"
#include "haagent/control/framing.h"
#include "haagent/control/replies.h"

namespace hafw::agent {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

namespace {

// A client gets this long to send its request; hactl sends at once.
constexpr auto kRequestTimeout = std::chrono::seconds(5);

// One connection: read a frame, answer it, repeat until the client closes.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Local::socket socket, std::shared_ptr<ControlServer::Shared> shared)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), shared_(std::move(shared)) {}

  void Start() {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        cred.uid != 0) {
      ++shared_->refused;
      Reply(ErrorResponse(ErrorCode::kPermission, "the control socket is for root only"), true);
      return;
    }
    ReadPrefix();
  }

 private:
  void ArmTimeout() {
    timer_.expires_after(kRequestTimeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
    });
  }

  void ReadPrefix() {
    ArmTimeout();
    asio::async_read(socket_, asio::buffer(prefix_),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (ec) return self->Close();  // client done or timed out
                       uint8_t raw[4];
                       std::memcpy(raw, self->prefix_.data(), 4);
                       auto len = DecodeFrameLength(raw);
                       if (!len) {
                         ++self->shared_->refused;
                         return self->Reply(ErrorResponse(len.error().code, len.error().context),
                                            true);
                       }
                       self->ReadBody(*len);
                     });
  }

  void ReadBody(uint32_t len) {
    body_.assign(len, '\0');
    asio::async_read(socket_, asio::buffer(body_),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (ec) return self->Close();
                       self->timer_.cancel();
                       control::v1::Request request;
                       if (!request.ParseFromString(self->body_)) {
                         ++self->shared_->refused;
                         return self->Reply(
                             ErrorResponse(ErrorCode::kProtocol, "request does not parse"), true);
                       }
                       if (self->shared_->closed) return self->Close();
                       ++self->shared_->requests;
                       self->Reply(self->shared_->handler(request), false);
                     });
  }

  void Reply(const control::v1::Response& response, bool close_after) {
    std::string payload;
    response.SerializeToString(&payload);
    out_ = EncodeFrame(payload);
    asio::async_write(
        socket_, asio::buffer(out_),
        [self = shared_from_this(), close_after](boost::system::error_code ec, size_t) {
          if (ec || close_after) return self->Close();
          self->ReadPrefix();
        });
  }

  void Close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  Local::socket socket_;
  asio::steady_timer timer_;
  // Shared with the server and every session, so a session still reading
  // when the server is destroyed (agent shutdown) touches nothing freed.
  std::shared_ptr<ControlServer::Shared> shared_;
  std::array<char, 4> prefix_{};
  std::string body_;
  std::string out_;
};

}  // namespace

struct ControlServer::Impl {
  Impl(asio::io_context& io, Handler h)
      : acceptor(io), shared(std::make_shared<Shared>(Shared{std::move(h)})) {}

  void Accept() {
    acceptor.async_accept([this](boost::system::error_code ec, Local::socket socket) {
      if (ec == asio::error::operation_aborted) return;  // the server is gone: touch nothing
      if (!ec) std::make_shared<Session>(std::move(socket), shared)->Start();
      Accept();
    });
  }

  Local::acceptor acceptor;
  std::shared_ptr<Shared> shared;
};

uint64_t ControlServer::Requests() const { return impl_->shared->requests; }
uint64_t ControlServer::Refused() const { return impl_->shared->refused; }

ControlServer::ControlServer(std::string path, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  impl_->shared->closed = true;  // sessions still open stop serving requests
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  ::unlink(path_.c_str());
}

Result<std::unique_ptr<ControlServer>> ControlServer::Create(asio::io_context& io, std::string path,
                                                             Handler handler) {
  namespace fs = std::filesystem;
  std::error_code fec;
  fs::path dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::exists(dir, fec)) {
    fs::create_directories(dir, fec);
    if (fec) {
      return MakeError(ErrorCode::kIo, "cannot create " + dir.string() +
                                           " for the control socket: " + fec.message());
    }
    ::chmod(dir.c_str(), 0750);
  }
  // A socket file left by a dead agent is replaced; a live agent is not.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return MakeError(ErrorCode::kIo, path + " exists and is not a socket");
    }
    if (auto fd = ConnectControlSocket(path); fd) {
      ::close(*fd);
      return MakeError(ErrorCode::kUnavailable, "another ha-agent is already listening on " + path);
    }
    ::unlink(path.c_str());
  }

  auto impl = std::make_unique<Impl>(io, std::move(handler));
  boost::system::error_code ec;
  impl->acceptor.open(Local(), ec);
  if (!ec) {
    // Only root may talk to the agent; set the mode before anyone can connect.
    mode_t old = ::umask(0177);
    impl->acceptor.bind(Local::endpoint(path), ec);
    ::umask(old);
  }
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "control socket " + path + ": " + ec.message());
  }
  auto server = std::unique_ptr<ControlServer>(new ControlServer(std::move(path), std::move(impl)));
  server->impl_->Accept();
  return server;
}

}  // namespace hafw::agent
