#pragma once

// Fakes of carp/io's adapters (carp/io/adapters.h), tests only: CarpIo runs on
// them without root, a kernel or real time. One FakeNetwork stands for the
// kernel: links, addresses, sockets, the timer, and a journal of everything
// CarpIo asked for, in order. The test owns it and must keep it alive until
// the CarpIo that uses it is destroyed.
//
//   fakes::FakeNetwork net;
//   const int eth0 = net.AddLink("eth0");
//   net.AddAddress(eth0, "192.0.2.1/24");
//   ManualClock clock;
//   auto io = CarpIo::Create(clock, std::move(set), vhosts, callbacks, net.Adapters());
//   (*io)->Start();
//   net.RunTimers(clock, clock.Now() + Seconds(4));   // virtual time
//   EXPECT_THAT(net.journal, Contains("add 192.0.2.100/24 on 1"));
//
// Like the kernel's, events are asynchronous: link and address changes apply
// to the "kernel" at once, the monitor hears of them on DeliverEvents().

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "carp/io/adapters.h"
#include "common/clock.h"

namespace hafw::carp::fakes {

class FakeMonitor;
class FakeTransport;
class FakeTimer;

// One packet CarpIo sent.
struct SentPacket {
  std::string interface;
  IpFamily family = IpFamily::kV4;
  IpAddress source;
  std::optional<IpAddress> unicast_destination;
  std::vector<uint8_t> bytes;
};

class FakeNetwork {
 public:
  FakeNetwork();
  ~FakeNetwork();
  FakeNetwork(const FakeNetwork&) = delete;
  FakeNetwork& operator=(const FakeNetwork&) = delete;

  // Adapters for one CarpIo, all backed by this network.
  std::unique_ptr<io::CarpIoAdapters> Adapters();

  // --- the "kernel" -------------------------------------------------------
  // A new link (up and running unless told otherwise); returns its ifindex.
  int AddLink(const std::string& name, bool up = true);
  // Up/down (carrier) or gone (with its addresses).
  void SetLinkUp(const std::string& name, bool up);
  void DeleteLink(int ifindex);
  const io::LinkInfo* Link(std::string_view name) const;

  void AddAddress(int ifindex, std::string_view prefix, uint32_t flags = 0);
  void RemoveAddress(int ifindex, std::string_view prefix);
  // Hands the queued link and address events to the monitor, in order;
  // returns how many. Bounded (events the callbacks cause are delivered too).
  size_t DeliverEvents();
  bool HasAddress(int ifindex, const IpAddress& address) const;

  // A datagram arriving on the receiving socket of (ifname, family): the
  // socket fills from_local_address like CarpSocket does. False without one.
  bool Receive(const std::string& ifname, const carp::PacketInfo& info,
               std::span<const uint8_t> carp_bytes);

  // The timer: its deadline, if armed, and firing it.
  std::optional<TimePoint> TimerDeadline() const;
  bool FireTimer();
  // Fires the timer at each deadline up to `until` (setting the clock to it),
  // then sets the clock to `until`. Bounded: at most 100000 firings.
  void RunTimers(ManualClock& clock, TimePoint until);

  // --- what CarpIo did ----------------------------------------------------
  // "open ipv4 eth0", "open-send ipv4 vh1.eth0", "close ipv4 eth0",
  // "add 192.0.2.100/24 on 1", "remove ...", "remove-leftover ...",
  // "announce 192.0.2.100 on eth0 (1) from 02:00:00:00:00:01",
  // "vmac-create vh1.eth0 on 1", "vmac-up 3", "vmac-down 3", "vmac-delete 3",
  // "arp 1 1/2/0".
  std::vector<std::string> journal;
  std::vector<SentPacket> sent;
  // Entries of `journal` starting with `prefix`, in order.
  std::vector<std::string> Journal(std::string_view prefix) const;

  // --- failure switches ---------------------------------------------------
  bool fail_sends = false;
  bool fail_address_changes = false;
  bool fail_announces = false;
  bool fail_vmac_create = false;

  // How often the monitor dumped the addresses (once per monitor opened).
  uint64_t address_dumps = 0;
  // How often CarpIo armed the timer.
  uint64_t timer_arms = 0;

 private:
  friend class FakeMonitor;
  friend class FakeTransport;
  friend class FakeTimer;
  friend class FakeAddresses;
  friend class FakeAnnouncer;
  friend class FakeVmacs;

  struct Event {
    bool is_link = false;
    io::LinkInfo link;
    io::InterfaceAddress address;
    bool present = false;  // link: up; address: present
  };
  void QueueAddressEvent(const io::InterfaceAddress& address, bool present);
  void QueueLinkEvent(const io::LinkInfo& link, bool up);

  int next_ifindex_ = 1;
  std::vector<io::LinkInfo> links_;
  std::vector<io::InterfaceAddress> addresses_;
  std::deque<Event> events_;
  std::map<int, io::ArpSettings> arp_;
  FakeMonitor* monitor_ = nullptr;
  FakeTimer* timer_ = nullptr;
  std::vector<FakeTransport*> sockets_;
};

}  // namespace hafw::carp::fakes
