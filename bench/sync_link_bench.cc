// Throughput of the sync link: 100 MiB in 64 KiB writes from fw1 to fw2 over
// TLS 1.3 (AES-128-GCM) on a loopback inside a namespace this program creates
// (needs root). Prints MiB/s and CPU seconds per side, for two layouts:
//   one-loop:    both nodes on one io_context and thread (they share a core)
//   two-threads: each node on its own io_context and thread, like two agents
// Usage: sync_link_bench [--runs N] [--buffers BYTES (0: kernel autotuning)]

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "statesync/io/tls_link_test_util.h"
#include "statesync/io/tls_test_netns.h"

namespace {

using hafw::statesync::io::TlsLinkConfig;
using hafw::statesync::io::WriteStatus;
namespace t = hafw::statesync::io::testing;

constexpr size_t kChunk = size_t{64} * 1024;
constexpr size_t kChunks = 1600;  // 100 MiB
constexpr double kMiB = 1024.0 * 1024.0;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Sample {
  bool ok = false;
  double seconds = 0;
  double sender_cpu = 0;
  double receiver_cpu = 0;
  double MibPerSecond() const { return static_cast<double>(kChunk * kChunks) / kMiB / seconds; }
};

// A link whose callbacks only count: no copies of the payload.
struct BenchNode {
  std::unique_ptr<hafw::statesync::io::TlsLink> link;
  bool connected = false;
  size_t received = 0;
  std::function<void()> on_writable;
  std::function<void()> on_bytes;
};

std::unique_ptr<BenchNode> MakeNode(boost::asio::io_context& io, const char* name, int buffers) {
  auto node = std::make_unique<BenchNode>();
  TlsLinkConfig config;
  config.node = name;
  for (const auto& endpoint : t::Cluster()) {
    if (endpoint.name == "fw3") continue;
    if (endpoint.name == name) {
      config.local_address = endpoint.address;
    } else {
      config.peers.push_back(endpoint);
    }
  }
  config.port = t::kPort;
  config.keys = t::Keys("benchmark-key");
  config.socket.send_buffer = buffers;
  config.socket.receive_buffer = buffers;
  BenchNode* self = node.get();
  hafw::statesync::io::TlsLinkCallbacks callbacks;
  callbacks.established = [self](size_t, const hafw::statesync::io::TlsInfo&) {
    self->connected = true;
  };
  callbacks.closed = [self](size_t, hafw::statesync::io::CloseReason) { self->connected = false; };
  callbacks.received = [self](size_t, std::span<const uint8_t> bytes) -> size_t {
    self->received += bytes.size();
    if (self->on_bytes) self->on_bytes();
    return 0;
  };
  callbacks.writable = [self](size_t) {
    if (self->on_writable) self->on_writable();
  };
  auto link = hafw::statesync::io::TlsLink::Create(io, std::move(config), std::move(callbacks));
  if (!link || !(*link)->Start()) return nullptr;
  node->link = std::move(*link);
  return node;
}

// Chains 64 KiB writes to peer 0 as fast as writable comes back.
struct Sender {
  BenchNode* node = nullptr;
  const std::vector<uint8_t>* chunk = nullptr;
  size_t written = 0;
  std::chrono::steady_clock::time_point start;
  double cpu_start = 0;
  void Begin() {
    start = std::chrono::steady_clock::now();
    cpu_start = ThreadCpuSeconds();
    node->on_writable = [this] { Next(); };
    Next();
  }
  void Next() {
    if (written == kChunks) return;
    if (node->link->Write(0, *chunk, 1) == WriteStatus::kStarted) ++written;
  }
};

Sample OneLoop(const std::vector<uint8_t>& chunk, int buffers) {
  Sample sample;
  boost::asio::io_context io;
  auto fw2 = MakeNode(io, "fw2", buffers);
  auto fw1 = MakeNode(io, "fw1", buffers);
  if (!fw1 || !fw2) return sample;
  if (!t::RunUntil(io, [&] { return fw1->connected && fw2->connected; })) return sample;
  Sender sender;
  sender.node = fw1.get();
  sender.chunk = &chunk;
  sender.Begin();
  const bool done = t::RunUntil(
      io, [&] { return fw2->received == kChunk * kChunks; }, std::chrono::seconds(60));
  sample.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - sender.start).count();
  sample.sender_cpu = ThreadCpuSeconds() - sender.cpu_start;  // both ends, one thread
  sample.receiver_cpu = -1;
  sample.ok = done;
  return sample;
}

Sample TwoThreads(const std::string& netns, const std::vector<uint8_t>& chunk, int buffers) {
  Sample sample;
  std::atomic<bool> listening{false};
  std::atomic<bool> finished{false};
  std::atomic<bool> failed{false};
  std::atomic<int64_t> end_ns{0};
  double receiver_cpu = 0;
  std::thread receiver([&] {
    t::ScopedNetns inside(netns);
    boost::asio::io_context io;
    auto fw2 = MakeNode(io, "fw2", buffers);
    if (!inside.Ok() || !fw2) {
      failed = true;
      listening = true;
      return;
    }
    double cpu_start = 0;
    BenchNode* node = fw2.get();
    fw2->on_bytes = [&, node] {
      if (cpu_start == 0) cpu_start = ThreadCpuSeconds();
      if (node->received == kChunk * kChunks) {
        end_ns = std::chrono::steady_clock::now().time_since_epoch().count();
        receiver_cpu = ThreadCpuSeconds() - cpu_start;
        finished = true;
      }
    };
    listening = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!finished && !failed && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
  });
  while (!listening) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  {
    t::ScopedNetns inside(netns);
    boost::asio::io_context io;
    auto fw1 = failed || !inside.Ok() ? nullptr : MakeNode(io, "fw1", buffers);
    if (fw1 && t::RunUntil(io, [&] { return fw1->connected; })) {
      Sender sender;
      sender.node = fw1.get();
      sender.chunk = &chunk;
      sender.Begin();
      t::RunUntil(
          io, [&] { return finished.load(); }, std::chrono::seconds(60));
      sample.sender_cpu = ThreadCpuSeconds() - sender.cpu_start;
      const auto start_ns = sender.start.time_since_epoch().count();
      sample.seconds = static_cast<double>(end_ns - start_ns) / 1e9;
      sample.ok = finished;
    }
    if (!sample.ok) failed = true;
  }
  receiver.join();
  sample.receiver_cpu = receiver_cpu;
  return sample;
}

void Report(const char* layout, std::vector<Sample> samples) {
  for (const Sample& s : samples) {
    if (!s.ok) {
      std::printf("%-12s FAILED\n", layout);
      return;
    }
  }
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.MibPerSecond() < b.MibPerSecond(); });
  const double gib = static_cast<double>(kChunk * kChunks) / (kMiB * 1024.0);
  for (const Sample& s : samples) {
    if (s.receiver_cpu < 0) {
      std::printf("%-12s %7.1f MiB/s  %.3f s  cpu (both ends, one thread) %.3f s\n", layout,
                  s.MibPerSecond(), s.seconds, s.sender_cpu);
    } else {
      std::printf("%-12s %7.1f MiB/s  %.3f s  cpu sender %.3f s  receiver %.3f s\n", layout,
                  s.MibPerSecond(), s.seconds, s.sender_cpu, s.receiver_cpu);
    }
  }
  const Sample& median = samples[samples.size() / 2];
  if (median.receiver_cpu < 0) {
    std::printf("%-12s median %.1f MiB/s; cpu per GiB (both ends) %.2f s\n\n", layout,
                median.MibPerSecond(), median.sender_cpu / gib);
  } else {
    std::printf("%-12s median %.1f MiB/s; cpu per GiB: sender %.2f s, receiver %.2f s\n\n", layout,
                median.MibPerSecond(), median.sender_cpu / gib, median.receiver_cpu / gib);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  int buffers = hafw::statesync::io::SocketTuning{}.send_buffer;
  for (int i = 1; i + 1 < argc; i += 2) {
    const int64_t value = std::strtol(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--runs") == 0) {
      runs = static_cast<int>(std::clamp<int64_t>(value, 1, 100));
    }
    if (std::strcmp(argv[i], "--buffers") == 0) {
      buffers = static_cast<int>(std::clamp<int64_t>(value, 0, int64_t{1} << 28));
    }
  }
  if (!t::IsRoot()) {
    std::fprintf(stderr, "sync_link_bench: needs root (it creates a network namespace)\n");
    return 2;
  }
  t::TestNetns netns;
  if (auto setup = netns.Setup({"192.0.2.1/32", "192.0.2.2/32"}); !setup) {
    std::fprintf(stderr, "sync_link_bench: %s\n", setup.error().ToString().c_str());
    return 1;
  }
  const auto chunk = t::Garbage(kChunk, 42);
  std::printf("sync link: %zu writes of %zu KiB (%.0f MiB), socket buffers %d bytes, %d runs\n",
              kChunks, kChunk / 1024, kChunk * kChunks / kMiB, buffers, runs);
  std::vector<Sample> one_loop;
  std::vector<Sample> two_threads;
  one_loop.reserve(runs);
  two_threads.reserve(runs);
  {
    t::ScopedNetns inside(netns.Name());
    if (!inside.Ok()) return 1;
    for (int i = 0; i < runs; ++i) one_loop.push_back(OneLoop(chunk, buffers));
  }
  for (int i = 0; i < runs; ++i) two_threads.push_back(TwoThreads(netns.Name(), chunk, buffers));
  Report("one-loop", one_loop);
  Report("two-threads", two_threads);
  return 0;
}
