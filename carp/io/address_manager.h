#pragma once

// Adds, removes and lists interface addresses through rtnetlink (libmnl).
// Synchronous: each call is one netlink request and its reply, done in
// microseconds by the kernel, so callers may use it from the event loop.

#include <cstdint>
#include <span>
#include <vector>

#include "carp/io/netlink.h"
#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::carp::io {

struct InterfaceAddress {
  int ifindex = 0;
  IpPrefix prefix;
  uint32_t flags = 0;  // IFA_F_* (from IFA_FLAGS when present)

  // Not usable as a source yet (DAD running) or never (DAD failed).
  bool Tentative() const;
};

class AddressManager {
 public:
  // Opens the netlink socket in the calling thread's network namespace.
  static Result<AddressManager> Open();

  // Adds `prefix` to the interface; IPv6 with IFA_F_NODAD so a VIP is usable at
  // once. Already present (EEXIST) counts as success.
  Result<void> Add(int ifindex, const IpPrefix& prefix);
  // Removes it; not present (EADDRNOTAVAIL) counts as success.
  Result<void> Remove(int ifindex, const IpPrefix& prefix);
  // Addresses of one interface, or of every interface when ifindex is 0.
  Result<std::vector<InterfaceAddress>> List(int ifindex = 0);
  // Removes every address of the interface whose address equals one of
  // `prefixes` (whatever its prefix length): leftovers of a crashed run.
  // Returns how many were removed.
  Result<int> RemoveIfPresent(int ifindex, std::span<const IpPrefix> prefixes);

 private:
  explicit AddressManager(NetlinkSocket socket) : socket_(std::move(socket)) {}
  Result<void> Change(uint16_t type, uint16_t flags, int ifindex, const IpPrefix& prefix);

  NetlinkSocket socket_;
};

}  // namespace hafw::carp::io
