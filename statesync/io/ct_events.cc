#include "statesync/io/ct_events.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <string>

#include <boost/asio/post.hpp>
#include <utility>

namespace hafw::statesync::io {

Result<void> EnableConntrackEvents() {
  // /proc/sys/net resolves to the namespace of the thread that opens it.
  const char* path = "/proc/sys/net/netfilter/nf_conntrack_events";
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return SysFailure(std::string("open ") + path);
  const ssize_t n = write(fd, "1\n", 2);
  const int err = errno;
  close(fd);
  if (n != 2) return SysFailure(std::string("write ") + path, n < 0 ? err : EIO);
  return {};
}

Result<std::unique_ptr<CtEventSource>> CtEventSource::Open(boost::asio::io_context& io,
                                                           const CtEventOptions& options,
                                                           CtEventHandlers handlers) {
  netlink::SocketOptions socket_options;
  socket_options.protocol = netlink::Protocol::kNetfilter;
  socket_options.groups = {NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_UPDATE,
                           NFNLGRP_CONNTRACK_DESTROY};
  if (options.expectations) {
    socket_options.groups.push_back(NFNLGRP_CONNTRACK_EXP_NEW);
    socket_options.groups.push_back(NFNLGRP_CONNTRACK_EXP_DESTROY);
  }
  socket_options.receive_buffer_bytes = options.receive_buffer_bytes;
  socket_options.report_overruns = true;  // NETLINK_NO_ENOBUFS off: we want to know
  auto socket = netlink::NetlinkSocket::Open(socket_options);
  if (!socket) return tl::unexpected(socket.error());
  auto codec = CtCodec::Create();
  if (!codec) return tl::unexpected(codec.error());
  return std::unique_ptr<CtEventSource>(
      new CtEventSource(io, std::move(*socket), std::move(*codec), options, std::move(handlers)));
}

CtEventSource::CtEventSource(boost::asio::io_context& io, netlink::NetlinkSocket socket,
                             CtCodec codec, const CtEventOptions& options, CtEventHandlers handlers)
    : io_(io),
      socket_(std::move(socket)),
      descriptor_(io, socket_.Fd()),
      codec_(std::move(codec)),
      options_(options),
      handlers_(std::move(handlers)) {}

CtEventSource::~CtEventSource() {
  *alive_ = false;
  Stop();
  descriptor_.release();  // the NetlinkSocket owns the fd
}

Result<void> CtEventSource::SetEchoPortId(uint32_t port_id) {
  echo_port_id_ = port_id;
  if (port_id == 0) {
    int unused = 0;
    if (setsockopt(socket_.Fd(), SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) < 0 &&
        errno != ENOENT) {
      return SysFailure("SO_DETACH_FILTER");
    }
    return {};
  }
  // Accept everything but messages whose nlmsg_pid is the writer's. Events
  // come one message per skb, the header at offset 0; BPF loads big-endian.
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(nlmsghdr, nlmsg_pid)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(port_id), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),
  };
  sock_fprog program{static_cast<uint16_t>(sizeof(code) / sizeof(code[0])), code};
  if (setsockopt(socket_.Fd(), SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) < 0) {
    return SysFailure("SO_ATTACH_FILTER (echo filter)");
  }
  return {};
}

void CtEventSource::Start() {
  if (running_) return;
  running_ = true;
  Arm();
}

void CtEventSource::Stop() {
  running_ = false;
  boost::system::error_code ignored;
  descriptor_.cancel(ignored);
}

void CtEventSource::Arm() {
  descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [this, alive = alive_](const boost::system::error_code& error) {
                           if (!*alive || error || !running_) return;
                           OnReadable();
                         });
}

void CtEventSource::OnReadable() {
  auto status = ReadSlice();
  if (!running_) return;
  if (status && *status == netlink::EventStatus::kMore) {
    // Yield to the loop's other handlers (CARP timers), then go on.
    boost::asio::post(io_, [this, alive = alive_] {
      if (*alive && running_) OnReadable();
    });
    return;
  }
  Arm();
}

Result<netlink::EventStatus> CtEventSource::ReadSlice() {
  ++counters_.slices;
  auto read = socket_.ReadEvents([this](const nlmsghdr& msg) { OnMessage(msg); },
                                 options_.max_datagrams_per_slice);
  FlushFlows();
  FlushExpectations();
  if (!read) return tl::unexpected(read.error());
  counters_.datagrams += read->datagrams;
  if (read->status == netlink::EventStatus::kOverrun) {
    ++counters_.overruns;
    // What is still queued is older than the repair (a dump) that follows.
    socket_.DiscardPending();
    if (handlers_.on_overrun) handlers_.on_overrun();
  }
  return read->status;
}

void CtEventSource::OnMessage(const nlmsghdr& msg) {
  const CtMessageKind kind = ClassifyCtMessage(msg);
  if (kind == CtMessageKind::kOther) {
    ++counters_.other;
    return;
  }
  // Echo filter before parsing: our own writes cost no decoding.
  if (echo_port_id_ != 0 && msg.nlmsg_pid == echo_port_id_) {
    ++counters_.echoes;
    return;
  }
  if (kind == CtMessageKind::kExpectNew || kind == CtMessageKind::kExpectDestroy) {
    ExpectEntry& entry = expectations_[expect_count_];
    const CtParseStatus status = codec_.ParseExpect(msg, entry.expect);
    if (status != CtParseStatus::kOk) {
      ++counters_.parse_errors[static_cast<size_t>(status)];
      return;
    }
    entry.destroyed = kind == CtMessageKind::kExpectDestroy;
    ++(entry.destroyed ? counters_.expect_destroy : counters_.expect_new);
    if (++expect_count_ == expectations_.size()) FlushExpectations();
    return;
  }
  FlowEntry& entry = flows_[flow_count_];
  const CtParseStatus status = codec_.ParseFlow(msg, entry.flow);
  if (status != CtParseStatus::kOk) {
    ++counters_.parse_errors[static_cast<size_t>(status)];
    return;
  }
  entry.owner = 0;
  switch (kind) {
    case CtMessageKind::kFlowNew:
      entry.event = FlowEvent::kNew;
      ++counters_.flow_new;
      break;
    case CtMessageKind::kFlowUpdate:
      entry.event = FlowEvent::kUpdate;
      ++counters_.flow_update;
      break;
    default:
      entry.event = FlowEvent::kDestroy;
      ++counters_.flow_destroy;
      break;
  }
  if (++flow_count_ == flows_.size()) FlushFlows();
}

void CtEventSource::FlushFlows() {
  if (flow_count_ == 0) return;
  const size_t count = flow_count_;
  flow_count_ = 0;
  if (handlers_.on_flows) handlers_.on_flows(std::span<const FlowEntry>(flows_.data(), count));
}

void CtEventSource::FlushExpectations() {
  if (expect_count_ == 0) return;
  const size_t count = expect_count_;
  expect_count_ = 0;
  if (handlers_.on_expectations) {
    handlers_.on_expectations(std::span<const ExpectEntry>(expectations_.data(), count));
  }
}

}  // namespace hafw::statesync::io
