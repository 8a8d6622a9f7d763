#pragma once

// carp/io: CARP on real Linux interfaces. Public API of this folder:
//
//   CarpIo (this file)  Runs a carp::VhostSet on one boost::asio::io_context:
//       one steady_timer armed from VhostSet::NextDeadline(), raw CARP sockets per
//       parent interface and family, rtnetlink link events, VIP install/remove,
//       gratuitous ARP / unsolicited NA. Executes the engine's actions in order
//       and reports each one (with its outcome) to the caller's callback.
//         auto io = CarpIo::Create(ctx, clock, std::move(set), vhosts, callbacks);
//         (*io)->Start();      // leftover VIPs removed, sockets open, VhostSet::Start
//         ctx.run();
//         (*io)->Shutdown();   // bow-out sent and VIPs removed before it returns
//       Demotion sources that live outside carp (sync, admin, maintenance) go
//       through CarpIo::AdjustDemotion / SetDemotion so the resulting actions run.
//       All methods must be called on the io_context's thread (or while it is
//       not running). CarpIo::Create(clock, set, vhosts, callbacks, adapters)
//       runs the same logic on other adapters (carp/testing's fakes).
//   CarpIoAdapters (adapters.h)       the interfaces below, LinuxAdapters(io).
//   CarpSocket (carp_socket.h)        raw protocol-112 socket, one family, one parent.
//   AddressManager (address_manager.h) rtnetlink add/remove/list addresses.
//   LinkMonitor, QueryLink (link_monitor.h) links and addresses from rtnetlink
//                                     events; the address cache behind the
//                                     own-source check (no dump per packet).
//   Announcer (announcer.h)           gratuitous ARP and unsolicited NA.
//   VmacLinks (vmac.h)                the macvlan of a vhid with a virtual MAC.
//
// Virtual MAC (VhostIo::vmac): the vhid gets a macvlan "vh<vhid>.<parent>"
// (vmac.h for the name rule) with MAC 00:00:5e:00:01:<vhid>, created at Start
// (a leftover of a crashed run is replaced) and deleted at Shutdown. While
// MASTER the macvlan is up and holds the VIPs, gratuitous ARPs / NAs carry the
// virtual MAC, and the vhid's multicast (and IPv4 unicast) advertisements are
// sent through it so switches keep the virtual MAC learned on the MASTER's
// port (as the BSDs do); otherwise it is down without addresses. The parent
// gets arp_ignore 1 / arp_announce 2 (restored at Shutdown) so it never answers
// ARP for a VIP with its own MAC. Advertisements are received on the parent.
// IPv6 unicast advertisements leave from the parent: the macvlan has no
// link-local address (both nodes would derive the same one from the shared MAC)
// and Linux cannot resolve a neighbour without one.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "carp/core/send_error_policy.h"
#include "carp/core/vhost_set.h"
#include "carp/io/adapters.h"
#include "carp/io/io_types.h"
// Not needed here any more, but callers got them through this header.
#include "carp/io/address_manager.h"
#include "carp/io/announcer.h"
#include "carp/io/carp_socket.h"
#include "carp/io/link_monitor.h"
#include "carp/io/vmac.h"
#include "common/clock.h"
#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::carp::io {

// What the caller supplies per (parent interface, vhid): the VIPs with their
// prefix lengths (their addresses must equal the engine's VhostConfig::vips).
struct VhostIo {
  std::string interface;
  uint8_t vhid = 0;
  std::vector<IpPrefix> vips;
  bool vmac = false;  // 00:00:5e:00:01:<vhid> through a macvlan (see above)
};

struct CarpIoCallbacks {
  // Every executed action with its outcome (logs, hooks, status).
  std::function<void(const carp::VhostAction& action, const Result<void>& outcome)> on_action;
  // Problems that are not the outcome of an action (a socket that could not be
  // reopened after its interface came back, a macvlan that could not be
  // restored).
  std::function<void(const Error& error)> on_error;
};

struct CarpIoCounters {
  uint64_t adverts_sent = 0;
  uint64_t send_errors = 0;
  uint64_t consecutive_send_errors = 0;
  bool send_errors_demoted = false;  // "send-errors" raised in group "all"
  uint64_t vip_errors = 0;           // install/remove failures
  uint64_t announce_errors = 0;
  uint64_t leftover_vips_removed = 0;
  uint64_t link_events = 0;
  uint64_t leftover_vmacs_replaced = 0;  // macvlans of a crashed run, created anew
  uint64_t vmacs_restored = 0;           // macvlans re-created after they vanished
  uint64_t address_events = 0;           // address changes applied to the local-address cache
};

// Socket-level drops and traffic of one parent interface and family.
struct SocketStatus {
  std::string interface;
  IpFamily family = IpFamily::kV4;
  CarpSocketCounters counters;
};

class CarpIo {
 public:
  // On the real kernel: LinuxAdapters(io).
  static Result<std::unique_ptr<CarpIo>> Create(boost::asio::io_context& io, const Clock& clock,
                                                std::unique_ptr<carp::VhostSet> vhosts,
                                                std::vector<VhostIo> vhost_io,
                                                CarpIoCallbacks callbacks);
  // On any adapters (fakes in unit tests).
  static Result<std::unique_ptr<CarpIo>> Create(const Clock& clock,
                                                std::unique_ptr<carp::VhostSet> vhosts,
                                                std::vector<VhostIo> vhost_io,
                                                CarpIoCallbacks callbacks,
                                                std::unique_ptr<CarpIoAdapters> adapters);
  ~CarpIo();  // Shutdown() if still running
  CarpIo(const CarpIo&) = delete;
  CarpIo& operator=(const CarpIo&) = delete;

  // Resolves the parents, removes leftover VIPs of our vhids, opens the sockets,
  // reports parents that are down, then starts every vhid. Sockets belong to
  // the calling thread's network namespace.
  Result<void> Start();
  // VhostSet::Stop, executed synchronously (bow-out sent, VIPs removed), then
  // closes everything. Idempotent.
  void Shutdown();

  void AdjustDemotion(std::string_view group, std::string_view reason, int delta);
  void SetDemotion(std::string_view group, std::string_view reason, int count);

  const carp::VhostSet& Vhosts() const { return *vhosts_; }
  const CarpIoCounters& Counters() const { return counters_; }
  std::vector<SocketStatus> Sockets() const;
  bool Running() const { return started_ && !stopped_; }
  // The macvlan of a vhid with a virtual MAC ("" without one).
  std::string VmacInterface(std::string_view interface, uint8_t vhid) const;
  // RTM_GETADDR dumps so far: one at Start, then only after event overruns.
  uint64_t AddressDumps() const;
  // Whether an address is one of this node's, as the own-source check sees it.
  bool IsLocal(const IpAddress& address) const { return local_addresses_.contains(address); }

 private:
  struct Parent {
    std::string name;
    int ifindex = 0;
    MacAddress mac{};
    bool up = true;
    bool wants_v4 = false;
    bool wants_v6 = false;
    std::vector<IpAddress> vips;  // every VIP of every vhid here: never a source
    std::unique_ptr<CarpTransport> v4;
    std::unique_ptr<CarpTransport> v6;
    std::optional<IpAddress> source_v4;
    std::optional<IpAddress> source_v6;
    bool has_vmac = false;
    std::optional<ArpSettings> saved_arp;  // before we changed it; restored at Shutdown
  };
  // One vhid's I/O: its VIPs and, with a virtual MAC, its macvlan.
  struct Vhid {
    VhostIo io;
    bool has_v4 = false;
    bool has_v6 = false;
    std::string vmac_name;                   // set at Start
    int vmac_ifindex = 0;                    // 0: not created, or gone
    std::unique_ptr<CarpTransport> send_v4;  // through the macvlan
    std::unique_ptr<CarpTransport> send_v6;
  };

  CarpIo(const Clock& clock, std::unique_ptr<carp::VhostSet> vhosts, std::vector<VhostIo> vhost_io,
         CarpIoCallbacks callbacks, std::unique_ptr<CarpIoAdapters> adapters);

  Result<void> StartImpl();
  void Execute(carp::VhostActions actions);
  Result<void> Perform(const carp::VhostAction& action);
  Result<void> DoSend(Parent& parent, Vhid& vhid, const carp::SendAdvertisement& send);
  void CountSend(bool ok);
  Result<void> ChangeVips(Parent& parent, Vhid& vhid, bool install);
  // Gratuitous ARP / NA for every VIP of the vhid (from its macvlan with one).
  Result<void> AnnounceVips(Parent& parent, Vhid& vhid);

  // carp_io_vmac.cc: parent ARP settings, then the vhid's macvlan and its send sockets.
  Result<void> PrepareParentForVmac(Parent& parent);
  Result<void> CreateVmac(Parent& parent, Vhid& vhid);
  // Re-creates a macvlan that vanished (with its parent, or by hand); a MASTER
  // gets its VIPs back and announces them.
  void RestoreVmac(Parent& parent, Vhid& vhid);
  // Deletes every macvlan and restores the parents' ARP settings.
  void ReleaseVmacs();

  // carp_io_network.cc: sockets, link and address events, the address cache.
  Result<void> OpenSockets(Parent& parent);
  void OnLink(const LinkInfo& link, bool up);
  void OnAddress(const InterfaceAddress& address, bool present);
  void OnPacket(const std::string& ifname, const carp::PacketInfo& info,
                std::span<const uint8_t> bytes);
  // Rebuilds the local-address set and the parents' sources from the monitor.
  void RecomputeAddresses();

  void ArmTimer();
  void ReportError(const Error& error);
  // "eth0 vhid 3", for messages.
  static std::string VhostName(std::string_view interface, uint8_t vhid);
  Parent* FindParent(std::string_view name);
  Vhid* FindVhid(std::string_view interface, uint8_t vhid);

  const Clock& clock_;
  std::unique_ptr<carp::VhostSet> vhosts_;
  std::vector<Vhid> vhids_;
  CarpIoCallbacks callbacks_;
  std::unique_ptr<CarpIoAdapters> adapters_;
  std::map<std::string, Parent, std::less<>> parents_;

  std::unique_ptr<NetworkMonitor> links_;
  std::unique_ptr<AddressControl> addresses_;
  std::unique_ptr<VipAnnouncer> announcer_;
  std::unique_ptr<VmacControl> vmac_links_;  // only when a vhid has a virtual MAC
  std::unique_ptr<DeadlineTimer> timer_;
  std::optional<TimePoint> armed_deadline_;

  std::set<IpAddress> local_addresses_;

  std::deque<carp::VhostAction> pending_;
  bool draining_ = false;
  bool started_ = false;
  bool stopped_ = false;
  carp::SendErrorPolicy send_errors_;
  CarpIoCounters counters_;
};

}  // namespace hafw::carp::io
