#pragma once

// Runs the cluster file's notify hooks (master/backup/init) on state changes.
// Hooks run one at a time in the order the transitions happened (a hook never
// sees "backup" before the "master" that preceded it), never block the election
// (they run in child processes watched from the io_context), and are killed when
// they exceed their timeout.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hafw::agent {

struct HookInvocation {
  std::string path;                        // executable
  std::vector<std::string> args;           // argv[1..]
  std::map<std::string, std::string> env;  // added to a minimal environment
};

struct HookResult {
  std::string path;
  int exit_code = -1;  // -1 when killed by a signal or not started
  int signal = 0;      // the signal that ended it, if any
  bool timed_out = false;
  std::string error;  // fork/exec failure
};

class HookRunner {
 public:
  using Done = std::function<void(const HookResult&)>;

  HookRunner(boost::asio::io_context& io, std::chrono::seconds timeout, Done done);
  ~HookRunner();  // kills a running hook (SIGKILL) and reaps it

  void Enqueue(HookInvocation hook);
  size_t Pending() const { return queue_.size() + (running_ ? 1 : 0); }
  // Waits (bounded) for queued hooks to finish; used at shutdown.
  void Drain(std::chrono::milliseconds limit);

 private:
  void StartNext();
  void Poll();
  void Finish(const HookResult& result);

  boost::asio::io_context& io_;
  std::chrono::seconds timeout_;
  Done done_;
  std::deque<HookInvocation> queue_;
  bool running_ = false;
  pid_t pid_ = -1;
  std::string running_path_;
  std::chrono::steady_clock::time_point started_;
  bool killed_for_timeout_ = false;
  boost::asio::steady_timer poll_timer_;
};

}  // namespace hafw::agent
