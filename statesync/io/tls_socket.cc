#include "statesync/io/tls_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hafw::statesync::io {
namespace {

Result<void> SetInt(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    return MakeError(ErrorCode::kIo, std::string("setsockopt ") + what + ": " + strerror(errno));
  }
  return {};
}

// The FORCE variant passes net.core.[rw]mem_max (needs CAP_NET_ADMIN); without
// the capability the plain option is capped by those sysctls.
Result<void> SetBuffer(int fd, int force_name, int name, int bytes, const char* what) {
  if (bytes <= 0) return {};
  if (setsockopt(fd, SOL_SOCKET, force_name, &bytes, sizeof(bytes)) == 0) return {};
  return SetInt(fd, SOL_SOCKET, name, bytes, what);
}

}  // namespace

Result<TuningOutcome> ApplySocketTuning(int fd, const SocketTuning& tuning) {
  TuningOutcome outcome;
  if (tuning.no_delay) {
    if (auto r = SetInt(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY"); !r) {
      return tl::unexpected(r.error());
    }
  }
  if (tuning.rto_min.count() > 0) {
    const int us = static_cast<int>(tuning.rto_min.count());
    // ENOPROTOOPT (older kernel) or EINVAL (below two jiffies): fall back.
    outcome.rto_min_applied = setsockopt(fd, IPPROTO_TCP, kTcpRtoMinUs, &us, sizeof(us)) == 0;
  }
  if (tuning.user_timeout.count() > 0) {
    const int ms = static_cast<int>(tuning.user_timeout.count());
    if (auto r = SetInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, ms, "TCP_USER_TIMEOUT"); !r) {
      return tl::unexpected(r.error());
    }
  }
  if (auto r = SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, tuning.send_buffer, "SO_SNDBUF"); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, tuning.receive_buffer, "SO_RCVBUF"); !r) {
    return tl::unexpected(r.error());
  }
  return outcome;
}

}  // namespace hafw::statesync::io
