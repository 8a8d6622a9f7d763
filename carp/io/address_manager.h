#pragma once

// Adds, removes and lists interface addresses through rtnetlink. Synchronous:
// each call is one netlink request and its reply (bounded by the socket's
// receive timeout), done in microseconds by the kernel, so callers may use it
// from the event loop. It is never called per packet: CarpIo learns the
// addresses from the monitor's events.

#include <cstdint>
#include <span>
#include <vector>

#include "carp/io/adapters.h"
#include "carp/io/io_types.h"
#include "common/ip_address.h"
#include "common/result.h"
#include "netlink/netlink_socket.h"

namespace hafw::carp::io {

class AddressManager final : public AddressControl {
 public:
  // Opens the netlink socket in the calling thread's network namespace.
  static Result<AddressManager> Open();

  // Adds `prefix` to the interface; IPv6 with IFA_F_NODAD so a VIP is usable at
  // once. Already present (EEXIST) counts as success.
  Result<void> Add(int ifindex, const IpPrefix& prefix) override;
  // Removes it; not present (EADDRNOTAVAIL) counts as success.
  Result<void> Remove(int ifindex, const IpPrefix& prefix) override;
  // Addresses of one interface, or of every interface when ifindex is 0.
  Result<std::vector<InterfaceAddress>> List(int ifindex = 0);
  // Removes every address of the interface whose address equals one of
  // `prefixes` (whatever its prefix length): leftovers of a crashed run.
  // Returns how many were removed.
  Result<int> RemoveIfPresent(int ifindex, std::span<const IpPrefix> prefixes) override;

 private:
  explicit AddressManager(netlink::NetlinkSocket socket) : socket_(std::move(socket)) {}
  Result<void> Change(uint16_t type, uint16_t flags, int ifindex, const IpPrefix& prefix);

  netlink::NetlinkSocket socket_;
};

// Puts an RTM_GETADDR dump request (every family, every interface) on `buffer`
// (at least netlink::kRequestBufferSize bytes) and returns it.
nlmsghdr* PutAddressDump(char* buffer);

}  // namespace hafw::carp::io
