#pragma once

// An incremental dump of the conntrack table or of the expectations
// (statesync-design.md §7 bulk, §8 sweep, §9 refresh): the caller pulls one
// slice at a time (a bulk sender only as fast as its peer's socket drains, a
// refresh round a slice per loop turn). The kernel produces the next part of a
// netlink dump only when the previous one was read, so an unread dump costs
// one datagram of memory. Records go out as spans over a reused buffer.
//
// One dump at a time per reader (the kernel refuses a second dump on a socket
// with EBUSY): Start() during a dump first reads the old one to its end,
// discarding it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/function_ref.h"
#include "common/result.h"
#include "netlink/netlink_socket.h"
#include "statesync/core/flow.h"
#include "statesync/io/ct_codec.h"

namespace hafw::statesync::io {

enum class CtTable : uint8_t { kFlows, kExpectations };

struct CtDumpCounters {
  uint64_t dumps = 0;      // started
  uint64_t completed = 0;  // reached NLMSG_DONE
  uint64_t abandoned = 0;  // restarted before the end (the rest was read and dropped)
  uint64_t flows = 0;      // records handed over
  uint64_t expectations = 0;
  uint64_t parse_errors = 0;  // entries the codec rejected (skipped)
};

struct CtDumpSlice {
  size_t records = 0;
  bool done = false;  // the dump is complete; Start() for another
};

class CtDumpReader {
 public:
  // A NETLINK_NETFILTER request socket of its own (never the writer's: a dump
  // in progress must not delay writes) in the calling thread's namespace.
  static Result<CtDumpReader> Open(
      std::chrono::milliseconds receive_timeout = std::chrono::seconds(2));

  Result<void> Start(CtTable table);
  bool Active() const { return active_; }

  using FlowsFn = FunctionRef<void(std::span<const FlowRecord>)>;
  using ExpectationsFn = FunctionRef<void(std::span<const ExpectRecord>)>;
  // Reads at most `max_datagrams` reply datagrams (about 100 entries each),
  // waiting up to the receive timeout for the first, and hands the records
  // over (possibly in several calls of the callback).
  Result<CtDumpSlice> Next(FlowsFn on_flows, ExpectationsFn on_expectations,
                           size_t max_datagrams = 1);

  const CtDumpCounters& Counters() const { return counters_; }

 private:
  CtDumpReader(netlink::NetlinkSocket socket, CtCodec codec);
  void Flush(FlowsFn on_flows, ExpectationsFn on_expectations);

  static constexpr size_t kBuffer = 256;
  netlink::NetlinkSocket socket_;
  CtCodec codec_;
  CtTable table_ = CtTable::kFlows;
  bool active_ = false;
  std::array<FlowRecord, kBuffer> flows_{};
  std::array<ExpectRecord, kBuffer> expectations_{};
  size_t count_ = 0;
  CtDumpCounters counters_;
};

}  // namespace hafw::statesync::io
