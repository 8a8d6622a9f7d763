#pragma once

// hafw_netlink: the one netlink client of hafw, on libmnl, shared by the
// adapters (carp/io rtnetlink, statesync/io ctnetlink, firewall/nft nftables
// batches). Callers build their messages with libmnl in their own .cc files on
// buffers they own (or a NetlinkBatch); libmnl types never appear here.
//
// Every socket is non-blocking. A request waits for its replies with poll()
// and a deadline (ReceiveTimeout(), default 2 s, restarted by every datagram
// that answers it): a kernel that never answers gives an Error with sys_errno
// ETIMEDOUT, never a hang. Errors carry the errno in Error::sys_errno.
//
// Use one socket for requests and another for events: a socket that joined
// multicast groups gets events interleaved with replies (they are skipped by
// sequence number, but its overruns then fail requests too).

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/function_ref.h"
#include "common/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace hafw::netlink {

// Netlink families hafw speaks (the values of NETLINK_ROUTE / NETLINK_NETFILTER).
enum class Protocol : int { kRoute = 0, kNetfilter = 12 };

inline constexpr std::chrono::milliseconds kDefaultReceiveTimeout{2000};
// Receive buffer of a socket: the kernel sizes dump datagrams to what we
// read, up to 32 KiB.
inline constexpr size_t kReceiveBufferSize = 32768;
// Room for one request that a caller builds on its own buffer.
inline constexpr size_t kRequestBufferSize = 8192;

struct SocketOptions {
  Protocol protocol = Protocol::kRoute;
  // Multicast groups to join, as group numbers (RTNLGRP_*, NFNLGRP_*), not
  // the legacy bit masks; numbers above 31 work too.
  std::vector<unsigned> groups;
  std::chrono::milliseconds receive_timeout = kDefaultReceiveTimeout;
  // SO_RCVBUFFORCE when allowed, else SO_RCVBUF; 0 keeps the system default.
  int receive_buffer_bytes = 0;
  // false sets NETLINK_NO_ENOBUFS: lost events are not reported (only for
  // consumers that can live with silent gaps; hafw's monitors cannot).
  bool report_overruns = true;
};

// Socket-level drops and events; everything else is an Error.
struct SocketCounters {
  uint64_t overruns = 0;           // ENOBUFS: the kernel dropped messages for us
  uint64_t foreign_datagrams = 0;  // not sent by the kernel: dropped
  uint64_t stale_replies = 0;      // answers to an earlier, timed-out request: skipped
  uint64_t malformed = 0;          // truncated datagrams, bad message lengths
  uint64_t timeouts = 0;           // requests the kernel did not answer in time
};

// Why ReadEvents stopped.
enum class EventStatus : uint8_t {
  kDrained,  // nothing more queued (EAGAIN): wait until the fd is readable
  kMore,     // max_datagrams read and more may be queued: call again later
  kOverrun,  // ENOBUFS: events were lost. DiscardPending(), then re-dump
};

struct EventRead {
  EventStatus status = EventStatus::kDrained;
  size_t datagrams = 0;
  size_t messages = 0;  // handed to the callback
};

// How SendBatch sets NLM_F_ACK.
enum class AckMode : uint8_t {
  kLast,     // on the last message only (the fast way): earlier successes are silent
  kEach,     // on every message: each one gets its own answer
  kAsBuilt,  // as the caller set it; waits for every message that asked for an ACK
};

// Several requests sent in one datagram (NetlinkSocket::SendBatch). One buffer
// allocated at construction and reused: steady-state batching allocates
// nothing. Build a message with Begin() + libmnl + Commit():
//   nlmsghdr* nlh = batch.Begin();              // null when Full(): send first
//   nlh = mnl_nlmsg_put_header(nlh); ...        // at most batch.Room() bytes
//   batch.Commit();
class NetlinkBatch {
 public:
  // `capacity`: bytes of messages per send; one more message of up to
  // `max_message` bytes always fits behind them.
  explicit NetlinkBatch(size_t capacity = kReceiveBufferSize,
                        size_t max_message = kRequestBufferSize);

  // The (zeroed) header of the next message, or nullptr when Full().
  nlmsghdr* Begin();
  // Bytes the message begun last may use, its header included.
  size_t Room() const { return buffer_.size() - bytes_; }
  // Adds the message begun last. False, and nothing added, when no message was
  // begun or its nlmsg_len is shorter than a header or beyond Room().
  bool Commit();
  // Forgets every message and outcome; keeps the memory.
  void Clear();

  size_t Count() const { return entries_.size(); }
  size_t Bytes() const { return bytes_; }
  bool Empty() const { return entries_.empty(); }
  bool Full() const { return bytes_ >= capacity_; }
  const nlmsghdr& Message(size_t index) const;
  nlmsghdr& Message(size_t index);

  // After SendBatch: 0 for success (or no answer, see Answered), else the
  // positive errno the kernel gave this message.
  int ErrorAt(size_t index) const { return entries_[index].error; }
  // Whether the kernel answered this message (an ACK or an error).
  bool Answered(size_t index) const { return entries_[index].answered; }

 private:
  friend class NetlinkSocket;
  struct Entry {
    uint32_t offset = 0;
    int error = 0;
    bool answered = false;
  };

  size_t capacity_;
  std::vector<char> buffer_;
  std::vector<Entry> entries_;
  size_t bytes_ = 0;
  bool begun_ = false;
};

class NetlinkSocket {
 public:
  // Opens a socket of `protocol` (or per `options`) in the network namespace
  // of the calling thread.
  static Result<NetlinkSocket> Open(Protocol protocol = Protocol::kRoute);
  static Result<NetlinkSocket> Open(const SocketOptions& options);

  NetlinkSocket(NetlinkSocket&&) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&&) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  ~NetlinkSocket();

  // Called for every data message of a reply (dumps produce many).
  using MessageFn = FunctionRef<void(const nlmsghdr& msg)>;

  // Sends `request` (nlmsg_seq is set here; a non-dump request also gets
  // NLM_F_ACK) and hands every reply message to `on_message` until the ACK,
  // NLMSG_DONE or an error. A kernel error becomes kIo with the errno text,
  // the kernel's extended-ack message when there is one, and sys_errno. A dump
  // that a concurrent change made inconsistent (NLM_F_DUMP_INTR) fails with
  // EINTR after all its messages were handed over: repeat it.
  Result<void> Transact(nlmsghdr* request, MessageFn on_message, std::string_view what);

  // Replies to batched requests: data messages (a GET in the batch) with the
  // index of the message they answer, and each failed message with its errno
  // and extended-ack text ("" without one; valid only during the call).
  struct BatchHandlers {
    FunctionRef<void(size_t index, const nlmsghdr& reply)> on_reply;
    FunctionRef<void(size_t index, int sys_errno, std::string_view ext_ack)> on_error;
  };
  // Sends every message of `batch` in one datagram (sequence numbers set
  // here, NLM_F_ACK per `ack`), then reads until every message that asked for
  // an ACK is answered. The kernel processes the messages in order and goes on
  // after a failure; each outcome lands in batch.ErrorAt(i). The Result fails
  // only for the exchange itself (send, receive, timeout); its value is the
  // number of failed messages. Not for dumps.
  Result<size_t> SendBatch(NetlinkBatch& batch, AckMode ack, const BatchHandlers& handlers);
  Result<size_t> SendBatch(NetlinkBatch& batch, AckMode ack) { return SendBatch(batch, ack, {}); }

  // Multicast membership (NETLINK_ADD_MEMBERSHIP / NETLINK_DROP_MEMBERSHIP).
  Result<void> JoinGroup(unsigned group);
  Result<void> LeaveGroup(unsigned group);

  // For an event loop: reads at most `max_datagrams` queued datagrams without
  // blocking and hands each data message to `on_message`. ENOBUFS is the
  // distinct kOverrun status, not an Error.
  Result<EventRead> ReadEvents(MessageFn on_message, size_t max_datagrams = 64);
  // Drops everything queued (after an overrun, before the re-dump: those
  // events are older than the dump). Returns how many datagrams it dropped.
  size_t DiscardPending();

  // SO_RCVBUFFORCE when privileged, else SO_RCVBUF (capped by rmem_max).
  Result<void> SetReceiveBuffer(int bytes);
  // What the kernel uses (it doubles the request for its bookkeeping).
  Result<int> ReceiveBuffer() const;
  void SetReceiveTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  std::chrono::milliseconds ReceiveTimeout() const { return timeout_; }

  int Fd() const;
  uint32_t PortId() const;
  Protocol GetProtocol() const { return protocol_; }
  const SocketCounters& Counters() const { return counters_; }

 private:
  NetlinkSocket(mnl_socket* socket, Protocol protocol);
  // Next request sequence number; never 0 (events carry 0).
  uint32_t NextSeq(uint32_t count);
  // One datagram from the kernel into buffer_ without waiting (see the .cc).
  ssize_t ReceiveNow();
  // One datagram from the kernel into buffer_, waiting until `deadline`.
  Result<size_t> Receive(std::chrono::steady_clock::time_point deadline, std::string_view what);
  Result<size_t> SendRaw(const void* data, size_t size, std::string_view what);

  mnl_socket* socket_ = nullptr;
  Protocol protocol_ = Protocol::kRoute;
  uint32_t seq_ = 0;
  std::chrono::milliseconds timeout_ = kDefaultReceiveTimeout;
  std::vector<char> buffer_;  // replies and events, reused
  SocketCounters counters_;
};

}  // namespace hafw::netlink
