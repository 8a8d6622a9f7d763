#pragma once

// The optional virtual MAC of a vhid (`vmac = true`): a macvlan on the parent
// interface carrying 00:00:5e:00:01:<vhid>. CarpIo creates it at Start (down),
// brings it up and puts the VIPs on it while the vhid is MASTER, takes the VIPs
// off and brings it down otherwise, and deletes it at Shutdown.
//
// Mode private, not bridge: in bridge mode a frame that one of our macvlans
// sends to 00:00:5e:00:01:N would be delivered to our own (BACKUP) macvlan for
// vhid N instead of the peer that is MASTER of N; private mode always sends to
// the wire. (keepalived's use_vmac makes the same choice.)
//
// Down while not MASTER, because an up macvlan accepts frames for its MAC: a
// switch that floods unknown unicast would otherwise make the BACKUP receive,
// and a firewall forward, traffic meant for the MASTER (the BSDs accept the
// virtual MAC only while MASTER, carp-protocol.md §4.2).
//
// rtnetlink through hafw_netlink, synchronous like AddressManager.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "carp/io/adapters.h"
#include "carp/io/io_types.h"
#include "carp/io/mac_address.h"
#include "common/result.h"
#include "netlink/netlink_socket.h"

namespace hafw::carp::io {

// "vh<vhid>.<parent>" (e.g. "vh10.eth0") when it fits in IFNAMSIZ - 1 = 15
// characters, else "vh<vhid>x<parent ifindex in hex>" (e.g. "vh10x1a"). The two
// forms never collide: the first has '.' after the digits, the second 'x'.
std::string VmacInterfaceName(std::string_view parent, int parent_ifindex, uint8_t vhid);

// What CarpIo sets on the parent of a vmac vhid: the parent must not answer ARP
// for a VIP that lives on the macvlan with its own MAC (arp_ignore 1: answer
// only for addresses of the receiving interface), nor put a VIP as sender in
// its own ARP requests (arp_announce 2). Values already stricter are kept.
ArpSettings ParentArpSettings(const ArpSettings& current);
// And on the macvlan: answer only for its own addresses (so never for the
// parent's real address with the virtual MAC), never announce another
// interface's address, and loose reverse-path filtering (replies to a VIP
// arrive on the macvlan while the connected route of the subnet may point at
// the parent; strict mode would drop them).
inline constexpr ArpSettings kMacvlanArpSettings{1, 2, 2};

struct MacvlanLink {
  int ifindex = 0;
  std::string name;
  bool is_macvlan = false;
  int lower_ifindex = 0;  // IFLA_LINK: the parent
  uint32_t mode = 0;      // MACVLAN_MODE_*
  MacAddress mac{};
  bool admin_up = false;
};

class VmacLinks final : public VmacControl {
 public:
  // Opens the netlink socket in the calling thread's network namespace.
  static Result<VmacLinks> Open();

  // The link with this name, nullopt if there is none.
  Result<std::optional<MacvlanLink>> Find(const std::string& name);
  // Creates the macvlan (mode private, MAC `mac`, left down) on the parent and
  // prepares it: no IPv6 address generation (both nodes would derive the same
  // link-local address from the shared MAC) and kMacvlanArpSettings. A leftover
  // of a crashed run (a macvlan with this name on the same parent) is deleted
  // and created anew; any other link with this name is an error.
  Result<CreatedVmac> Create(const std::string& name, int parent_ifindex,
                             const MacAddress& mac) override;
  Result<void> SetUp(int ifindex, bool up) override;
  // An interface that no longer exists counts as deleted.
  Result<void> Delete(int ifindex) override;

  Result<ArpSettings> GetArpSettings(int ifindex) override;
  Result<void> SetArpSettings(int ifindex, const ArpSettings& settings) override;

 private:
  explicit VmacLinks(netlink::NetlinkSocket socket) : socket_(std::move(socket)) {}
  Result<void> DisableIpv6AddressGeneration(int ifindex);

  netlink::NetlinkSocket socket_;
};

}  // namespace hafw::carp::io
