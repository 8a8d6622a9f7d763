#pragma once

// Tells the segment that a VIP moved here: gratuitous ARP (request form, sender
// IP = target IP = VIP, Ethernet broadcast) through an AF_PACKET socket, and an
// unsolicited neighbour advertisement to ff02::1 (Override set, Router set when
// the interface forwards IPv6, target link-layer address option) through a raw
// ICMPv6 socket with hop limit 255. Send-only; synchronous.

#include <cstdint>
#include <string>

#include "carp/io/adapters.h"
#include "carp/io/mac_address.h"
#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::carp::io {

struct AnnouncerCounters {
  uint64_t arps_sent = 0;
  uint64_t nas_sent = 0;
  uint64_t errors = 0;
};

class Announcer final : public VipAnnouncer {
 public:
  // Opens both sockets in the calling thread's network namespace.
  static Result<Announcer> Open();
  Announcer(Announcer&&) noexcept;
  Announcer& operator=(Announcer&&) noexcept;
  ~Announcer() override;

  // `mac` is the sender hardware address: the interface MAC, or the virtual
  // MAC when the vhid uses one.
  Result<void> GratuitousArp(int ifindex, const MacAddress& mac, const IpAddress& vip);
  // `ifname` is used to read /proc/sys/net/ipv6/conf/<ifname>/forwarding.
  Result<void> UnsolicitedNa(const std::string& ifname, int ifindex, const MacAddress& mac,
                             const IpAddress& vip);
  // Dispatches on the VIP's family.
  Result<void> Announce(const std::string& ifname, int ifindex, const MacAddress& mac,
                        const IpAddress& vip) override;

  const AnnouncerCounters& Counters() const { return counters_; }

 private:
  Announcer(int packet_fd, int icmp6_fd) : packet_fd_(packet_fd), icmp6_fd_(icmp6_fd) {}
  void CloseAll();

  int packet_fd_ = -1;
  int icmp6_fd_ = -1;
  AnnouncerCounters counters_;
};

// Whether the interface forwards IPv6 (sets the NA Router flag); false if unreadable.
bool Ipv6Forwarding(const std::string& ifname);

}  // namespace hafw::carp::io
