#pragma once

// The client side of the control socket: blocking, bounded calls for hactl,
// tests and other local tools. (The agent's side is haagent/server.)

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"
#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {

inline constexpr std::string_view kDefaultControlSocket = "/run/hafw/control.sock";

// Connects to the agent's socket (non-blocking, close-on-exec). The error
// (kUnavailable) reads "cannot reach ha-agent at PATH: <strerror>".
Result<int> ConnectControlSocket(const std::string& path);

// One request, one response, on a connected socket; bounded by `timeout`.
Result<control::v1::Response> Call(int fd, const control::v1::Request& request,
                                   std::chrono::milliseconds timeout);

// Connect, call, close.
Result<control::v1::Response> CallAgent(const std::string& socket_path,
                                        const control::v1::Request& request,
                                        std::chrono::milliseconds timeout);

// A connection to the agent that closes on destruction; several calls may
// share it.
class ControlConnection {
 public:
  static Result<ControlConnection> Connect(const std::string& path);

  explicit ControlConnection(int fd) : fd_(fd) {}
  ControlConnection(ControlConnection&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ControlConnection& operator=(ControlConnection&& other) noexcept;
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;
  ~ControlConnection();

  Result<control::v1::Response> Call(const control::v1::Request& request,
                                     std::chrono::milliseconds timeout) const {
    return agent::Call(fd_, request, timeout);
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace hafw::agent
