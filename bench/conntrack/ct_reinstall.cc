// ct_reinstall: simulates a takeover on one firewall for the TCP window facts
// of docs/statesync-kernel.md. Every conntrack entry whose original
// destination port is --port is dumped, deleted and created again from the
// dumped record through the sync codec and writer (what a peer's writer
// does), optionally with its window scaling altered. Run it inside the
// firewall's namespace while the connection is idle (tcp_window_facts.sh).
//
//   ct_reinstall --port 5001 [--mode asis|nowscale|wscale=N]
//   ct_reinstall --expectations [--master-without-helper]
//
// --expectations re-creates every expectation instead (and, with
// --master-without-helper, first re-creates each master without its helper).

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

std::vector<FlowRecord> DumpFlows(CtDumpReader& reader) {
  std::vector<FlowRecord> flows;
  if (!reader.Start(CtTable::kFlows)) return flows;
  for (int slices = 0; slices < 100000; ++slices) {
    auto slice = reader.Next(
        [&](std::span<const FlowRecord> r) { flows.insert(flows.end(), r.begin(), r.end()); },
        nullptr, 8);
    if (!slice || slice->done) break;
  }
  return flows;
}

int ReinstallExpectations(CtDumpReader& reader, CtWriter& writer, bool without_helper) {
  std::vector<ExpectRecord> expects;
  if (!reader.Start(CtTable::kExpectations)) return 1;
  for (int slices = 0; slices < 1000; ++slices) {
    auto slice = reader.Next(nullptr, [&](std::span<const ExpectRecord> r) {
      expects.insert(expects.end(), r.begin(), r.end());
    });
    if (!slice) return 1;
    if (slice->done) break;
  }
  std::vector<CtWriteResult> results(1);
  for (const ExpectRecord& e : expects) {
    std::printf("expectation %s:%u -> %s:%u helper %s nat-dir %u saved-port %u\n",
                e.expected.src.ToString().c_str(), e.expected.src_port,
                e.expected.dst.ToString().c_str(), e.expected.dst_port, e.helper.data(), e.nat_dir,
                e.nat_tuple.src_port);
    const CtExpectOp remove{ExpWrite::kDelete, &e};
    if (!writer.WriteExpectations({&remove, 1}, results)) return 1;
    if (without_helper) {
      for (FlowRecord master : DumpFlows(reader)) {
        if (master.original != e.master) continue;
        const CtFlowOp del{CtWrite::kDelete, &master, nullptr};
        if (!writer.WriteFlows({&del, 1}, results)) return 1;
        master.helper.fill('\0');
        master.status &= ~kStatusHelper;
        const CtFlowOp add{CtWrite::kCreate, &master, nullptr};
        if (!writer.WriteFlows({&add, 1}, results)) return 1;
        std::printf("master re-created without its helper: %s\n",
                    std::string(CtOutcomeName(results[0].outcome)).c_str());
      }
    }
    const CtExpectOp create{ExpWrite::kCreate, &e};
    if (!writer.WriteExpectations({&create, 1}, results)) return 1;
    std::printf("expectation re-created: %s\n",
                std::string(CtOutcomeName(results[0].outcome)).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int port = -1;
  std::string mode = "asis";
  bool expectations = false;
  bool without_helper = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      port = static_cast<int>(std::strtol(argv[++i], nullptr, 10));
    } else if (arg == "--mode" && i + 1 < argc) {
      mode = argv[++i];
    } else if (arg == "--expectations") {
      expectations = true;
    } else if (arg == "--master-without-helper") {
      without_helper = true;
    }
  }
  const bool mode_ok = mode == "asis" || mode == "nowscale" || mode.rfind("wscale=", 0) == 0;
  if (!expectations && (port <= 0 || !mode_ok)) {
    std::fprintf(stderr,
                 "usage: ct_reinstall --port P [--mode asis|nowscale|wscale=N]\n"
                 "       ct_reinstall --expectations [--master-without-helper]\n");
    return 2;
  }
  auto reader = CtDumpReader::Open();
  auto writer = CtWriter::Open();
  if (!reader || !writer) {
    std::fprintf(stderr, "ct_reinstall: %s\n",
                 (!reader ? reader.error() : writer.error()).ToString().c_str());
    return 1;
  }
  if (expectations) return ReinstallExpectations(*reader, *writer, without_helper);
  std::vector<FlowRecord> flows;
  for (const FlowRecord& f : DumpFlows(*reader)) {
    if (f.original.dst_port == port) flows.push_back(f);
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
