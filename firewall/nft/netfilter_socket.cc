#include "firewall/nft/netfilter_socket.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace hafw::firewall::nft {

namespace {

// The kernel sizes notification and dump datagrams to what we read, up to 32 KiB.
constexpr size_t kBufferSize = 32768;
// A queue holds far fewer datagrams than this; bounds DiscardPending.
constexpr size_t kMaxDiscard = 1 << 20;

int DataCallback(const nlmsghdr* msg, void* data) {
  (*static_cast<const NetfilterSocket::MessageFn*>(data))(*msg);
  return MNL_CB_OK;
}

}  // namespace

Error NetfilterError(std::string_view what, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  if (err == EPERM || err == EACCES) code = ErrorCode::kPermission;
  return Error{code, std::string(what) + ": " + std::strerror(err)};
}

Result<NetfilterSocket> NetfilterSocket::Open(std::optional<unsigned> group,
                                              int receive_buffer_bytes) {
  mnl_socket* s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (s == nullptr) return tl::unexpected(NetfilterError("netfilter socket", errno));
  NetfilterSocket socket(s);
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    return tl::unexpected(NetfilterError("netfilter socket bind", errno));
  }
  // The kernel reports only the request's header in errors, not all of it.
  int one = 1;
  mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
  if (receive_buffer_bytes > 0 &&
      setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer_bytes,
                 sizeof(receive_buffer_bytes)) < 0) {
    setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes,
               sizeof(receive_buffer_bytes));
  }
  if (group) {
    int g = static_cast<int>(*group);
    if (mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0) {
      return tl::unexpected(NetfilterError("netfilter socket: join group", errno));
    }
  }
  return socket;
}

NetfilterSocket::NetfilterSocket(mnl_socket* socket) : socket_(socket), buffer_(kBufferSize) {}

NetfilterSocket::NetfilterSocket(NetfilterSocket&& other) noexcept
    : socket_(std::exchange(other.socket_, nullptr)),
      seq_(other.seq_),
      buffer_(std::move(other.buffer_)) {}

NetfilterSocket& NetfilterSocket::operator=(NetfilterSocket&& other) noexcept {
  if (this != &other) {
    if (socket_ != nullptr) mnl_socket_close(socket_);
    socket_ = std::exchange(other.socket_, nullptr);
    seq_ = other.seq_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

NetfilterSocket::~NetfilterSocket() {
  if (socket_ != nullptr) mnl_socket_close(socket_);
}

int NetfilterSocket::Fd() const { return mnl_socket_get_fd(socket_); }
uint32_t NetfilterSocket::PortId() const { return mnl_socket_get_portid(socket_); }

ssize_t NetfilterSocket::ReceiveNow() {
  ssize_t n = 0;
  do {
    n = mnl_socket_recvfrom(socket_, buffer_.data(), buffer_.size());
  } while (n < 0 && errno == EINTR);
  return n;
}

Result<void> NetfilterSocket::Transact(nlmsghdr* request, const MessageFn& on_message,
                                       std::string_view what) {
  if (++seq_ == 0) seq_ = 1;  // 0 is what notifications carry
  request->nlmsg_seq = seq_;
  request->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto(socket_, request, request->nlmsg_len) < 0) {
    return tl::unexpected(NetfilterError(what, errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + kReplyTimeout;
  const uint32_t portid = PortId();
  for (;;) {
    const ssize_t n = ReceiveNow();
    if (n < 0 && errno == EAGAIN) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return tl::unexpected(NetfilterError(what, ETIMEDOUT));
      pollfd pfd{Fd(), POLLIN, 0};
      poll(&pfd, 1, static_cast<int>(left.count()));
      continue;
    }
    if (n < 0) return tl::unexpected(NetfilterError(what, errno));
    // Checks sequence and port: an answer to an older, timed-out request
    // fails with ESRCH/EPROTO and is skipped.
    const int r = mnl_cb_run(buffer_.data(), static_cast<size_t>(n), seq_, portid, DataCallback,
                             const_cast<MessageFn*>(&on_message));
    if (r == MNL_CB_STOP) return {};
    if (r < 0) {
      if (errno == ESRCH || errno == EPROTO) continue;
      return tl::unexpected(NetfilterError(what, errno));
    }
  }
}

Result<NetfilterSocket::ReadStatus> NetfilterSocket::ReadEvents(const MessageFn& on_message,
                                                                size_t max_datagrams) {
  for (size_t i = 0; i < max_datagrams; ++i) {
    const ssize_t n = ReceiveNow();
    if (n < 0) {
      if (errno == EAGAIN) return ReadStatus::kDrained;
      if (errno == ENOBUFS) return ReadStatus::kOverrun;
      return tl::unexpected(NetfilterError("netfilter notifications", errno));
    }
    // Notifications carry sequence 0 and port 0: no checks.
    mnl_cb_run(buffer_.data(), static_cast<size_t>(n), 0, 0, DataCallback,
               const_cast<MessageFn*>(&on_message));
  }
  return ReadStatus::kMore;
}

size_t NetfilterSocket::DiscardPending() {
  size_t dropped = 0;
  while (dropped < kMaxDiscard) {
    const ssize_t n = ReceiveNow();
    if (n < 0 && errno != ENOBUFS) break;
    ++dropped;
  }
  return dropped;
}

}  // namespace hafw::firewall::nft
