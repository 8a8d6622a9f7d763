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
//       not running).
//   CarpSocket (carp_socket.h)        raw protocol-112 socket, one family, one parent.
//   AddressManager (address_manager.h) rtnetlink add/remove/list addresses.
//   LinkMonitor, QueryLink (link_monitor.h) rtnetlink link state, ifindex, MAC.
//   Announcer (announcer.h)           gratuitous ARP and unsolicited NA.
//
// Not implemented yet: the virtual MAC (macvlan per vhid); a VhostIo with vmac
// set is refused by Create().

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
#include <boost/asio/steady_timer.hpp>

#include "carp/core/vhost_set.h"
#include "carp/io/address_manager.h"
#include "carp/io/announcer.h"
#include "carp/io/carp_socket.h"
#include "carp/io/link_monitor.h"
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
  bool vmac = false;  // 00:00:5e:00:01:<vhid> through a macvlan; not implemented yet
};

struct CarpIoCallbacks {
  // Every executed action with its outcome (logs, hooks, status).
  std::function<void(const carp::VhostAction& action, const Result<void>& outcome)> on_action;
  // Problems that are not the outcome of an action (a socket that could not be
  // reopened after its interface came back, a failed address refresh).
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
};

// Socket-level drops and traffic of one parent interface and family.
struct SocketStatus {
  std::string interface;
  IpFamily family = IpFamily::kV4;
  CarpSocketCounters counters;
};

class CarpIo {
 public:
  static Result<std::unique_ptr<CarpIo>> Create(boost::asio::io_context& io, const Clock& clock,
                                                std::unique_ptr<carp::VhostSet> vhosts,
                                                std::vector<VhostIo> vhost_io,
                                                CarpIoCallbacks callbacks);
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
  const AnnouncerCounters* Announcements() const;
  bool Running() const { return started_ && !stopped_; }

 private:
  struct Parent {
    std::string name;
    int ifindex = 0;
    MacAddress mac{};
    bool up = true;
    bool wants_v4 = false;
    bool wants_v6 = false;
    std::vector<IpAddress> vips;  // every VIP of every vhid here: never a source
    std::unique_ptr<CarpSocket> v4;
    std::unique_ptr<CarpSocket> v6;
    std::optional<IpAddress> source_v4;
    std::optional<IpAddress> source_v6;
  };

  CarpIo(boost::asio::io_context& io, const Clock& clock, std::unique_ptr<carp::VhostSet> vhosts,
         std::vector<VhostIo> vhost_io, CarpIoCallbacks callbacks);

  void Execute(carp::VhostActions actions);
  Result<void> Perform(const carp::VhostAction& action);
  Result<void> DoSend(Parent& parent, const carp::SendAdvertisement& send);
  void CountSend(bool ok);
  Result<void> OpenSockets(Parent& parent);
  void OnLink(const LinkInfo& link, bool up);
  void OnPacket(const std::string& ifname, const carp::PacketInfo& info,
                std::span<const uint8_t> bytes);
  bool IsLocal(const IpAddress& address);
  // Re-reads every address of the namespace (at most once a second unless forced).
  void RefreshAddresses(bool force);
  void ArmTimer();
  void ReportError(const Error& error);
  Parent* FindParent(std::string_view name);
  const VhostIo* FindVhostIo(std::string_view interface, uint8_t vhid) const;

  boost::asio::io_context& io_;
  const Clock& clock_;
  std::unique_ptr<carp::VhostSet> vhosts_;
  std::vector<VhostIo> vhost_io_;
  CarpIoCallbacks callbacks_;
  std::map<std::string, Parent, std::less<>> parents_;

  std::unique_ptr<LinkMonitor> links_;
  std::optional<AddressManager> addresses_;
  std::optional<Announcer> announcer_;
  boost::asio::steady_timer timer_;

  std::set<IpAddress> local_addresses_;
  std::optional<TimePoint> addresses_read_at_;

  std::deque<carp::VhostAction> pending_;
  bool draining_ = false;
  bool started_ = false;
  bool stopped_ = false;
  uint64_t send_successes_while_demoted_ = 0;
  CarpIoCounters counters_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace hafw::carp::io
