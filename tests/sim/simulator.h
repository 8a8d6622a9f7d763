#pragma once

// Runs one Scenario: every node's carp::VhostSet on one virtual clock (each node
// seeing its own drifted local time), advertisements as the real encoded bytes
// over the simulated segments, the fault schedule, and the InvariantChecker after
// every event. Same scenario -> same event order -> same trace hash.

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "carp/core/vhost_set.h"
#include "tests/sim/drift_clock.h"
#include "tests/sim/event_queue.h"
#include "tests/sim/invariants.h"
#include "tests/sim/network.h"
#include "tests/sim/rng.h"
#include "tests/sim/scenario.h"

namespace hafw::carp::sim {

struct RunOptions {
  bool verbose = false;  // print the trace
  std::FILE* trace_out = stdout;
  uint64_t max_events = 5'000'000;  // a runaway engine fails instead of spinning
};

struct RunStats {
  uint64_t events = 0;
  uint64_t adverts = 0;
  uint64_t deliveries = 0;
  uint64_t transitions = 0;
  uint64_t spurious_takeovers = 0;
};

struct RunResult {
  std::vector<Violation> violations;
  uint64_t trace_hash = 0;
  RunStats stats;
  bool Ok() const { return violations.empty(); }
};

class Simulator final : private ClusterView {
 public:
  Simulator(Scenario scenario, RunOptions options);
  ~Simulator() override;

  RunResult Run();

 private:
  struct Node {
    DriftClock clock;
    std::unique_ptr<VhostSet> set;
    bool started = false;  // its start time has come
    int down = 0;          // crash/stop faults in progress
    int incarnation = 0;
    uint64_t timer_gen = 0;
    std::optional<TimePoint> timer_at;
    TimePoint last_fire{};
    int fires_at_same_time = 0;
    std::map<std::string, int> link_down;           // counted link-down faults per interface
    std::map<std::string, int, std::less<>> admin;  // admin demotion per group (this incarnation)
  };

  // ClusterView
  const Scenario& Spec() const override { return scenario_; }
  bool Alive(int node) const override { return nodes_[node].set != nullptr; }
  bool PortUp(int node, const std::string& iface) const override;
  bool Clean(const std::string& iface, const std::vector<int>& nodes) const override;
  uint8_t ExpectedDemotion(int node, const std::string& iface) const override;
  TimePoint LocalTime(int node, TimePoint global) const override;
  Duration GlobalDuration(int node, Duration local) const override;
  const VhostEngine* Engine(int node, size_t vhid) const override;
  Duration MaxDelay() const override { return network_.Model().MaxDelay(); }

  TimePoint Now() const { return queue_.Now(); }
  void Trace(const std::string& line);
  void Fail(std::string_view invariant, std::string detail);
  std::optional<size_t> VhidIndex(std::string_view iface, uint8_t vhid) const;

  void Boot(int node);
  void Crash(int node);
  void Stop(int node);
  void Process(int node, BatchCause cause, const VhostActions& actions,
               std::optional<ReceivedAd> rx = std::nullopt,
               std::optional<size_t> rx_vhid = std::nullopt);
  void Transmit(int node, size_t vhid, const SendAdvertisement& send);
  void Deliver(int to, int from, const std::string& iface, const AdvertisementBytes& bytes);
  void Reschedule(int node);
  void FireTimer(int node, uint64_t gen);
  void ApplyFault(size_t index, bool start);
  std::vector<std::string> FaultSegments(const Fault& f) const;

  Scenario scenario_;
  RunOptions options_;
  EventQueue queue_;
  Network network_;
  Rng cookie_rng_;
  std::vector<Node> nodes_;
  std::vector<int> demote_applied_;  // per fault: incarnation it was applied to, or -1
  InvariantChecker checker_;
  uint64_t hash_ = 14695981039346656037ULL;  // FNV-1a
  RunStats stats_;
  bool aborted_ = false;
  std::vector<Violation> fatal_;  // failures found by the simulator itself
};

// The one-line description of a violation, with its seed.
std::string FormatViolation(const Scenario& scenario, const Violation& v);

}  // namespace hafw::carp::sim
