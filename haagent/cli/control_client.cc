#include "haagent/cli/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hafw::agent::cli {
namespace {

tl::unexpected<Error> Unreachable(const std::string& path, int error) {
  return MakeError(ErrorCode::kUnavailable,
                   "cannot reach ha-agent at " + path + ": " + std::strerror(error));
}

}  // namespace

AgentConnection& AgentConnection::operator=(AgentConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

AgentConnection::~AgentConnection() {
  if (fd_ >= 0) ::close(fd_);
}

Result<AgentConnection> ConnectToAgent(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // sun_path needs room for the terminating NUL.
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return Unreachable(path, path.empty() ? EINVAL : ENAMETOOLONG);
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unreachable(path, errno);
  AgentConnection connection(fd);
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return Unreachable(path, errno);
  return connection;
}

}  // namespace hafw::agent::cli
