#pragma once

// The agent's end of the control socket: a Unix stream socket (mode 0600, only
// root may connect: checked again with SO_PEERCRED) on the agent's io_context.
// Each connection carries framed requests (control_channel.h); the handler runs
// on the io_context thread, so it may read agent state without locks.

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/result.h"
#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {

class ControlServer {
 public:
  using Handler = std::function<control::v1::Response(const control::v1::Request&)>;

  // Binds `path` (creating its directory with mode 0750 if needed and replacing
  // a stale socket file; refuses when another agent still listens there).
  static Result<std::unique_ptr<ControlServer>> Create(boost::asio::io_context& io,
                                                       std::string path, Handler handler);
  ~ControlServer();  // closes the socket and unlinks the path

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& Path() const { return path_; }
  uint64_t Requests() const;
  uint64_t Refused() const;  // not root, bad frame

  // What sessions share with the server; outlives it while a session is open.
  struct Shared {
    Handler handler;
    uint64_t requests = 0;
    uint64_t refused = 0;
    bool closed = false;
  };

 private:
  struct Impl;
  ControlServer(std::string path, std::unique_ptr<Impl> impl);

  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hafw::agent
