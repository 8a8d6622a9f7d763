// ct_flood: creates N conntrack entries as fast as the kernel takes them, with
// batched ctnetlink writes (statesync/io's CtWriter), and prints the rate.
// The load generator of the state-sync benchmarks (docs/benchmarks.md): it
// must outrun what it measures. Run it inside the firewall's namespace:
//
//   ip netns exec fw1 ct_flood --count 250000 --batch 64 [--masquerade] [--ipv6]
//   ip netns exec fw1 ct_flood --count 100000 --churn 10     # creates + deletes
//   ip netns exec fw1 ct_flood --count 20000 --rate 20000     # paced creates
//
// Entries are TCP ESTABLISHED with documentation addresses: 198.51.100.0/24
// (2001:db8:1::/64) to 203.0.113.0/24 (2001:db8:2::/64); masqueraded ones to
// 203.0.113.100 (2001:db8:2::100). Every run ends by deleting what it made
// unless --keep is given.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "statesync/io/ct_dump.h"
#include "statesync/io/ct_writer.h"

namespace {

using hafw::IpAddress;
using hafw::IpFamily;
using namespace hafw::statesync;      // NOLINT(google-build-using-namespace): a tool
using namespace hafw::statesync::io;  // NOLINT(google-build-using-namespace)

struct Options {
  uint32_t count = 250000;
  size_t batch = 64;
  bool masquerade = false;
  bool ipv6 = false;
  bool ack_last = false;
  double churn_seconds = 0;
  double rate = 0;  // creates per second, 0: as fast as possible
  bool keep = false;
  bool passes = false;  // after the creates: an update pass, a GET+update (merge) pass, a dump
};

void Usage() {
  std::fprintf(stderr,
               "usage: ct_flood [--count N] [--batch B] [--masquerade] [--ipv6] [--ack-last]\n"
               "                [--churn SECONDS] [--rate PER_SECOND] [--passes] [--keep]\n");
}

bool ParseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--count") {
      const char* v = value();
      if (v == nullptr) return false;
      o.count = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (arg == "--batch") {
      const char* v = value();
      if (v == nullptr) return false;
      o.batch = std::strtoul(v, nullptr, 10);
    } else if (arg == "--churn") {
      const char* v = value();
      if (v == nullptr) return false;
      o.churn_seconds = std::strtod(v, nullptr);
    } else if (arg == "--rate") {
      const char* v = value();
      if (v == nullptr) return false;
      o.rate = std::strtod(v, nullptr);
    } else if (arg == "--masquerade") {
      o.masquerade = true;
    } else if (arg == "--ipv6") {
      o.ipv6 = true;
    } else if (arg == "--ack-last") {
      o.ack_last = true;
    } else if (arg == "--keep") {
      o.keep = true;
    } else if (arg == "--passes") {
      o.passes = true;
    } else {
      return false;
    }
  }
  return o.count > 0 && o.batch > 0 && o.count <= 16U * 60000U;
}

// Entry n: client address by n / 60000, client port by n % 60000; with
// masquerade the server port also changes every 60000 entries so that the
// reply tuples (server -> VIP:port) stay unique.
FlowRecord MakeFlow(const Options& o, uint32_t n) {
  FlowRecord flow;
  flow.family = o.ipv6 ? IpFamily::kV6 : IpFamily::kV4;
  const auto block = static_cast<uint8_t>(n / 60000);
  const auto port = static_cast<uint16_t>(1024 + n % 60000);
  IpAddress client, server, vip;
  if (o.ipv6) {
    client = IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, block});
    server = IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
    vip = IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0});
  } else {
    client = IpAddress::V4({198, 51, 100, static_cast<uint8_t>(2 + block)});
    server = IpAddress::V4({203, 0, 113, 2});
    vip = IpAddress::V4({203, 0, 113, 100});
  }
  const auto server_port = static_cast<uint16_t>(o.masquerade ? 80 + block : 80);
  flow.original = {client, server, kProtoTcp, port, server_port};
  flow.reply = {server, o.masquerade ? vip : client, kProtoTcp, server_port, port};
  flow.status = kStatusSeenReply | kStatusAssured;
  flow.timeout_s = 3600;
  flow.tcp.state = TcpState::kEstablished;
  flow.tcp.wscale_original = flow.tcp.wscale_reply = 7;
  flow.tcp.flags_original = flow.tcp.flags_reply = 0x03;
  return flow;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}

class Flood {
 public:
  Flood(const Options& o, CtWriter& writer) : o_(o), writer_(writer) {
    const size_t chunk = o.batch * 16;
    flows_.resize(chunk);
    ops_.resize(chunk);
    results_.resize(chunk);
  }

  // Writes entries [first, first + n) with `write`; counts outcomes. With
  // `then`, each chunk is written a second time with that write (GET then
  // update: the merge mode of statesync-design.md §8).
  bool Run(CtWrite write, uint32_t first, uint32_t n, std::optional<CtWrite> then = std::nullopt) {
    for (uint32_t done = 0; done < n;) {
      const auto len = static_cast<uint32_t>(std::min<size_t>(flows_.size(), n - done));
      for (uint32_t i = 0; i < len; ++i) {
        flows_[i] = MakeFlow(o_, (first + done + i) % (16U * 60000U));
        ops_[i] = {write, &flows_[i], nullptr};
      }
      auto written = writer_.WriteFlows({ops_.data(), len}, {results_.data(), len});
      if (!written) {
        std::fprintf(stderr, "ct_flood: %s\n", written.error().ToString().c_str());
        return false;
      }
      for (uint32_t i = 0; i < len; ++i) ++outcomes_[static_cast<size_t>(results_[i].outcome)];
      if (then) {
        for (uint32_t i = 0; i < len; ++i) {
          if (results_[i].found) flows_[i].timeout_s = results_[i].current.timeout_s + 60;
          ops_[i].write = *then;
        }
        if (!writer_.WriteFlows({ops_.data(), len}, {results_.data(), len})) return false;
      }
      done += len;
    }
    return true;
  }

  // Paced creates: `rate` per second in chunks of one batch.
  bool RunPaced(uint32_t n) {
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t done = 0; done < n;) {
      const auto len = static_cast<uint32_t>(std::min<size_t>(o_.batch, n - done));
      if (!Run(CtWrite::kCreate, done, len)) return false;
      done += len;
      const auto due = start + std::chrono::duration<double>(done / o_.rate);
      std::this_thread::sleep_until(due);
    }
    return true;
  }

  void PrintOutcomes() const {
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      if (outcomes_[i] != 0 && i != static_cast<size_t>(CtOutcome::kOk)) {
        std::printf("  %s: %llu\n", std::string(CtOutcomeName(static_cast<CtOutcome>(i))).c_str(),
                    static_cast<unsigned long long>(outcomes_[i]));
      }
    }
  }
  void ResetOutcomes() { outcomes_.fill(0); }
  uint64_t Ok() const { return outcomes_[0]; }

 private:
  const Options& o_;
  CtWriter& writer_;
  std::vector<FlowRecord> flows_;
  std::vector<CtFlowOp> ops_;
  std::vector<CtWriteResult> results_;
  std::array<uint64_t, kCtOutcomes> outcomes_{};
};

struct Timer {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  double cpu = CpuSeconds();
  void Report(const char* what, uint64_t n) const {
    const double dt =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
    const double cpu_dt = CpuSeconds() - cpu;
    std::printf("%s %llu in %.3f s: %.0f/s (cpu %.3f s: %.0f/s)\n", what,
                static_cast<unsigned long long>(n), dt, n / dt, cpu_dt,
                cpu_dt > 0 ? n / cpu_dt : 0.0);
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, o)) {
    Usage();
    return 2;
  }
  CtWriterOptions writer_options;
  writer_options.batch_size = o.batch;
  writer_options.ack_each = !o.ack_last;
  auto writer = CtWriter::Open(writer_options);
  if (!writer) {
    std::fprintf(stderr, "ct_flood: %s\n", writer.error().ToString().c_str());
    return 1;
  }
  Flood flood(o, *writer);
  std::printf("ct_flood: %u entries, %zu per send, ack %s%s%s\n", o.count, o.batch,
              o.ack_last ? "on the last" : "on each", o.masquerade ? ", masqueraded" : "",
              o.ipv6 ? ", IPv6" : "");
  Timer create_timer;
  const bool created =
      o.rate > 0 ? flood.RunPaced(o.count) : flood.Run(CtWrite::kCreate, 0, o.count);
  if (!created) return 1;
  create_timer.Report("created", flood.Ok());
  flood.PrintOutcomes();

  if (o.passes) {
    flood.ResetOutcomes();
    Timer update_timer;
    if (!flood.Run(CtWrite::kUpdate, 0, o.count)) return 1;
    update_timer.Report("updated", flood.Ok());
    flood.ResetOutcomes();
    Timer merge_timer;
    if (!flood.Run(CtWrite::kGet, 0, o.count, CtWrite::kUpdate)) return 1;
    merge_timer.Report("GET+update (merge)", flood.Ok());
    auto reader = CtDumpReader::Open();
    if (!reader || !reader->Start(CtTable::kFlows)) return 1;
    Timer dump_timer;
    uint64_t dumped = 0;
    for (bool done = false; !done;) {
      auto slice =
          reader->Next([&](std::span<const FlowRecord> r) { dumped += r.size(); }, nullptr, 4);
      if (!slice) return 1;
      done = slice->done;
    }
    dump_timer.Report("dumped", dumped);
  }

  if (o.churn_seconds > 0) {
    // Keep the table at `count`: delete the oldest chunk, create a new one.
    flood.ResetOutcomes();
    Timer churn_timer;
    uint32_t oldest = 0;
    uint32_t next = o.count;
    const uint32_t step = static_cast<uint32_t>(o.batch * 16);
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(o.churn_seconds);
    uint64_t operations = 0;
    while (std::chrono::steady_clock::now() < end) {
      if (!flood.Run(CtWrite::kDelete, oldest, step) || !flood.Run(CtWrite::kCreate, next, step)) {
        return 1;
      }
      oldest += step;
      next += step;
      operations += 2ULL * step;
    }
    churn_timer.Report("churn (creates + deletes)", operations);
    flood.PrintOutcomes();
    if (!o.keep) flood.Run(CtWrite::kDelete, oldest, next - oldest);
  } else if (!o.keep) {
    flood.ResetOutcomes();
    Timer delete_timer;
    if (!flood.Run(CtWrite::kDelete, 0, o.count)) return 1;
    delete_timer.Report("deleted", flood.Ok());
  }
  return 0;
}
