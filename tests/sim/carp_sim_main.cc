// carp_sim: the deterministic CARP simulator's command line.
//   carp_sim --seed N [--scenario NAME] [--verbose]   one run (replay)
//   carp_sim --seeds COUNT [--first N]                soak over COUNT seeds
//   carp_sim --scenario all --seeds COUNT             every named scenario per seed
//   carp_sim --scenario g1-restart-7038242 --verbose  a captured scenario (fixed seed)
// Exit status 1 if any invariant failed; each failure prints its replay command.

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/sim/captured_scenarios.h"
#include "tests/sim/scenario.h"
#include "tests/sim/simulator.h"

namespace {

using hafw::carp::sim::Scenario;

std::vector<Scenario> ScenariosFor(const std::string& name, uint64_t seed) {
  std::vector<Scenario> out;
  if (name == "random") {
    out.push_back(hafw::carp::sim::GenerateScenario(seed));
  } else if (name == "all") {
    for (std::string_view n : hafw::carp::sim::NamedScenarioNames()) {
      out.push_back(*hafw::carp::sim::NamedScenario(n, seed));
    }
  } else if (auto s = hafw::carp::sim::NamedScenario(name, seed)) {
    out.push_back(std::move(*s));
  } else if (auto c = hafw::carp::sim::CapturedScenario(name)) {
    out.push_back(std::move(*c));
  }
  return out;
}

}  // namespace

static int Main(int argc, char** argv) {
  CLI::App app{"Deterministic CARP simulator: seeded faults, continuous invariant checks"};
  uint64_t seed = 0;
  uint64_t seeds = 0;
  uint64_t first = 1;
  std::string scenario = "random";
  bool verbose = false;
  bool describe = false;
  bool determinism = false;
  auto* seed_opt = app.add_option("--seed", seed, "run (replay) this one seed");
  app.add_option("--seeds", seeds, "soak: run this many seeds")->excludes(seed_opt);
  app.add_option("--first", first, "first seed of a soak")->capture_default_str();
  std::string names = "random, all";
  for (std::string_view n : hafw::carp::sim::NamedScenarioNames()) names += ", " + std::string(n);
  for (std::string_view n : hafw::carp::sim::CapturedScenarioNames()) {
    names += ", " + std::string(n);
  }
  app.add_option("--scenario", scenario, "one of: " + names)->capture_default_str();
  app.add_flag("--verbose,-v", verbose, "print the event trace");
  app.add_flag("--describe", describe, "print each scenario before running it");
  app.add_flag("--check-determinism", determinism,
               "run every scenario twice and compare the trace hashes");
  CLI11_PARSE(app, argc, argv);

  if (ScenariosFor(scenario, 1).empty()) {
    fmt::print(stderr, "carp_sim: unknown scenario '{}' (one of: {})\n", scenario, names);
    return 2;
  }
  if (seed_opt->count() > 0) {
    first = seed;
    seeds = 1;
  } else if (seeds == 0) {
    seeds = 1;
  }

  const auto started = std::chrono::steady_clock::now();
  uint64_t runs = 0;
  uint64_t failures = 0;
  uint64_t events = 0;
  uint64_t adverts = 0;
  uint64_t spurious = 0;
  for (uint64_t s = first; s < first + seeds; ++s) {
    for (Scenario& sc : ScenariosFor(scenario, s)) {
      if (describe || verbose) fmt::print("{}", sc.Describe());
      hafw::carp::sim::RunOptions options;
      options.verbose = verbose;
      hafw::carp::sim::Simulator sim(sc, options);
      const hafw::carp::sim::RunResult result = sim.Run();
      ++runs;
      events += result.stats.events;
      adverts += result.stats.adverts;
      spurious += result.stats.spurious_takeovers;
      bool failed = !result.Ok();
      if (failed) {
        fmt::print("{}\n", hafw::carp::sim::FormatViolation(sc, result.violations.front()));
      }
      if (determinism) {
        hafw::carp::sim::Simulator again(sc, hafw::carp::sim::RunOptions{});
        const uint64_t second = again.Run().trace_hash;
        if (second != result.trace_hash) {
          fmt::print("FAIL seed={} scenario={} [determinism] trace hash {:016x} then {:016x}\n",
                     sc.seed, sc.name, result.trace_hash, second);
          failed = true;
        }
      }
      if (failed) {
        ++failures;
        fmt::print("  replay: {} --scenario {} --seed {} --verbose\n", argv[0], sc.name, sc.seed);
      } else if (seeds == 1) {
        fmt::print("ok seed={} scenario={} events={} adverts={} transitions={} trace={:016x}\n",
                   sc.seed, sc.name, result.stats.events, result.stats.adverts,
                   result.stats.transitions, result.trace_hash);
      }
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print(
      "carp_sim: {} runs (seeds {}..{}, scenario {}), {} failed; {} events, {} adverts, "
      "{} loss-explained takeovers; {:.2f}s wall\n",
      runs, first, first + seeds - 1, scenario, failures, events, adverts, spurious, wall);
  return failures == 0 ? 0 : 1;
}

// Exceptions are bugs here too; report them instead of std::terminate.
int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "carp_sim: internal error: %s\n", e.what());
  }
  return 1;
}
