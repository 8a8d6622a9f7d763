#pragma once

// Test-only: network namespaces for the sync link's tests and benchmark.
// (carp/io has its own lab; statesync may not include carp, so this is the
// minimal subset the link needs.) Names carry the pid and a sequence number;
// namespaces of killed earlier runs (dead pid) are removed at setup. Only
// documentation addresses are used.

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/result.h"

namespace hafw::statesync::io::testing {

// argv[0] looked up in PATH; waits at most 10 s. Exit status, or -1.
int Run(const std::vector<std::string>& argv, std::string* out = nullptr);

bool IsRoot();

// One namespace with lo up, holding `addresses` (e.g. "192.0.2.1/32",
// "2001:db8::1/128") on lo. Deleted with everything in it on destruction.
class TestNetns {
 public:
  TestNetns() = default;
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  Result<void> Setup(const std::vector<std::string>& addresses);
  void Teardown();
  const std::string& Name() const { return name_; }
  // `ip netns exec <ns> argv...`
  int Exec(const std::vector<std::string>& argv, std::string* out = nullptr) const;

 private:
  std::string name_;
  bool created_ = false;
};

// Two namespaces joined by a veth pair: "a" holds 198.51.100.1/24 on "veth0",
// "b" 198.51.100.2/24 on "veth0".
class VethPair {
 public:
  VethPair() = default;
  ~VethPair();
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;

  Result<void> Setup();
  void Teardown();
  TestNetns a;
  TestNetns b;
};

// Moves the calling thread into a namespace until destruction; sockets made
// meanwhile stay there for their whole life.
class ScopedNetns {
 public:
  explicit ScopedNetns(const std::string& name);
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;
  bool Ok() const { return ok_; }

 private:
  int saved_ = -1;
  bool ok_ = false;
};

// Runs the loop until `done` or `limit`; returns done().
template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred done,
              std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return done();
}

// Runs the loop for exactly `period` (for "nothing happens" checks).
void RunFor(boost::asio::io_context& io, std::chrono::milliseconds period);

// Open file descriptors of this process.
int CountOpenFds();

}  // namespace hafw::statesync::io::testing
