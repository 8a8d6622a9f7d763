#include "netlink/netlink_socket.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace hafw::netlink {

static_assert(static_cast<int>(Protocol::kRoute) == NETLINK_ROUTE);
static_assert(static_cast<int>(Protocol::kNetfilter) == NETLINK_NETFILTER);

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// Upper bound on datagrams DiscardPending drops in one call: a queue is at
// most a few MiB, far fewer datagrams than this.
constexpr size_t kMaxDiscard = 1 << 20;

Error KernelError(std::string_view what, int err, std::string_view ext_ack) {
  Error error = SysError(what, err);
  if (!ext_ack.empty()) {
    error.context += " (";
    error.context += ext_ack;
    error.context += ")";
  }
  return error;
}

Error BadReply(std::string_view what) {
  return Error{ErrorCode::kIo, std::string(what) + ": malformed netlink reply", EBADMSG};
}

struct ErrorReply {
  int error = 0;  // positive errno, 0 for an ACK
  std::string_view ext_ack;
};

int ExtAckAttr(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
      mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
    *static_cast<std::string_view*>(data) = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

// An NLMSG_ERROR message; nullopt when it is too short to be one.
std::optional<ErrorReply> ParseErrorReply(const nlmsghdr& msg) {
  if (msg.nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return std::nullopt;
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(&msg));
  ErrorReply reply;
  // The kernel sends -errno; anything positive is not an errno we know.
  reply.error = err->error <= 0 ? -err->error : EPROTO;
  if ((msg.nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
    // With NETLINK_CAP_ACK only the request's header is echoed; without it
    // the whole request, and the attributes follow it.
    size_t offset = sizeof(nlmsgerr);
    if ((msg.nlmsg_flags & NLM_F_CAPPED) == 0 && err->msg.nlmsg_len >= NLMSG_HDRLEN) {
      offset += NLMSG_ALIGN(err->msg.nlmsg_len) - NLMSG_HDRLEN;
    }
    if (NLMSG_LENGTH(offset) <= msg.nlmsg_len) {
      mnl_attr_parse(&msg, static_cast<unsigned>(offset), ExtAckAttr, &reply.ext_ack);
    }
  }
  return reply;
}

// The error a dump's NLMSG_DONE carries (0 for a clean end).
int DoneError(const nlmsghdr& msg) {
  if (msg.nlmsg_len < NLMSG_LENGTH(sizeof(int))) return 0;
  int value = 0;
  std::memcpy(&value, mnl_nlmsg_get_payload(&msg), sizeof(value));
  return value < 0 ? -value : 0;
}

// Walks the messages of one datagram; false when it ends in a malformed one.
template <typename F>
bool ForEachMessage(const char* data, size_t size, F&& f) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(data);
  int len = static_cast<int>(size);
  while (mnl_nlmsg_ok(nlh, len)) {
    if (!f(*nlh)) return true;
    nlh = mnl_nlmsg_next(nlh, &len);
  }
  // Fewer bytes than a header are padding; a header that does not fit is not.
  return len < static_cast<int>(NLMSG_HDRLEN);
}

}  // namespace

// ---------------------------------------------------------------------------
// NetlinkBatch

NetlinkBatch::NetlinkBatch(size_t capacity, size_t max_message)
    : capacity_(capacity),
      buffer_(NLMSG_ALIGN(capacity + std::max<size_t>(max_message, NLMSG_HDRLEN))) {
  // Enough entries for the smallest messages: Commit never reallocates.
  entries_.reserve(buffer_.size() / NLMSG_HDRLEN);
}

nlmsghdr* NetlinkBatch::Begin() {
  if (Full()) return nullptr;
  begun_ = true;
  char* at = buffer_.data() + bytes_;
  std::memset(at, 0, NLMSG_HDRLEN);
  return reinterpret_cast<nlmsghdr*>(at);
}

bool NetlinkBatch::Commit() {
  if (!begun_) return false;
  begun_ = false;
  auto* nlh = reinterpret_cast<nlmsghdr*>(buffer_.data() + bytes_);
  const size_t len = nlh->nlmsg_len;
  if (len < NLMSG_HDRLEN || len > Room()) return false;
  const size_t aligned = NLMSG_ALIGN(len);
  std::memset(buffer_.data() + bytes_ + len, 0, aligned - len);
  entries_.push_back(Entry{static_cast<uint32_t>(bytes_), 0, false});
  bytes_ += aligned;
  return true;
}

void NetlinkBatch::Clear() {
  entries_.clear();
  bytes_ = 0;
  begun_ = false;
}

const nlmsghdr& NetlinkBatch::Message(size_t index) const {
  return *reinterpret_cast<const nlmsghdr*>(buffer_.data() + entries_[index].offset);
}

nlmsghdr& NetlinkBatch::Message(size_t index) {
  return *reinterpret_cast<nlmsghdr*>(buffer_.data() + entries_[index].offset);
}

// ---------------------------------------------------------------------------
// NetlinkSocket

Result<NetlinkSocket> NetlinkSocket::Open(Protocol protocol) {
  SocketOptions options;
  options.protocol = protocol;
  return Open(options);
}

Result<NetlinkSocket> NetlinkSocket::Open(const SocketOptions& options) {
  mnl_socket* socket =
      mnl_socket_open2(static_cast<int>(options.protocol), SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (socket == nullptr) return SysFailure("netlink socket");
  NetlinkSocket result(socket, options.protocol);
  int on = 1;
  // Best effort: older kernels lack these; errors then carry only errno text.
  mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &on, sizeof(on));
  mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &on, sizeof(on));
  if (!options.report_overruns &&
      mnl_socket_setsockopt(socket, NETLINK_NO_ENOBUFS, &on, sizeof(on)) < 0) {
    return SysFailure("netlink NETLINK_NO_ENOBUFS");
  }
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) return SysFailure("netlink bind");
  for (unsigned group : options.groups) {
    auto joined = result.JoinGroup(group);
    if (!joined) return tl::unexpected(joined.error());
  }
  if (options.receive_buffer_bytes != 0) {
    auto sized = result.SetReceiveBuffer(options.receive_buffer_bytes);
    if (!sized) return tl::unexpected(sized.error());
  }
  result.timeout_ = options.receive_timeout;
  return result;
}

NetlinkSocket::NetlinkSocket(mnl_socket* socket, Protocol protocol)
    : socket_(socket), protocol_(protocol), buffer_(kReceiveBufferSize) {}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept
    : socket_(std::exchange(other.socket_, nullptr)),
      protocol_(other.protocol_),
      seq_(other.seq_),
      timeout_(other.timeout_),
      buffer_(std::move(other.buffer_)),
      counters_(other.counters_) {}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
  if (this != &other) {
    if (socket_ != nullptr) mnl_socket_close(socket_);
    socket_ = std::exchange(other.socket_, nullptr);
    protocol_ = other.protocol_;
    seq_ = other.seq_;
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
    counters_ = other.counters_;
  }
  return *this;
}

NetlinkSocket::~NetlinkSocket() {
  if (socket_ != nullptr) mnl_socket_close(socket_);
}

int NetlinkSocket::Fd() const { return mnl_socket_get_fd(socket_); }
uint32_t NetlinkSocket::PortId() const { return mnl_socket_get_portid(socket_); }

uint32_t NetlinkSocket::NextSeq(uint32_t count) {
  if (seq_ >= UINT32_MAX - count) seq_ = 0;  // wrap, skipping 0
  const uint32_t first = seq_ + 1;
  seq_ += count;
  return first;
}

Result<void> NetlinkSocket::JoinGroup(unsigned group) {
  if (mnl_socket_setsockopt(socket_, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
    return SysFailure("netlink join group " + std::to_string(group));
  }
  return {};
}

Result<void> NetlinkSocket::LeaveGroup(unsigned group) {
  if (mnl_socket_setsockopt(socket_, NETLINK_DROP_MEMBERSHIP, &group, sizeof(group)) < 0) {
    return SysFailure("netlink leave group " + std::to_string(group));
  }
  return {};
}

Result<void> NetlinkSocket::SetReceiveBuffer(int bytes) {
  if (bytes <= 0) return MakeError(ErrorCode::kInvalidArgument, "netlink receive buffer <= 0");
  const int fd = Fd();
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0) return {};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) == 0) return {};
  return SysFailure("netlink SO_RCVBUF");
}

Result<int> NetlinkSocket::ReceiveBuffer() const {
  int bytes = 0;
  socklen_t len = sizeof(bytes);
  if (getsockopt(Fd(), SOL_SOCKET, SO_RCVBUF, &bytes, &len) < 0) {
    return SysFailure("netlink SO_RCVBUF");
  }
  return bytes;
}

Result<size_t> NetlinkSocket::SendRaw(const void* data, size_t size, std::string_view what) {
  while (true) {
    const ssize_t n = mnl_socket_sendto(socket_, data, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return SysFailure(std::string(what) + ": netlink send");
  }
}

// -1 with errno: EAGAIN (nothing queued), ENOBUFS (overrun), EMSGSIZE
// (truncated, dropped) or a real failure. 0: a datagram not from the kernel,
// dropped. Otherwise the datagram's size in buffer_.
ssize_t NetlinkSocket::ReceiveNow() {
  while (true) {
    sockaddr_nl from{};
    iovec iov{buffer_.data(), buffer_.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = recvmsg(Fd(), &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) ++counters_.overruns;
      return -1;
    }
    if ((msg.msg_flags & MSG_TRUNC) != 0) {
      ++counters_.malformed;
      errno = EMSGSIZE;
      return -1;
    }
    // Only the kernel (port 0) may talk to us; anyone else is dropped.
    if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0) {
      ++counters_.foreign_datagrams;
      return 0;
    }
    return n;
  }
}

Result<size_t> NetlinkSocket::Receive(SteadyTime deadline, std::string_view what) {
  while (true) {
    const ssize_t n = ReceiveNow();
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0) continue;
    const int err = errno;
    if (err == EMSGSIZE) {
      return MakeError(ErrorCode::kIo,
                       std::string(what) + ": netlink reply larger than the receive buffer");
    }
    if (err != EAGAIN && err != EWOULDBLOCK) {
      return SysFailure(std::string(what) + ": netlink receive", err);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      ++counters_.timeouts;
      return tl::unexpected(Error{ErrorCode::kIo,
                                  std::string(what) + ": no netlink reply within " +
                                      std::to_string(timeout_.count()) + " ms",
                                  ETIMEDOUT});
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    pollfd pfd{Fd(), POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX))) < 0 &&
        errno != EINTR) {
      return SysFailure(std::string(what) + ": netlink poll");
    }
  }
}

Result<void> NetlinkSocket::Transact(nlmsghdr* request, MessageFn on_message,
                                     std::string_view what) {
  const uint32_t seq = NextSeq(1);
  const uint32_t portid = PortId();
  request->nlmsg_seq = seq;
  // A non-dump request ends with its ACK; without one a plain GET reply would
  // leave us waiting for more.
  if ((request->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) request->nlmsg_flags |= NLM_F_ACK;
  auto sent = SendRaw(request, request->nlmsg_len, what);
  if (!sent) return tl::unexpected(sent.error());

  auto deadline = std::chrono::steady_clock::now() + timeout_;
  bool interrupted = false;
  while (true) {
    auto received = Receive(deadline, what);
    if (!received) return tl::unexpected(received.error());
    bool answered = false;  // the datagram holds a message of ours
    std::optional<Result<void>> outcome;
    const bool well_formed = ForEachMessage(buffer_.data(), *received, [&](const nlmsghdr& msg) {
      if (msg.nlmsg_seq != seq || (msg.nlmsg_pid != 0 && msg.nlmsg_pid != portid)) {
        ++counters_.stale_replies;
        return true;
      }
      answered = true;
      if ((msg.nlmsg_flags & NLM_F_DUMP_INTR) != 0) interrupted = true;
      if (msg.nlmsg_type == NLMSG_ERROR || msg.nlmsg_type == NLMSG_DONE) {
        int err = 0;
        std::string_view ext_ack;
        if (msg.nlmsg_type == NLMSG_ERROR) {
          auto reply = ParseErrorReply(msg);
          if (!reply) {
            outcome = tl::unexpected(BadReply(what));
            return false;
          }
          err = reply->error;
          ext_ack = reply->ext_ack;
        } else {
          err = DoneError(msg);
        }
        if (err == 0 && interrupted) {
          outcome = tl::unexpected(
              Error{ErrorCode::kIo, std::string(what) + ": dump interrupted by a change, repeat it",
                    EINTR});
        } else if (err != 0) {
          outcome = tl::unexpected(KernelError(what, err, ext_ack));
        } else {
          outcome = Result<void>();
        }
        return false;
      }
      if (msg.nlmsg_type >= NLMSG_MIN_TYPE && on_message) on_message(msg);
      return true;
    });
    if (outcome) return *outcome;
    if (!well_formed) return tl::unexpected(BadReply(what));
    if (answered) deadline = std::chrono::steady_clock::now() + timeout_;
  }
}

Result<size_t> NetlinkSocket::SendBatch(NetlinkBatch& batch, AckMode ack,
                                        const BatchHandlers& handlers) {
  const size_t count = batch.Count();
  if (count == 0) return size_t{0};
  const uint32_t base = NextSeq(static_cast<uint32_t>(count));
  const uint32_t portid = PortId();
  size_t awaited = 0;
  for (size_t i = 0; i < count; ++i) {
    nlmsghdr& msg = batch.Message(i);
    msg.nlmsg_seq = base + static_cast<uint32_t>(i);
    if (ack == AckMode::kEach || (ack == AckMode::kLast && i + 1 == count)) {
      msg.nlmsg_flags |= NLM_F_ACK;
    } else if (ack == AckMode::kLast) {
      msg.nlmsg_flags &= ~NLM_F_ACK;
    }
    if ((msg.nlmsg_flags & NLM_F_ACK) != 0) ++awaited;
    batch.entries_[i].error = 0;
    batch.entries_[i].answered = false;
  }
  constexpr std::string_view kWhat = "netlink batch";
  auto sent = SendRaw(batch.buffer_.data(), batch.Bytes(), kWhat);
  if (!sent) return tl::unexpected(sent.error());

  size_t failed = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (awaited > 0) {
    auto received = Receive(deadline, kWhat);
    if (!received) return tl::unexpected(received.error());
    bool answered = false;
    bool malformed = false;
    const bool well_formed = ForEachMessage(buffer_.data(), *received, [&](const nlmsghdr& msg) {
      const uint32_t index = msg.nlmsg_seq - base;  // wraps for foreign sequence numbers
      if (index >= count || (msg.nlmsg_pid != 0 && msg.nlmsg_pid != portid)) {
        ++counters_.stale_replies;
        return true;
      }
      answered = true;
      if (msg.nlmsg_type == NLMSG_ERROR) {
        auto reply = ParseErrorReply(msg);
        if (!reply) {
          malformed = true;
          return false;
        }
        NetlinkBatch::Entry& entry = batch.entries_[index];
        if (entry.answered) return true;  // a second answer: nothing new
        entry.answered = true;
        entry.error = reply->error;
        if (reply->error != 0) {
          ++failed;
          if (handlers.on_error) handlers.on_error(index, reply->error, reply->ext_ack);
        }
        if ((batch.Message(index).nlmsg_flags & NLM_F_ACK) != 0) --awaited;
      } else if (msg.nlmsg_type >= NLMSG_MIN_TYPE && handlers.on_reply) {
        handlers.on_reply(index, msg);
      }
      return awaited > 0;
    });
    if (malformed || !well_formed) return tl::unexpected(BadReply(kWhat));
    if (answered) deadline = std::chrono::steady_clock::now() + timeout_;
  }
  return failed;
}

Result<EventRead> NetlinkSocket::ReadEvents(MessageFn on_message, size_t max_datagrams) {
  EventRead read;
  while (read.datagrams < max_datagrams) {
    const ssize_t n = ReceiveNow();
    if (n < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return read;
      if (err == ENOBUFS) {
        read.status = EventStatus::kOverrun;
        return read;
      }
      if (err != EMSGSIZE) return SysFailure("netlink events", err);
    }
    ++read.datagrams;
    if (n <= 0) continue;  // dropped and counted
    const bool well_formed =
        ForEachMessage(buffer_.data(), static_cast<size_t>(n), [&](const nlmsghdr& msg) {
          if (msg.nlmsg_type >= NLMSG_MIN_TYPE && on_message) {
            ++read.messages;
            on_message(msg);
          }
          return true;
        });
    if (!well_formed) ++counters_.malformed;
  }
  read.status = EventStatus::kMore;
  return read;
}

size_t NetlinkSocket::DiscardPending() {
  size_t dropped = 0;
  while (dropped < kMaxDiscard) {
    const ssize_t n = ReceiveNow();
    if (n < 0 && errno != ENOBUFS && errno != EMSGSIZE) break;  // EAGAIN: empty
    ++dropped;
  }
  return dropped;
}

}  // namespace hafw::netlink
