#include "haagent/ops/hook_runner.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hafw::agent {
namespace {

// How often a running hook is checked; hooks are rare, 20 ms is plenty.
constexpr auto kPollInterval = std::chrono::milliseconds(20);
// After SIGTERM, a hook gets this long to exit before SIGKILL.
constexpr auto kGraceAfterTerm = std::chrono::seconds(2);

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

HookRunner::HookRunner(boost::asio::io_context& io, std::chrono::seconds timeout, Done done)
    : io_(io), timeout_(timeout), done_(std::move(done)), poll_timer_(io) {}

HookRunner::~HookRunner() {
  if (running_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void HookRunner::Enqueue(HookInvocation hook) {
  queue_.push_back(std::move(hook));
  if (!running_) StartNext();
}

void HookRunner::StartNext() {
  while (!running_ && !queue_.empty()) {
    HookInvocation hook = std::move(queue_.front());
    queue_.pop_front();

    // Everything the child needs is prepared before fork: only async-signal-safe
    // calls happen between fork and exec.
    std::vector<std::string> argv_s{hook.path};
    argv_s.insert(argv_s.end(), hook.args.begin(), hook.args.end());
    std::vector<std::string> env_s{
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    for (const auto& [k, v] : hook.env) {
      std::string entry = k;
      entry += '=';
      entry += v;
      env_s.push_back(std::move(entry));
    }
    auto argv = CStrings(argv_s);
    auto envp = CStrings(env_s);

    pid_t pid = ::fork();
    if (pid < 0) {
      Finish(HookResult{hook.path, -1, 0, false, std::string("fork: ") + std::strerror(errno)});
      continue;
    }
    if (pid == 0) {
      ::setpgid(0, 0);  // its own group, so a timeout kills its children too
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    running_ = true;
    pid_ = pid;
    running_path_ = hook.path;
    started_ = std::chrono::steady_clock::now();
    killed_for_timeout_ = false;
    Poll();
  }
}

void HookRunner::Poll() {
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    HookResult result;
    result.path = running_path_;
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    result.timed_out = killed_for_timeout_;
    if (result.exit_code == 127 && !result.timed_out) result.error = "cannot execute";
    Finish(result);
    return;
  }
  auto elapsed = std::chrono::steady_clock::now() - started_;
  if (!killed_for_timeout_ && elapsed > timeout_) {
    // Ask politely first; the whole process group, so the hook's children go too.
    ::kill(-pid_, SIGTERM);
    ::kill(pid_, SIGTERM);
    killed_for_timeout_ = true;
  } else if (killed_for_timeout_ && elapsed > timeout_ + kGraceAfterTerm) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
  }
  poll_timer_.expires_after(kPollInterval);
  poll_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) Poll();
  });
}

void HookRunner::Finish(const HookResult& result) {
  running_ = false;
  pid_ = -1;
  if (done_) done_(result);
  StartNext();
}

void HookRunner::Drain(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (Pending() > 0 && std::chrono::steady_clock::now() < deadline) {
    io_.run_one_for(std::chrono::milliseconds(50));
  }
}

}  // namespace hafw::agent
