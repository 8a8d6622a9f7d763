#include "testing/netns_lab.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

namespace hafw::testkit {
namespace {

constexpr char kPrefix[] = "hafwtk-";
std::atomic<int> group_sequence{0};

}  // namespace

int RunCommandCapture(const std::vector<std::string>& argv, std::string* out) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pipe_fds[2] = {-1, -1};
  if (out != nullptr && pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    if (out != nullptr) {
      close(pipe_fds[0]);
      close(pipe_fds[1]);
    }
    return -1;
  }
  if (pid == 0) {
    int target = out != nullptr ? pipe_fds[1] : open("/dev/null", O_WRONLY);
    if (target >= 0) dup2(target, STDOUT_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  if (out != nullptr) {
    close(pipe_fds[1]);
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    out->clear();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto drain = [&] {
    if (out == nullptr) return;
    char buffer[4096];
    ssize_t n;
    while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) out->append(buffer, n);
  };
  int status = 0;
  while (true) {
    drain();
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) {
      if (out != nullptr) close(pipe_fds[0]);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);  // only the child we started
      waitpid(pid, &status, 0);
      if (out != nullptr) close(pipe_fds[0]);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  drain();
  if (out != nullptr) close(pipe_fds[0]);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int RunCommand(const std::vector<std::string>& argv) { return RunCommandCapture(argv, nullptr); }

bool IsRoot() { return geteuid() == 0; }

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0';
}

namespace {

// Namespaces of earlier runs that were killed before their Teardown (their pid
// is gone). Only names with our prefix and a dead pid are touched.
void RemoveStaleNamespaces() {
  DIR* dir = opendir("/run/netns");
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  const std::string prefix = kPrefix;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.rfind(prefix, 0) != 0) continue;
    const pid_t pid = static_cast<pid_t>(std::strtol(name.c_str() + prefix.size(), nullptr, 10));
    if (pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  closedir(dir);
  for (const auto& name : stale) RunCommand({"ip", "netns", "del", name});
}

}  // namespace

NetnsGroup::NetnsGroup()
    : tag_(std::to_string(getpid()) + "x" + std::to_string(group_sequence++)) {}

NetnsGroup::~NetnsGroup() { Teardown(); }

Result<std::string> NetnsGroup::Add(const std::string& role) {
  if (created_.empty()) RemoveStaleNamespaces();
  const std::string ns = kPrefix + tag_ + "-" + role;
  if (RunCommand({"ip", "netns", "add", ns}) != 0) {
    return MakeError(ErrorCode::kIo, "netns: ip netns add " + ns);
  }
  created_.push_back(ns);
  for (const char* s : {"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                        "net.ipv6.conf.all.forwarding=0"}) {
    if (Sysctl(ns, s) != 0) return MakeError(ErrorCode::kIo, "netns: sysctl " + std::string(s));
  }
  if (Ip(ns, {"link", "set", "lo", "up"}) != 0) {
    return MakeError(ErrorCode::kIo, "netns: lo up in " + ns);
  }
  return ns;
}

Result<void> NetnsGroup::AddVeth(const std::string& ns_a, const std::string& if_a,
                                 const std::string& ns_b, const std::string& if_b) {
  if (Ip(ns_a, {"link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", ns_b}) != 0) {
    return MakeError(ErrorCode::kIo, "netns: veth " + if_a + " <-> " + if_b);
  }
  return {};
}

void NetnsGroup::Teardown() {
  for (const std::string& ns : created_) RunCommand({"ip", "netns", "del", ns});
  created_.clear();
}

int NetnsGroup::Ip(const std::string& ns, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip", "-n", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

int NetnsGroup::Exec(const std::string& ns, const std::vector<std::string>& argv,
                     std::string* out) {
  std::vector<std::string> full = {"ip", "netns", "exec", ns};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCommandCapture(full, out);
}

int NetnsGroup::Sysctl(const std::string& ns, const std::string& assignment) {
  return Exec(ns, {"sysctl", "-qw", assignment});
}

NetnsLab::NetnsLab() {
  // IFNAMSIZ is 16: "hc" + pid (<= 7 digits) + "x" + seq + "a" fits.
  if_a = "hc" + group.Tag() + "a";
  if_b = "hc" + group.Tag() + "b";
}

Result<void> NetnsLab::Setup() {
  auto fail = [&](const Error& error) {
    Teardown();
    return tl::unexpected(error);
  };
  auto a = group.Add("a");
  if (!a) return fail(a.error());
  ns_a = *a;
  auto b = group.Add("b");
  if (!b) return fail(b.error());
  ns_b = *b;
  if (auto veth = group.AddVeth(ns_a, if_a, ns_b, if_b); !veth) return fail(veth.error());
  if (Ip(ns_a, {"addr", "add", "192.0.2.1/24", "dev", if_a}) != 0 ||
      Ip(ns_b, {"addr", "add", "192.0.2.2/24", "dev", if_b}) != 0) {
    return fail(Error{ErrorCode::kIo, "netns lab: addresses"});
  }
  if (Ip(ns_a, {"link", "set", if_a, "up"}) != 0 || Ip(ns_b, {"link", "set", if_b, "up"}) != 0) {
    return fail(Error{ErrorCode::kIo, "netns lab: link up"});
  }
  return {};
}

Result<void> NetnsSwitchLab::Setup() {
  auto fail = [&](const std::string& what) {
    Teardown();
    return MakeError(ErrorCode::kIo, "netns switch lab: " + what);
  };
  for (auto [role, ns] : {std::pair{"a", &ns_a}, std::pair{"b", &ns_b}, std::pair{"c", &ns_c}}) {
    auto made = group.Add(role);
    if (!made) return fail(made.error().context);
    *ns = *made;
  }
  if (Ip(ns_c, {"link", "add", bridge, "type", "bridge", "forward_delay", "0", "stp_state", "0",
                "mcast_snooping", "0"}) != 0) {
    return fail("bridge");
  }
  const std::pair<const std::string*, const char*> nodes[] = {{&ns_a, "pa"}, {&ns_b, "pb"}};
  for (const auto& [ns, port] : nodes) {
    if (!group.AddVeth(ns_c, port, *ns, node_if) ||
        Ip(ns_c, {"link", "set", port, "master", bridge, "up"}) != 0) {
      return fail(std::string("port ") + port);
    }
  }
  if (Ip(ns_a, {"addr", "add", "192.0.2.1/24", "dev", node_if}) != 0 ||
      Ip(ns_b, {"addr", "add", "192.0.2.2/24", "dev", node_if}) != 0 ||
      Ip(ns_c, {"addr", "add", "192.0.2.3/24", "dev", bridge}) != 0 ||
      Ip(ns_c, {"addr", "add", "2001:db8::3/64", "dev", bridge}) != 0) {
    return fail("addresses");
  }
  if (Ip(ns_a, {"link", "set", node_if, "up"}) != 0 ||
      Ip(ns_b, {"link", "set", node_if, "up"}) != 0 ||
      Ip(ns_c, {"link", "set", bridge, "up"}) != 0) {
    return fail("link up");
  }
  return {};
}

ScopedNetns::ScopedNetns(const std::string& ns) {
  saved_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (saved_ >= 0 && target >= 0) ok_ = setns(target, CLONE_NEWNET) == 0;
  if (target >= 0) close(target);
}

ScopedNetns::~ScopedNetns() {
  if (saved_ >= 0) {
    if (ok_ && setns(saved_, CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "ScopedNetns: cannot return to the original namespace\n");
      std::abort();  // carrying on would run later tests in the wrong namespace
    }
    close(saved_);
  }
}

void NetnsLabTest::SetUp() {
  HAFW_REQUIRE_ROOT_OR_SKIP();
  auto ok = lab_.Setup();
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
}

FrameCapture::FrameCapture(const std::string& ns, const std::string& ifname) {
  ScopedNetns in(ns);
  if (!in.Ok()) return;
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  // Inside the namespace, so if_nametoindex asks the right one.
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (fd_ < 0 || ifindex == 0) return;
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ALL);
  to.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) return;
  // The receive timeout lets Collect look at its deadline.
  timeval tv{0, 50000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ok_ = true;
}

FrameCapture::~FrameCapture() {
  if (fd_ >= 0) close(fd_);
}

bool FrameCapture::ReceiveIncoming(std::vector<uint8_t>& frame) {
  frame.resize(2048);
  sockaddr_ll from{};
  socklen_t len = sizeof(from);
  ssize_t n =
      recvfrom(fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) return false;
  frame.resize(static_cast<size_t>(n));
  return true;
}

int CountAddressesOn(const std::string& ifname, const std::vector<IpPrefix>& prefixes) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return -1;
  int n = 0;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || ifname != entry->ifa_name) continue;
    std::optional<IpAddress> address;
    if (entry->ifa_addr->sa_family == AF_INET) {
      const auto* in4 = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
      std::array<uint8_t, 4> bytes;
      std::memcpy(bytes.data(), &in4->sin_addr, bytes.size());
      address = IpAddress::V4(bytes);
    } else if (entry->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr);
      std::array<uint8_t, 16> bytes;
      std::memcpy(bytes.data(), &in6->sin6_addr, bytes.size());
      address = IpAddress::V6(bytes);
    }
    if (!address) continue;
    for (const auto& p : prefixes) n += p.address == *address ? 1 : 0;
  }
  freeifaddrs(list);
  return n;
}

}  // namespace hafw::testkit
