#include "statesync/io/tls_test_netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <thread>

namespace hafw::statesync::io::testing {
namespace {

constexpr const char* kPrefix = "hafwtls-";
std::atomic<int> sequence{0};

std::string NewName() {
  return std::string(kPrefix) + std::to_string(getpid()) + "x" + std::to_string(sequence++);
}

// Namespaces of earlier runs whose pid is gone; only our prefix is touched.
void RemoveStale() {
  DIR* dir = opendir("/run/netns");
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.rfind(kPrefix, 0) != 0) continue;
    const auto pid = static_cast<pid_t>(std::strtol(name.c_str() + 8, nullptr, 10));
    if (pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  closedir(dir);
  for (const auto& name : stale) Run({"ip", "netns", "del", name});
}

}  // namespace

int Run(const std::vector<std::string>& argv, std::string* out) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int fds[2] = {-1, -1};
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  if (out != nullptr) out->clear();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  char buffer[4096];
  while (true) {
    ssize_t n;
    while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) {
      if (out != nullptr) out->append(buffer, static_cast<size_t>(n));
    }
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 || std::chrono::steady_clock::now() > deadline) {
      if (r == 0) {
        kill(pid, SIGKILL);  // only the child we started
        waitpid(pid, &status, 0);
      }
      close(fds[0]);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) {
    if (out != nullptr) out->append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool IsRoot() { return geteuid() == 0; }

TestNetns::~TestNetns() { Teardown(); }

Result<void> TestNetns::Setup(const std::vector<std::string>& addresses) {
  RemoveStale();
  name_ = NewName();
  auto fail = [&](const std::string& what) {
    Teardown();
    return MakeError(ErrorCode::kIo, "test netns " + name_ + ": " + what);
  };
  if (Run({"ip", "netns", "add", name_}) != 0) return fail("ip netns add");
  created_ = true;
  if (Run({"ip", "-n", name_, "link", "set", "lo", "up"}) != 0) return fail("lo up");
  for (const std::string& address : addresses) {
    std::vector<std::string> argv = {"ip", "-n", name_, "addr", "add", address, "dev", "lo"};
    if (address.find(':') != std::string::npos) argv.emplace_back("nodad");
    if (Run(argv) != 0) return fail("addr add " + address);
  }
  return {};
}

void TestNetns::Teardown() {
  if (created_) Run({"ip", "netns", "del", name_});
  created_ = false;
}

int TestNetns::Exec(const std::vector<std::string>& argv, std::string* out) const {
  std::vector<std::string> full = {"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return Run(full, out);
}

VethPair::~VethPair() { Teardown(); }

Result<void> VethPair::Setup() {
  if (auto r = a.Setup({}); !r) return r;
  if (auto r = b.Setup({}); !r) {
    a.Teardown();
    return r;
  }
  auto fail = [&](const std::string& what) {
    Teardown();
    return MakeError(ErrorCode::kIo, "veth pair: " + what);
  };
  if (Run({"ip", "-n", a.Name(), "link", "add", "veth0", "type", "veth", "peer", "name", "veth0",
           "netns", b.Name()}) != 0) {
    return fail("link add");
  }
  if (Run({"ip", "-n", a.Name(), "addr", "add", "198.51.100.1/24", "dev", "veth0"}) != 0 ||
      Run({"ip", "-n", b.Name(), "addr", "add", "198.51.100.2/24", "dev", "veth0"}) != 0) {
    return fail("addresses");
  }
  if (Run({"ip", "-n", a.Name(), "link", "set", "veth0", "up"}) != 0 ||
      Run({"ip", "-n", b.Name(), "link", "set", "veth0", "up"}) != 0) {
    return fail("link up");
  }
  return {};
}

void VethPair::Teardown() {
  a.Teardown();  // deleting a namespace removes its veth end and the peer
  b.Teardown();
}

ScopedNetns::ScopedNetns(const std::string& name) {
  saved_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (saved_ >= 0 && target >= 0) ok_ = setns(target, CLONE_NEWNET) == 0;
  if (target >= 0) close(target);
}

ScopedNetns::~ScopedNetns() {
  if (saved_ >= 0) {
    if (ok_) setns(saved_, CLONE_NEWNET);
    close(saved_);
  }
}

void RunFor(boost::asio::io_context& io, std::chrono::milliseconds period) {
  const auto deadline = std::chrono::steady_clock::now() + period;
  while (std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_until(deadline);
  }
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory's own descriptor
}

}  // namespace hafw::statesync::io::testing
