#pragma once

// The values carp/io's adapters exchange with CarpIo (and with the fakes of
// carp/testing): links, addresses, ARP settings, socket counters. No netlink,
// Asio or socket types here.

#include <cstdint>
#include <string>

#include "carp/io/mac_address.h"
#include "common/ip_address.h"

namespace hafw::carp::io {

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  MacAddress mac{};       // zero when the link has no 6-byte hardware address
  unsigned flags = 0;     // IFF_*
  uint8_t operstate = 0;  // IF_OPER_*

  // Usable for CARP: administratively up and the kernel says it is running
  // (carrier and operstate up).
  bool Up() const;
};

struct InterfaceAddress {
  int ifindex = 0;
  IpPrefix prefix;
  uint32_t flags = 0;  // IFA_F_* (from IFA_FLAGS when present)

  // Not usable as a source yet (DAD running) or never (DAD failed).
  bool Tentative() const;
  // An IPv4 address in the subnet of another one (IFA_F_SECONDARY).
  bool Secondary() const;
  // The same kernel entry: interface, address and prefix length.
  bool SameEntry(const InterfaceAddress& other) const {
    return ifindex == other.ifindex && prefix == other.prefix;
  }
};

// The IPv4 per-interface settings that decide who answers ARP and which
// source an ARP request carries (the kernel uses max(all, interface) of each).
struct ArpSettings {
  uint32_t arp_ignore = 0;
  uint32_t arp_announce = 0;
  uint32_t rp_filter = 0;
  bool operator==(const ArpSettings&) const = default;
};

struct CreatedVmac {
  int ifindex = 0;
  bool replaced_leftover = false;
};

struct CarpSocketCounters {
  uint64_t received = 0;        // handed to the callback
  uint64_t short_packets = 0;   // fewer bytes than a minimal IPv4 header
  uint64_t truncated = 0;       // larger than the buffer, or IP length > bytes received
  uint64_t bad_ip_header = 0;   // version, IHL, total length or protocol inconsistent
  uint64_t receive_errors = 0;  // recvmsg failed with something other than EAGAIN
  uint64_t sent = 0;
  uint64_t send_errors = 0;
};

}  // namespace hafw::carp::io
