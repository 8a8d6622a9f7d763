#include "haagent/cli/control_client.h"

#include <unistd.h>

#include "haagent/control_channel.h"

namespace hafw::agent::cli {

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
  auto fd = ConnectControlSocket(path);
  if (!fd) return tl::unexpected(fd.error());
  return AgentConnection(*fd);
}

}  // namespace hafw::agent::cli
