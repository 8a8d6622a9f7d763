// ct_reinstall: simulates a takeover on one firewall for the TCP window facts
// of docs/statesync-kernel.md. Every conntrack entry whose original
// destination port is --port is dumped, deleted and created again from the
// dumped record through the sync codec and writer (what a peer's writer
// does), optionally with its window scaling altered. Run it inside the
// firewall's namespace while the connection is idle (tcp_window_facts.sh).
//
//   ct_reinstall --port 5001 [--mode asis|nowscale|wscale=N]

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "statesync/io/ct_dump.h"
#include "statesync/io/ct_writer.h"

using namespace hafw::statesync;      // NOLINT(google-build-using-namespace): a tool
using namespace hafw::statesync::io;  // NOLINT(google-build-using-namespace)

namespace {

void Print(const char* tag, const FlowRecord& f) {
  std::printf(
      "%s %s:%u -> %s:%u reply-dst %s:%u status 0x%x tcp state %u wscale %u/%u flags 0x%x/0x%x\n",
      tag, f.original.src.ToString().c_str(), f.original.src_port,
      f.original.dst.ToString().c_str(), f.original.dst_port, f.reply.dst.ToString().c_str(),
      f.reply.dst_port, f.status, static_cast<unsigned>(f.tcp.state), f.tcp.wscale_original,
      f.tcp.wscale_reply, f.tcp.flags_original, f.tcp.flags_reply);
}

}  // namespace

int main(int argc, char** argv) {
  int port = -1;
  std::string mode = "asis";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view arg = argv[i];
    if (arg == "--port") port = static_cast<int>(std::strtol(argv[i + 1], nullptr, 10));
    if (arg == "--mode") mode = argv[i + 1];
  }
  if (port <= 0 || (mode != "asis" && mode != "nowscale" && mode.rfind("wscale=", 0) != 0)) {
    std::fprintf(stderr, "usage: ct_reinstall --port P [--mode asis|nowscale|wscale=N]\n");
    return 2;
  }
  auto reader = CtDumpReader::Open();
  auto writer = CtWriter::Open();
  if (!reader || !writer) {
    std::fprintf(stderr, "ct_reinstall: %s\n",
                 (!reader ? reader.error() : writer.error()).ToString().c_str());
    return 1;
  }
  std::vector<FlowRecord> flows;
  if (auto started = reader->Start(CtTable::kFlows); !started) {
    std::fprintf(stderr, "ct_reinstall: %s\n", started.error().ToString().c_str());
    return 1;
  }
  for (int slices = 0; slices < 100000; ++slices) {
    auto slice = reader->Next(
        [&](std::span<const FlowRecord> records) {
          for (const FlowRecord& f : records) {
            if (f.original.dst_port == port) flows.push_back(f);
          }
        },
        nullptr, 8);
    if (!slice) {
      std::fprintf(stderr, "ct_reinstall: %s\n", slice.error().ToString().c_str());
      return 1;
    }
    if (slice->done) break;
  }
  std::vector<CtFlowOp> ops;
  ops.reserve(flows.size());
  for (FlowRecord& flow : flows) {
    Print("dumped   ", flow);
    ops.push_back({CtWrite::kDelete, &flow, nullptr});
  }
  std::vector<CtWriteResult> results(ops.size());
  if (!writer->WriteFlows(ops, results)) return 1;
  for (FlowRecord& flow : flows) {
    if (mode == "nowscale") {
      flow.tcp.flags_original &= static_cast<uint8_t>(~0x01);  // IP_CT_TCP_FLAG_WINDOW_SCALE
      flow.tcp.flags_reply &= static_cast<uint8_t>(~0x01);
    } else if (mode.rfind("wscale=", 0) == 0) {
      flow.tcp.wscale_original = flow.tcp.wscale_reply =
          static_cast<uint8_t>(std::strtoul(mode.c_str() + 7, nullptr, 10));
    }
  }
  for (CtFlowOp& op : ops) op.write = CtWrite::kCreate;
  if (!writer->WriteFlows(ops, results)) return 1;
  for (size_t i = 0; i < flows.size(); ++i) {
    Print(results[i].outcome == CtOutcome::kOk ? "installed" : "FAILED   ", flows[i]);
  }
  return 0;
}
