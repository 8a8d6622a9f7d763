#pragma once

// hafw_testkit, tests only: network namespaces that a test creates, enters and
// destroys itself (names carry the pid and a sequence number, addresses are
// documentation ones), veth pairs between them, and helpers to run code and
// commands inside. Never touches the root namespace's interfaces; Teardown()
// runs from the destructors, so a failing test leaves nothing behind.
//
//   testkit::NetnsGroup group;                    // or NetnsLab / NetnsSwitchLab
//   auto ns = group.Add("a");                     // "hafwtk-<pid>x<n>-a"
//   group.AddVeth(*ns, "v0", *other, "v1");
//   testkit::RunIn(*ns, [&] { /* sockets opened here live in *ns */ });

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::testkit {

// Runs argv (argv[0] looked up in PATH) and waits at most 10 s; returns the
// exit status, or -1 if it could not run or was killed for taking too long.
int RunCommand(const std::vector<std::string>& argv);
// The same, keeping what the command writes to stdout in `*out`.
int RunCommandCapture(const std::vector<std::string>& argv, std::string* out);

// Whether netns tests may run. When not root: false with a loud warning if CI
// is unset; under CI the caller must fail instead (see HAFW_REQUIRE_ROOT_OR_SKIP).
bool IsRoot();
bool InCi();

// Namespaces created by one test, deleted (with their interfaces) by
// Teardown() or the destructor. Every namespace gets lo up, IPv6 DAD off (so
// addresses are usable at once) and IPv6 forwarding off.
class NetnsGroup {
 public:
  NetnsGroup();
  ~NetnsGroup();  // Teardown()
  NetnsGroup(const NetnsGroup&) = delete;
  NetnsGroup& operator=(const NetnsGroup&) = delete;

  // Creates "hafwtk-<pid>x<seq>-<role>" and returns its name.
  Result<std::string> Add(const std::string& role);
  // A veth pair: if_a in ns_a, if_b in ns_b (both left down).
  Result<void> AddVeth(const std::string& ns_a, const std::string& if_a, const std::string& ns_b,
                       const std::string& if_b);
  // Deletes every namespace of this group; idempotent.
  void Teardown();

  // `ip -n <ns> args...`
  int Ip(const std::string& ns, const std::vector<std::string>& args);
  // `ip netns exec <ns> argv...`, stdout kept when `out` is given.
  int Exec(const std::string& ns, const std::vector<std::string>& argv, std::string* out = nullptr);
  int Sysctl(const std::string& ns, const std::string& assignment);

  // Short per-group tag ("<pid>x<seq>") for interface names that must be
  // unique in one namespace across groups.
  const std::string& Tag() const { return tag_; }
  const std::vector<std::string>& Created() const { return created_; }

 private:
  std::string tag_;
  std::vector<std::string> created_;
};

// Two namespaces joined by a veth pair: if_a (in ns_a, 192.0.2.1/24) <->
// if_b (in ns_b, 192.0.2.2/24), both up.
struct NetnsLab {
  NetnsLab();
  Result<void> Setup();  // tears down what it made when a step fails
  void Teardown() { group.Teardown(); }
  int Ip(const std::string& ns, const std::vector<std::string>& args) { return group.Ip(ns, args); }
  int Sysctl(const std::string& ns, const std::string& assignment) {
    return group.Sysctl(ns, assignment);
  }

  NetnsGroup group;
  std::string ns_a, ns_b, if_a, if_b;
};

// A segment with two nodes and a client: ns_a and ns_b each have "lan0"
// (192.0.2.1/24 and 192.0.2.2/24), cabled to ports of bridge "br0" in ns_c,
// which is the client (192.0.2.3/24, 2001:db8::3/64). The bridge learns MACs
// like a switch, floods multicast (snooping off) and forwards at once (no STP).
struct NetnsSwitchLab {
  Result<void> Setup();
  void Teardown() { group.Teardown(); }
  int Ip(const std::string& ns, const std::vector<std::string>& args) { return group.Ip(ns, args); }
  int Exec(const std::string& ns, const std::vector<std::string>& argv,
           std::string* out = nullptr) {
    return group.Exec(ns, argv, out);
  }

  NetnsGroup group;
  std::string ns_a, ns_b, ns_c;
  std::string node_if = "lan0";
  std::string bridge = "br0";
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

// Runs f() on the calling thread inside `ns` and returns its result; an Error
// when the namespace cannot be entered.
template <typename F>
auto RunIn(const std::string& ns, F&& f) -> Result<std::invoke_result_t<F>> {
  ScopedNetns in(ns);
  if (!in.Ok()) return MakeError(ErrorCode::kIo, "cannot enter network namespace " + ns);
  if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
    f();
    return {};
  } else {
    return f();
  }
}

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

// Runs the loop in 20 ms slices until `done` or `limit` (5 s by default).
template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred done,
              std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
  return done();
}

// Polls `done` every 10 ms until it holds or `limit` has passed.
template <typename Pred>
bool WaitUntil(Pred done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// How many of `prefixes` (by address) are on `ifname`, seen from the calling
// thread's namespace; -1 when the addresses cannot be read.
int CountAddressesOn(const std::string& ifname, const std::vector<IpPrefix>& prefixes);

}  // namespace hafw::testkit

// In a TEST body: skip when not root and CI unset (with a warning), fail under CI.
#define HAFW_REQUIRE_ROOT_OR_SKIP()                                            \
  do {                                                                         \
    if (!::hafw::testkit::IsRoot()) {                                          \
      if (::hafw::testkit::InCi()) FAIL() << "netns tests need root under CI"; \
      GTEST_SKIP() << "!!! NOT ROOT: netns integration test SKIPPED !!!";      \
    }                                                                          \
  } while (0)
