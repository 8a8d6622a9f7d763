#pragma once

// Test-only: two network namespaces joined by a veth pair, created and torn down
// by the test itself (names carry the pid and a sequence number, addresses are
// documentation ones). Never touches the root namespace's interfaces.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::carp::io::testing {

// Runs argv (argv[0] looked up in PATH) and waits at most 10 s; returns the
// exit status, or -1 if it could not run or was killed for taking too long.
int RunCommand(const std::vector<std::string>& argv);
// The same, keeping what the command writes to stdout in `*out`.
int RunCommandCapture(const std::vector<std::string>& argv, std::string* out);

// Whether netns tests may run. When not root: false with a loud warning if CI
// is unset; under CI the caller must fail instead (see RequireRootOrSkip).
bool IsRoot();
bool InCi();

struct NetnsLab {
  // ns_a, ns_b; veth if_a (in ns_a) <-> if_b (in ns_b); 192.0.2.1/24 on if_a,
  // 192.0.2.2/24 on if_b; DAD off so link-locals are usable at once.
  NetnsLab();
  ~NetnsLab();  // Teardown()
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  Result<void> Setup();
  void Teardown();  // idempotent; deleting a namespace removes its veth end
  // `ip -n <ns> args...`
  int Ip(const std::string& ns, const std::vector<std::string>& args);
  int Sysctl(const std::string& ns, const std::string& assignment);

  std::string ns_a, ns_b, if_a, if_b;
  std::vector<std::string> created;
};

// A segment with two CARP nodes and a client: ns_a and ns_b each have "lan0"
// (192.0.2.1/24 and 192.0.2.2/24), cabled to ports of bridge "br0" in ns_c,
// which is the client (192.0.2.3/24, 2001:db8::3/64). The bridge learns MACs
// like a switch, floods multicast (snooping off) and forwards at once (no STP).
// Interface names are short and per namespace, so they never collide.
struct NetnsSwitchLab {
  NetnsSwitchLab();
  ~NetnsSwitchLab();  // Teardown()
  NetnsSwitchLab(const NetnsSwitchLab&) = delete;
  NetnsSwitchLab& operator=(const NetnsSwitchLab&) = delete;

  Result<void> Setup();
  void Teardown();
  int Ip(const std::string& ns, const std::vector<std::string>& args);
  // `ip netns exec <ns> argv...`, stdout kept.
  int Exec(const std::string& ns, const std::vector<std::string>& argv, std::string* out = nullptr);

  std::string ns_a, ns_b, ns_c;
  std::string node_if = "lan0";
  std::string bridge = "br0";
  std::vector<std::string> created;
};

// Moves the calling thread into a named namespace until destruction. Sockets
// created meanwhile stay in that namespace for their whole life.
class ScopedNetns {
 public:
  explicit ScopedNetns(const std::string& ns);
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;
  bool Ok() const { return ok_; }

 private:
  int saved_ = -1;
  bool ok_ = false;
};

// Fixture: a fresh NetnsLab for every test, skipped or failed without root as
// HAFW_REQUIRE_ROOT_OR_SKIP says.
class NetnsLabTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override { lab_.Teardown(); }
  NetnsLab lab_;
};

// Every frame on one interface of a namespace (AF_PACKET), read until a deadline.
class FrameCapture {
 public:
  FrameCapture(const std::string& ns, const std::string& ifname);
  ~FrameCapture();
  FrameCapture(const FrameCapture&) = delete;
  FrameCapture& operator=(const FrameCapture&) = delete;
  bool Ok() const { return ok_; }

  // Incoming frames for which `match` holds, until `window` has passed (or,
  // with stop_at_first, until the first one). Frames the namespace sends
  // itself are skipped.
  template <typename Match>
  std::vector<std::vector<uint8_t>> Collect(Match match, std::chrono::milliseconds window,
                                            bool stop_at_first) {
    std::vector<std::vector<uint8_t>> out;
    const auto deadline = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<uint8_t> got;
      if (!ReceiveIncoming(got) || !match(got)) continue;
      out.push_back(std::move(got));
      if (stop_at_first) break;
    }
    return out;
  }

 private:
  // One incoming frame into `frame`; false on timeout (50 ms) or an outgoing one.
  bool ReceiveIncoming(std::vector<uint8_t>& frame);

  int fd_ = -1;
  bool ok_ = false;
};

// Runs the loop until `done` or 5 s.
template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
  return done();
}

// How many of `prefixes` are on `ifname`, seen from the current namespace; -1
// when the interface or its addresses cannot be read.
int CountAddressesOn(const std::string& ifname, const std::vector<IpPrefix>& prefixes);

}  // namespace hafw::carp::io::testing

// In a TEST body: skip when not root and CI unset (with a warning), fail under CI.
#define HAFW_REQUIRE_ROOT_OR_SKIP()                                                      \
  do {                                                                                   \
    if (!::hafw::carp::io::testing::IsRoot()) {                                          \
      if (::hafw::carp::io::testing::InCi()) FAIL() << "netns tests need root under CI"; \
      GTEST_SKIP() << "!!! NOT ROOT: netns integration test SKIPPED !!!";                \
    }                                                                                    \
  } while (0)
