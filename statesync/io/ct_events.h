#pragma once

// Conntrack event capture (statesync-design.md §5): one NETLINK_NETFILTER
// socket in the groups NEW/UPDATE/DESTROY and EXP_NEW/EXP_DESTROY with a large
// receive buffer, read without blocking from the Asio loop in slices (at most
// `max_datagrams_per_slice` per handler run, then the rest is posted), so CARP
// timers stay on time. Events whose nlmsg_pid is the writer's port id are our
// own writes (echoes) and are skipped before they are parsed. ENOBUFS (events
// lost) is reported through its own callback and counted, never ignored.
//
// Records go out through the callbacks as spans over buffers owned here and
// reused: nothing is allocated per event.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "common/result.h"
#include "netlink/netlink_socket.h"
#include "statesync/core/messages.h"
#include "statesync/io/ct_codec.h"

namespace hafw::statesync::io {

struct CtEventCounters {
  uint64_t datagrams = 0;
  uint64_t flow_new = 0;
  uint64_t flow_update = 0;
  uint64_t flow_destroy = 0;
  uint64_t expect_new = 0;
  uint64_t expect_destroy = 0;
  uint64_t echoes = 0;    // our own writes that reached userspace, skipped
  uint64_t overruns = 0;  // ENOBUFS: events lost, the owner must repair (push bulk)
  uint64_t slices = 0;    // handler runs
  uint64_t other = 0;     // messages of other types
  std::array<uint64_t, 6> parse_errors{};  // by CtParseStatus
};

struct CtEventOptions {
  int receive_buffer_bytes = 16 << 20;  // SO_RCVBUFFORCE (§5 default 16 MiB)
  size_t max_datagrams_per_slice = 32;
  bool expectations = true;
};

// Called with the records of one slice, in capture order per kind (flows and
// expectations are independent streams in the kernel too).
struct CtEventHandlers {
  std::function<void(std::span<const FlowEntry>)> on_flows;
  std::function<void(std::span<const ExpectEntry>)> on_expectations;
  // Events were lost (ENOBUFS). The socket's backlog was discarded first.
  std::function<void()> on_overrun;
};

// Sets net.netfilter.nf_conntrack_events to 1 in the calling thread's
// namespace. With the default 2 an entry created while no listener existed
// never produces events, not even its DESTROY (docs/statesync-kernel.md).
Result<void> EnableConntrackEvents();

class CtEventSource {
 public:
  // Opens the event socket in the calling thread's namespace.
  static Result<std::unique_ptr<CtEventSource>> Open(boost::asio::io_context& io,
                                                     const CtEventOptions& options,
                                                     CtEventHandlers handlers);
  ~CtEventSource();
  CtEventSource(const CtEventSource&) = delete;
  CtEventSource& operator=(const CtEventSource&) = delete;

  // Events with this nlmsg_pid are echoes of our writes (0: no filter). They
  // are dropped in the kernel by a classic BPF filter on the socket, so a
  // bulk of our own writes is never even queued for us (measured: 250k echoes
  // cost the reader 1.1 CPU-s without it, nothing with it), and in userspace
  // as well should the filter be refused. The Result says whether the kernel
  // filter is in place.
  Result<void> SetEchoPortId(uint32_t port_id);
  // Starts reading on the loop; Stop() cancels (also done by the destructor).
  void Start();
  void Stop();

  // One slice without the loop (tests, or a caller with its own poll): reads
  // what is queued, up to the slice limit, and delivers it. kMore: call again.
  Result<netlink::EventStatus> ReadSlice();

  const CtEventCounters& Counters() const { return counters_; }
  // The receive buffer the kernel granted (twice the request, in bytes).
  Result<int> ReceiveBuffer() const { return socket_.ReceiveBuffer(); }
  uint32_t PortId() const { return socket_.PortId(); }

 private:
  CtEventSource(boost::asio::io_context& io, netlink::NetlinkSocket socket, CtCodec codec,
                const CtEventOptions& options, CtEventHandlers handlers);
  void Arm();
  void OnReadable();
  void OnMessage(const nlmsghdr& msg);
  void FlushFlows();
  void FlushExpectations();

  static constexpr size_t kFlowBuffer = 256;
  static constexpr size_t kExpectBuffer = 32;

  boost::asio::io_context& io_;
  netlink::NetlinkSocket socket_;
  boost::asio::posix::stream_descriptor descriptor_;
  CtCodec codec_;
  CtEventOptions options_;
  CtEventHandlers handlers_;
  uint32_t echo_port_id_ = 0;
  bool running_ = false;
  std::array<FlowEntry, kFlowBuffer> flows_{};
  size_t flow_count_ = 0;
  std::array<ExpectEntry, kExpectBuffer> expectations_{};
  size_t expect_count_ = 0;
  CtEventCounters counters_;
  // Outstanding handlers hold this: a handler that runs after destruction sees
  // the flag cleared and does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hafw::statesync::io
