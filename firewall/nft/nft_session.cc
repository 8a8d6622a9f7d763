#include "firewall/nft/nft_session.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <set>
#include <string>
#include <string_view>

namespace hafw::firewall::nft {

namespace {

// The descriptors open in this process (not the one reading the list).
std::set<int> OpenDescriptors() {
  std::set<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int own = dirfd(dir);
  while (const dirent* entry = readdir(dir)) {
    const std::string_view name = entry->d_name;
    int fd = -1;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (ec == std::errc() && end == name.data() + name.size() && fd != own) fds.insert(fd);
  }
  closedir(dir);
  return fds;
}

bool IsNetfilterSocket(int fd) {
  int domain = 0;
  int protocol = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_NETLINK) {
    return false;
  }
  len = sizeof(protocol);
  return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0 &&
         protocol == NETLINK_NETFILTER;
}

std::string Trimmed(const char* text) {
  std::string s = text == nullptr ? "" : text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<std::unique_ptr<NftSession>> NftSession::Open() {
  const std::set<int> before = OpenDescriptors();
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) return MakeError(ErrorCode::kIo, "nftables: cannot create a context");
  // The socket nft_ctx_new just opened (libnftables 1.0.6 opens it there):
  // the only new netfilter socket. Another thread opening one at the same
  // moment could only make the port ambiguous; then we refuse.
  int found = -1;
  int candidates = 0;
  for (int fd : OpenDescriptors()) {
    if (before.count(fd) == 0 && IsNetfilterSocket(fd)) {
      found = fd;
      ++candidates;
    }
  }
  // It is not bound yet (the kernel would pick a port at the first send):
  // bind it now, to port 0 = "kernel's choice", so its port is known.
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  socklen_t len = sizeof(addr);
  if (candidates != 1 || bind(found, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0 ||
      getsockname(found, reinterpret_cast<sockaddr*>(&addr), &len) < 0 || addr.nl_pid == 0) {
    nft_ctx_free(ctx);
    return MakeError(ErrorCode::kInternal,
                     "nftables: cannot identify the context's netlink socket (" +
                         std::to_string(candidates) + " candidates)");
  }
  fcntl(found, F_SETFD, fcntl(found, F_GETFD) | FD_CLOEXEC);
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
    nft_ctx_free(ctx);
    return MakeError(ErrorCode::kIo, "nftables: cannot buffer output");
  }
  return std::unique_ptr<NftSession>(new NftSession(ctx, addr.nl_pid));
}

NftSession::~NftSession() { nft_ctx_free(ctx_); }

Result<std::string> NftSession::RunBuffer(std::string_view commands, bool dry_run) {
  nft_ctx_set_dry_run(ctx_, dry_run);
  const std::string buffer(commands);
  const int rc = nft_run_cmd_from_buffer(ctx_, buffer.c_str());
  nft_ctx_set_dry_run(ctx_, false);
  // Reading a buffer also resets it for the next command.
  std::string output = nft_ctx_get_output_buffer(ctx_);
  std::string errors = Trimmed(nft_ctx_get_error_buffer(ctx_));
  if (rc != 0) {
    return MakeError(ErrorCode::kIo, "nftables: " + (errors.empty() ? "command failed" : errors));
  }
  return output;
}

Result<std::string> NftSession::Run(std::string_view commands) {
  return RunBuffer(commands, false);
}

Result<void> NftSession::Check(std::string_view commands) {
  auto r = RunBuffer(commands, true);
  if (!r) return tl::unexpected(r.error());
  return {};
}

}  // namespace hafw::firewall::nft
