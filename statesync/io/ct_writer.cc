#include "statesync/io/ct_writer.h"

#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace hafw::statesync::io {

std::string_view CtOutcomeName(CtOutcome outcome) {
  switch (outcome) {
    case CtOutcome::kOk:
      return "ok";
    case CtOutcome::kExists:
      return "exists";
    case CtOutcome::kNotFound:
      return "not-found";
    case CtOutcome::kTableFull:
      return "table-full";
    case CtOutcome::kInvalid:
      return "invalid";
    case CtOutcome::kBusy:
      return "busy";
    case CtOutcome::kNotSupported:
      return "not-supported";
    case CtOutcome::kNoLabels:
      return "no-labels";
    case CtOutcome::kDenied:
      return "denied";
    case CtOutcome::kOther:
      return "other";
    case CtOutcome::kCount:
      break;
  }
  return "?";
}

CtOutcome CtOutcomeFromErrno(int sys_errno) {
  switch (sys_errno) {
    case 0:
      return CtOutcome::kOk;
    case EEXIST:
      return CtOutcome::kExists;
    case ENOENT:
      return CtOutcome::kNotFound;
    case ENOMEM:
      return CtOutcome::kTableFull;
    case EINVAL:
      return CtOutcome::kInvalid;
    case EBUSY:
      return CtOutcome::kBusy;
    case EOPNOTSUPP:
      return CtOutcome::kNotSupported;
    case ENOSPC:
      return CtOutcome::kNoLabels;
    case EPERM:
      return CtOutcome::kDenied;
    default:
      return CtOutcome::kOther;
  }
}

Result<CtWriter> CtWriter::Open(const CtWriterOptions& options) {
  netlink::SocketOptions socket_options;
  socket_options.protocol = netlink::Protocol::kNetfilter;
  socket_options.receive_timeout = options.receive_timeout;
  auto socket = netlink::NetlinkSocket::Open(socket_options);
  if (!socket) return tl::unexpected(socket.error());
  auto codec = CtCodec::Create();
  if (!codec) return tl::unexpected(codec.error());
  const size_t batch_size = std::clamp<size_t>(options.batch_size, 1, 256);
  return CtWriter(std::move(*socket), std::move(*codec), batch_size, options.ack_each);
}

CtWriter::CtWriter(netlink::NetlinkSocket socket, CtCodec codec, size_t batch_size, bool ack_each)
    : socket_(std::move(socket)),
      codec_(std::move(codec)),
      batch_(batch_size * kMaxCtMessageBytes, kMaxCtMessageBytes),
      batch_size_(batch_size),
      ack_each_(ack_each) {
  op_index_.reserve(batch_size);
}

template <typename Op, typename Build, typename Count>
Result<size_t> CtWriter::WriteAll(std::span<const Op> ops, std::span<CtWriteResult> results,
                                  Build build, Count count) {
  if (results.size() < ops.size()) {
    return MakeError(ErrorCode::kInternal, "ct writer: fewer results than ops");
  }
  size_t refused = 0;
  size_t next = 0;
  while (next < ops.size()) {
    batch_.Clear();
    op_index_.clear();
    // Fill one datagram; a record the codec cannot encode is answered here.
    while (next < ops.size() && batch_.Count() < batch_size_) {
      const size_t i = next++;
      results[i] = CtWriteResult{};
      nlmsghdr* nlh = batch_.Begin();
      if (nlh == nullptr) {
        --next;
        break;
      }
      const std::span<uint8_t> room(reinterpret_cast<uint8_t*>(nlh), batch_.Room());
      if (!build(ops[i], room) || !batch_.Commit()) {
        ++counters_.build_errors;
        results[i].outcome = CtOutcome::kInvalid;
        results[i].sys_errno = EINVAL;
        ++refused;
        continue;
      }
      op_index_.push_back(i);
    }
    if (batch_.Empty()) continue;

    auto on_reply = [&](size_t index, const nlmsghdr& reply) {
      CtWriteResult& result = results[op_index_[index]];
      if (codec_.ParseFlow(reply, result.current) == CtParseStatus::kOk) result.found = true;
    };
    auto on_error = [](size_t, int, std::string_view) {};
    ++counters_.datagrams;
    counters_.messages += batch_.Count();
    auto sent =
        socket_.SendBatch(batch_, ack_each_ ? netlink::AckMode::kEach : netlink::AckMode::kLast,
                          {on_reply, on_error});
    for (size_t m = 0; m < batch_.Count(); ++m) {
      CtWriteResult& result = results[op_index_[m]];
      // Without an ACK per message, silence after a complete exchange is success.
      const bool silent_ok = sent && !ack_each_ && !batch_.Answered(m);
      if (!sent || (!batch_.Answered(m) && !silent_ok)) {
        ++counters_.unanswered;
        result.outcome = CtOutcome::kOther;
        result.sys_errno = sent ? ETIMEDOUT : sent.error().sys_errno;
        ++refused;
        continue;
      }
      result.sys_errno = batch_.ErrorAt(m);
      result.outcome = CtOutcomeFromErrno(result.sys_errno);
      if (result.outcome != CtOutcome::kOk) ++refused;
      count(ops[op_index_[m]], result.outcome);
    }
    if (!sent) return tl::unexpected(sent.error());
  }
  return refused;
}

Result<size_t> CtWriter::WriteFlows(std::span<const CtFlowOp> ops,
                                    std::span<CtWriteResult> results) {
  return WriteAll(
      ops, results,
      [this](const CtFlowOp& op, std::span<uint8_t> room) {
        if (op.flow == nullptr) return false;
        return codec_.BuildFlow(op.write, *op.flow, op.labels, 0, room).has_value();
      },
      [this](const CtFlowOp& op, CtOutcome outcome) {
        ++counters_.flows[static_cast<size_t>(op.write)][static_cast<size_t>(outcome)];
      });
}

Result<size_t> CtWriter::WriteExpectations(std::span<const CtExpectOp> ops,
                                           std::span<CtWriteResult> results) {
  return WriteAll(
      ops, results,
      [this](const CtExpectOp& op, std::span<uint8_t> room) {
        if (op.expect == nullptr) return false;
        return codec_.BuildExpect(op.write, *op.expect, 0, room).has_value();
      },
      [this](const CtExpectOp& op, CtOutcome outcome) {
        ++counters_.expectations[static_cast<size_t>(op.write)][static_cast<size_t>(outcome)];
      });
}

Result<uint64_t> CtWriter::TableCount() {
  uint8_t request[64] = {};
  BuildFlowStatsRequest(0, request);
  int64_t entries = -1;
  auto done = socket_.Transact(
      reinterpret_cast<nlmsghdr*>(request),
      [&](const nlmsghdr& msg) { entries = ParseFlowStatsEntries(msg); }, "conntrack stats");
  if (!done) return tl::unexpected(done.error());
  if (entries < 0) return MakeError(ErrorCode::kProtocol, "conntrack stats: no entry count");
  return static_cast<uint64_t>(entries);
}

}  // namespace hafw::statesync::io
