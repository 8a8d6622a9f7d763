#pragma once

// An unnamed network namespace that lives as long as this object (the kernel
// frees it when the last descriptor closes, so nothing is left behind even if
// the agent dies mid-check), with just enough rtnetlink to wire it up: veth
// pairs into another scratch namespace, addresses, links up. For the check of
// the user's ruleset (ruleset_probe.h); it never touches the agent's own
// namespace's interfaces.

#include <string>
#include <type_traits>

#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::firewall::nft {

class ScratchNetns {
 public:
  // A fresh namespace with `lo` up.
  static Result<ScratchNetns> Create();
  ScratchNetns(ScratchNetns&& other) noexcept;
  ScratchNetns& operator=(ScratchNetns&& other) noexcept;
  ScratchNetns(const ScratchNetns&) = delete;
  ScratchNetns& operator=(const ScratchNetns&) = delete;
  ~ScratchNetns();

  // Runs f() on the calling thread inside this namespace; sockets f() opens
  // stay in it. The thread is back in its own namespace afterwards.
  template <typename F>
  auto Run(F&& f) -> Result<std::invoke_result_t<F>> {
    auto entered = Enter();
    if (!entered) return tl::unexpected(entered.error());
    if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
      f();
      auto left = Leave(*entered);
      if (!left) return tl::unexpected(left.error());
      return {};
    } else {
      auto value = f();
      auto left = Leave(*entered);
      if (!left) return tl::unexpected(left.error());
      return value;
    }
  }

  // A veth pair, `name` here and `peer_name` in `peer`, both up; returns
  // once both are operationally up (they pass traffic).
  Result<void> AddVeth(const std::string& name, ScratchNetns& peer, const std::string& peer_name);
  // `prefix` on `ifname` (IPv6 without duplicate address detection).
  Result<void> AddAddress(const std::string& ifname, const IpPrefix& prefix);

 private:
  explicit ScratchNetns(int fd) : fd_(fd) {}
  // Moves the thread in; returns a descriptor of where it was.
  Result<int> Enter();
  Result<void> Leave(int saved);

  int fd_ = -1;
};

}  // namespace hafw::firewall::nft
