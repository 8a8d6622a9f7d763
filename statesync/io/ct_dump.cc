#include "statesync/io/ct_dump.h"

#include <linux/netlink.h>

#include <utility>

namespace hafw::statesync::io {

Result<CtDumpReader> CtDumpReader::Open(std::chrono::milliseconds receive_timeout) {
  netlink::SocketOptions options;
  options.protocol = netlink::Protocol::kNetfilter;
  options.receive_timeout = receive_timeout;
  auto socket = netlink::NetlinkSocket::Open(options);
  if (!socket) return tl::unexpected(socket.error());
  auto codec = CtCodec::Create();
  if (!codec) return tl::unexpected(codec.error());
  return CtDumpReader(std::move(*socket), std::move(*codec));
}

CtDumpReader::CtDumpReader(netlink::NetlinkSocket socket, CtCodec codec)
    : socket_(std::move(socket)), codec_(std::move(codec)) {}

Result<void> CtDumpReader::Start(CtTable table) {
  if (active_) ++counters_.abandoned;
  while (active_) {  // read an unfinished dump to its end first, discarding it
    if (!Next(nullptr, nullptr, 64)) break;  // an error ended it
  }
  uint8_t request[64] = {};
  if (table == CtTable::kFlows) {
    BuildFlowDumpRequest(0, request);
  } else {
    BuildExpectDumpRequest(0, request);
  }
  table_ = table;
  count_ = 0;
  active_ = false;
  auto started = socket_.StartDump(reinterpret_cast<nlmsghdr*>(request),
                                   table == CtTable::kFlows ? "conntrack dump" : "expect dump");
  if (!started) return started;
  active_ = true;
  ++counters_.dumps;
  return {};
}

void CtDumpReader::Flush(FlowsFn on_flows, ExpectationsFn on_expectations) {
  if (count_ == 0) return;
  if (table_ == CtTable::kFlows) {
    if (on_flows) {
      counters_.flows += count_;
      on_flows(std::span<const FlowRecord>(flows_.data(), count_));
    }
  } else if (on_expectations) {
    counters_.expectations += count_;
    on_expectations(std::span<const ExpectRecord>(expectations_.data(), count_));
  }
  count_ = 0;
}

Result<CtDumpSlice> CtDumpReader::Next(FlowsFn on_flows, ExpectationsFn on_expectations,
                                       size_t max_datagrams) {
  CtDumpSlice slice;
  if (!active_) {
    slice.done = true;
    return slice;
  }
  auto step = socket_.ContinueDump(
      [&](const nlmsghdr& msg) {
        const CtParseStatus status = table_ == CtTable::kFlows
                                         ? codec_.ParseFlow(msg, flows_[count_])
                                         : codec_.ParseExpect(msg, expectations_[count_]);
        if (status != CtParseStatus::kOk) {
          ++counters_.parse_errors;
          return;
        }
        ++slice.records;
        if (++count_ == kBuffer) Flush(on_flows, on_expectations);
      },
      max_datagrams, "conntrack dump");
  Flush(on_flows, on_expectations);
  if (!step) {
    active_ = false;
    return tl::unexpected(step.error());
  }
  if (step->done) {
    active_ = false;
    slice.done = true;
    ++counters_.completed;
  }
  return slice;
}

}  // namespace hafw::statesync::io
