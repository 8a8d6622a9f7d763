#include "haagent/control/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "haagent/control/framing.h"

namespace hafw::agent {
namespace {

using Clock = std::chrono::steady_clock;

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

// Waits until fd is ready for `events` or the deadline passes.
Result<void> WaitFor(int fd, int16_t events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return MakeError(ErrorCode::kUnavailable, "ha-agent did not answer in time");
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return {};
    if (n < 0 && errno != EINTR) return MakeError(ErrorCode::kIo, Errno("poll"));
  }
}

Result<void> WriteAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    if (auto w = WaitFor(fd, POLLOUT, deadline); !w) return w;
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return MakeError(ErrorCode::kIo, Errno("send to ha-agent"));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> ReadAll(int fd, uint8_t* out, size_t size, Clock::time_point deadline) {
  size_t got = 0;
  while (got < size) {
    if (auto w = WaitFor(fd, POLLIN, deadline); !w) return w;
    ssize_t n = ::recv(fd, out + got, size - got, 0);
    if (n == 0) return MakeError(ErrorCode::kProtocol, "ha-agent closed the connection");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return MakeError(ErrorCode::kIo, Errno("recv from ha-agent"));
    }
    got += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Result<int> ConnectControlSocket(const std::string& path) {
  auto unreachable = [&path](int error) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot reach ha-agent at " + path + ": " + std::strerror(error));
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // sun_path needs room for the terminating NUL.
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return unreachable(path.empty() ? EINVAL : ENAMETOOLONG);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return unreachable(errno);
  int rc = 0;
  do {
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int error = errno;
    ::close(fd);
    return unreachable(error);
  }
  return fd;
}

Result<control::v1::Response> Call(int fd, const control::v1::Request& request,
                                   std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string payload;
  if (!request.SerializeToString(&payload)) {
    return MakeError(ErrorCode::kInternal, "cannot serialize the request");
  }
  if (auto w = WriteAll(fd, EncodeFrame(payload), deadline); !w) return tl::unexpected(w.error());
  uint8_t prefix[kFramePrefixBytes];
  if (auto r = ReadAll(fd, prefix, sizeof(prefix), deadline); !r) {
    return tl::unexpected(r.error());
  }
  auto len = DecodeFrameLength(prefix);
  if (!len) return tl::unexpected(len.error());
  std::string body(*len, '\0');
  if (auto r = ReadAll(fd, reinterpret_cast<uint8_t*>(body.data()), body.size(), deadline); !r) {
    return tl::unexpected(r.error());
  }
  control::v1::Response response;
  if (!response.ParseFromString(body)) {
    return MakeError(ErrorCode::kProtocol, "ha-agent sent a response that does not parse");
  }
  return response;
}

Result<control::v1::Response> CallAgent(const std::string& socket_path,
                                        const control::v1::Request& request,
                                        std::chrono::milliseconds timeout) {
  auto fd = ConnectControlSocket(socket_path);
  if (!fd) return tl::unexpected(fd.error());
  auto response = Call(*fd, request, timeout);
  ::close(*fd);
  return response;
}

Result<ControlConnection> ControlConnection::Connect(const std::string& path) {
  auto fd = ConnectControlSocket(path);
  if (!fd) return tl::unexpected(fd.error());
  return ControlConnection(*fd);
}

ControlConnection& ControlConnection::operator=(ControlConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ControlConnection::~ControlConnection() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace hafw::agent
