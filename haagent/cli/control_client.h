#pragma once

// hactl's side of the control socket. Every subcommand goes through
// ConnectToAgent; the request/response exchange extends it.

#include <string>

#include "common/result.h"

namespace hafw::agent::cli {

// Owns a connected socket; closes it on destruction.
class AgentConnection {
 public:
  explicit AgentConnection(int fd) : fd_(fd) {}
  AgentConnection(AgentConnection&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  AgentConnection& operator=(AgentConnection&& other) noexcept;
  AgentConnection(const AgentConnection&) = delete;
  AgentConnection& operator=(const AgentConnection&) = delete;
  ~AgentConnection();

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Connects to the agent's AF_UNIX stream socket at `path`. On failure the
// error (kUnavailable) reads "cannot reach ha-agent at PATH: <strerror>".
Result<AgentConnection> ConnectToAgent(const std::string& path);

}  // namespace hafw::agent::cli
