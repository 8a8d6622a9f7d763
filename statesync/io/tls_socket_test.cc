#include "statesync/io/tls_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace hafw::statesync::io {
namespace {

int Get(int fd, int level, int name) {
  int value = -1;
  socklen_t size = sizeof(value);
  if (getsockopt(fd, level, name, &value, &size) != 0) return -1;
  return value;
}

// A TCP socket that is never bound or connected: no traffic at all.
class TcpSocket {
 public:
  TcpSocket() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~TcpSocket() { close(fd_); }
  TcpSocket(const TcpSocket&) = delete;
  TcpSocket& operator=(const TcpSocket&) = delete;
  int Fd() const { return fd_; }

 private:
  int fd_;
};

TEST(TlsSocketTest, DefaultsAreApplied) {
  TcpSocket s;
  ASSERT_GE(s.Fd(), 0);
  auto outcome = ApplySocketTuning(s.Fd(), SocketTuning{});
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(Get(s.Fd(), IPPROTO_TCP, TCP_NODELAY), 1);
  EXPECT_EQ(Get(s.Fd(), IPPROTO_TCP, TCP_USER_TIMEOUT), 200);
  // Linux doubles the size for its bookkeeping.
  EXPECT_GE(Get(s.Fd(), SOL_SOCKET, SO_SNDBUF), 1 << 20);
  EXPECT_GE(Get(s.Fd(), SOL_SOCKET, SO_RCVBUF), 1 << 20);
  if (!outcome->rto_min_applied) {
    GTEST_SKIP() << "kernel without TCP_RTO_MIN_US (< 6.16): fallback path taken";
  }
  // 5 ms rounded up to whole jiffies (8 ms at HZ 250, 5 ms at HZ 1000).
  const int rto_min_us = Get(s.Fd(), IPPROTO_TCP, kTcpRtoMinUs);
  EXPECT_GE(rto_min_us, 5000);
  EXPECT_LE(rto_min_us, 20000);
}

TEST(TlsSocketTest, RtoBelowTheKernelsGranularityFallsBackWithoutError) {
  TcpSocket s;
  SocketTuning tuning;
  tuning.rto_min = std::chrono::microseconds(1);  // below 2 jiffies on any HZ
  auto outcome = ApplySocketTuning(s.Fd(), tuning);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->rto_min_applied);
  EXPECT_EQ(Get(s.Fd(), IPPROTO_TCP, TCP_NODELAY), 1);  // the rest still applies
}

TEST(TlsSocketTest, ZeroLeavesTheKernelDefaults) {
  TcpSocket s;
  const int sndbuf = Get(s.Fd(), SOL_SOCKET, SO_SNDBUF);
  SocketTuning tuning{.no_delay = false,
                      .rto_min = std::chrono::microseconds(0),
                      .user_timeout = std::chrono::milliseconds(0),
                      .send_buffer = 0,
                      .receive_buffer = 0};
  auto outcome = ApplySocketTuning(s.Fd(), tuning);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->rto_min_applied);
  EXPECT_EQ(Get(s.Fd(), IPPROTO_TCP, TCP_NODELAY), 0);
  EXPECT_EQ(Get(s.Fd(), IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
  EXPECT_EQ(Get(s.Fd(), SOL_SOCKET, SO_SNDBUF), sndbuf);
}

TEST(TlsSocketTest, ErrorsAreReturned) { EXPECT_FALSE(ApplySocketTuning(-1, SocketTuning{})); }

}  // namespace
}  // namespace hafw::statesync::io
