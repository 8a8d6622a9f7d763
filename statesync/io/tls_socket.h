#pragma once

// TCP settings of sync link sockets (docs/statesync.md, "Transport"): one lost
// segment must not look like a dead link (heartbeats every 25 ms, dead after
// 3), so the retransmission timeout is small and data is never delayed.

#include <chrono>
#include <cstdint>

#include "common/result.h"

namespace hafw::statesync::io {

// TCP_RTO_MIN_US (Linux >= 6.16): the socket's minimum retransmission timeout
// in microseconds, rounded up to jiffies; at least 2 jiffies are accepted.
#ifdef TCP_RTO_MIN_US
inline constexpr int kTcpRtoMinUs = TCP_RTO_MIN_US;
#else
inline constexpr int kTcpRtoMinUs = 45;
#endif

struct SocketTuning {
  bool no_delay = true;                         // TCP_NODELAY
  std::chrono::microseconds rto_min{5000};      // TCP_RTO_MIN_US; 0: the kernel's (200 ms)
  std::chrono::milliseconds user_timeout{200};  // TCP_USER_TIMEOUT; 0: the kernel's
  int send_buffer = 1 << 20;                    // SO_SNDBUF(FORCE) bytes; 0: autotuning
  int receive_buffer = 1 << 20;                 // SO_RCVBUF(FORCE) bytes; 0: autotuning
};

struct TuningOutcome {
  // False when rto_min was asked for but the kernel refused TCP_RTO_MIN_US
  // (older than 6.16, or a value below its granularity): the socket keeps the
  // kernel's minimum and works otherwise.
  bool rto_min_applied = false;
};

// Applies `tuning` to a TCP socket (before connect/listen for the buffers to
// shape the window scale). Errors other than the RTO fallback are returned.
Result<TuningOutcome> ApplySocketTuning(int fd, const SocketTuning& tuning);

}  // namespace hafw::statesync::io
