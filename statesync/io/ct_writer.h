#pragma once

// The batched ctnetlink writer (statesync-design.md §8): creates, updates,
// labels-only updates, deletes and GETs of conntrack entries, and creates and
// deletes of expectations, packed 16-64 per datagram with an ACK requested on
// every message, so each kernel error maps back to its record. The caller runs
// the core's decision on the outcomes (EEXIST -> update, merge mode = GETs
// first); nothing is retried here. A netlink send is synchronous but short:
// one call writes at most the ops it was given, in datagrams of `batch_size`.
//
// Allocation-free after Open: the batch buffer, the codec objects and the
// per-message bookkeeping are reused.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "netlink/netlink_socket.h"
#include "statesync/core/flow.h"
#include "statesync/io/ct_codec.h"

namespace hafw::statesync::io {

// A write's outcome, from the errno the kernel gave its message.
enum class CtOutcome : uint8_t {
  kOk,
  kExists,        // EEXIST: create of an entry that is there (the caller updates)
  kNotFound,      // ENOENT: update/delete/get of an entry that is gone; expectation without master
  kTableFull,     // ENOMEM: nf_conntrack_max reached (not retried, §8 "Full table")
  kInvalid,       // EINVAL: the kernel rejected the attributes
  kBusy,          // EBUSY: a status bit that cannot change (SEEN_REPLY/ASSURED cleared, ...)
  kNotSupported,  // EOPNOTSUPP: NAT/helper on update, expectation whose master has no helper
  kNoLabels,      // ENOSPC: the entry has no labels extension (created before labels were used)
  kDenied,        // EPERM: e.g. a timeout update of a fixed-timeout entry
  kOther,         // anything else (sys_errno has it)
  kCount,
};
std::string_view CtOutcomeName(CtOutcome outcome);
CtOutcome CtOutcomeFromErrno(int sys_errno);

inline constexpr size_t kCtWriteKinds = 5;   // CtWrite values
inline constexpr size_t kExpWriteKinds = 2;  // ExpWrite values
inline constexpr size_t kCtOutcomes = static_cast<size_t>(CtOutcome::kCount);

struct CtWriterCounters {
  // outcomes[write][outcome]: every message the kernel answered.
  std::array<std::array<uint64_t, kCtOutcomes>, kCtWriteKinds> flows{};
  std::array<std::array<uint64_t, kCtOutcomes>, kExpWriteKinds> expectations{};
  uint64_t datagrams = 0;
  uint64_t messages = 0;
  uint64_t build_errors = 0;  // records the codec could not encode (not sent)
  uint64_t unanswered = 0;    // messages without an answer (exchange failed)
  uint64_t Count(CtWrite write, CtOutcome outcome) const {
    return flows[static_cast<size_t>(write)][static_cast<size_t>(outcome)];
  }
};

// One conntrack write. `labels` is required for kLabelsOnly, optional otherwise.
struct CtFlowOp {
  CtWrite write = CtWrite::kCreate;
  const FlowRecord* flow = nullptr;
  const LabelWrite* labels = nullptr;
};

struct CtExpectOp {
  ExpWrite write = ExpWrite::kCreate;
  const ExpectRecord* expect = nullptr;
};

struct CtWriteResult {
  CtOutcome outcome = CtOutcome::kOk;
  int sys_errno = 0;
  // kGet that found the entry: the kernel's current view of it.
  bool found = false;
  FlowRecord current;
};

struct CtWriterOptions {
  size_t batch_size =
      64;  // messages per datagram (16-64 is the fast range, docs/statesync-kernel.md)
  std::chrono::milliseconds receive_timeout{2000};
  // false: an ACK on the last message of a datagram only (the load
  // generator's fast mode); a failure is still reported for its own message,
  // an unanswered message counts as done. The sync writer keeps true.
  bool ack_each = true;
};

class CtWriter {
 public:
  // A NETLINK_NETFILTER request socket in the calling thread's namespace.
  static Result<CtWriter> Open(const CtWriterOptions& options = {});

  CtWriter(CtWriter&&) noexcept = default;
  CtWriter& operator=(CtWriter&&) noexcept = default;
  CtWriter(const CtWriter&) = delete;
  CtWriter& operator=(const CtWriter&) = delete;
  ~CtWriter() = default;

  // Writes every op (results.size() >= ops.size()) in datagrams of
  // batch_size messages; results[i] is ops[i]'s outcome. Fails only when the
  // exchange itself fails (then the unanswered results say kOther with
  // sys_errno ETIMEDOUT or the socket's errno). Returns the number of ops the
  // kernel refused.
  Result<size_t> WriteFlows(std::span<const CtFlowOp> ops, std::span<CtWriteResult> results);
  Result<size_t> WriteExpectations(std::span<const CtExpectOp> ops,
                                   std::span<CtWriteResult> results);

  // The socket's netlink port id: conntrack events caused by these writes
  // carry it as nlmsg_pid (the capture's echo filter).
  uint32_t PortId() const { return socket_.PortId(); }
  // Entries in the table (IPCTNL_MSG_CT_GET_STATS), for the full-table report.
  Result<uint64_t> TableCount();
  const CtWriterCounters& Counters() const { return counters_; }
  size_t BatchSize() const { return batch_size_; }

 private:
  CtWriter(netlink::NetlinkSocket socket, CtCodec codec, size_t batch_size, bool ack_each);
  template <typename Op, typename Build, typename Count>
  Result<size_t> WriteAll(std::span<const Op> ops, std::span<CtWriteResult> results, Build build,
                          Count count);

  netlink::NetlinkSocket socket_;
  CtCodec codec_;
  netlink::NetlinkBatch batch_;
  size_t batch_size_;
  bool ack_each_;
  std::vector<size_t> op_index_;  // batch message i -> index into ops, reused
  CtWriterCounters counters_;
};

}  // namespace hafw::statesync::io
