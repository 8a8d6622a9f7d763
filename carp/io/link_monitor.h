#pragma once

// The namespace's links and addresses through rtnetlink: one dump of each at
// start, then RTNLGRP_LINK / RTNLGRP_IPV4_IFADDR / RTNLGRP_IPV6_IFADDR events
// read on the io_context, and a re-dump only when the kernel reports that
// events were lost (ENOBUFS). Also the namespace-correct way to map interface
// names to ifindex and MAC (if_nametoindex would use the calling thread's
// namespace).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "carp/io/adapters.h"
#include "carp/io/io_types.h"
#include "common/result.h"
#include "netlink/netlink_socket.h"

namespace hafw::carp::io {

// One synchronous RTM_GETLINK by name, for callers without a monitor.
Result<LinkInfo> QueryLink(std::string_view name);

struct LinkMonitorOptions {
  // Receive buffer of the event socket. Bursts beyond it overrun; the monitor
  // recovers with a re-dump (tests make it tiny to see that happen).
  int event_buffer_bytes = 1 << 20;
};

class LinkMonitor final : public NetworkMonitor {
 public:
  using ChangeFn = LinkFn;

  // Subscribes, then dumps every link and address (no callbacks for the
  // initial dumps: ask Find() and Addresses()). Sockets belong to the calling
  // thread's network namespace.
  static Result<std::unique_ptr<LinkMonitor>> Create(boost::asio::io_context& io, LinkFn on_link,
                                                     AddressFn on_address = {},
                                                     const LinkMonitorOptions& options = {});
  ~LinkMonitor() override;
  LinkMonitor(const LinkMonitor&) = delete;
  LinkMonitor& operator=(const LinkMonitor&) = delete;

  std::optional<LinkInfo> Find(std::string_view name) const override;
  std::optional<LinkInfo> Find(int ifindex) const override;
  const std::vector<InterfaceAddress>& Addresses() const override { return addresses_; }
  // Stops reading events; Find() keeps answering from the last known table.
  void Stop() override;
  uint64_t AddressDumps() const override { return address_dumps_; }

  // Times the event stream overflowed (ENOBUFS) and the tables were re-dumped.
  uint64_t Resyncs() const { return resyncs_; }
  // Link and address events applied.
  uint64_t Events() const { return events_; }
  const netlink::SocketCounters& EventSocketCounters() const { return events_socket_.Counters(); }

 private:
  LinkMonitor(boost::asio::io_context& io, netlink::NetlinkSocket events,
              netlink::NetlinkSocket requests, LinkFn on_link, AddressFn on_address);
  Result<void> DumpLinks(bool report);
  Result<void> DumpAddresses(bool report);
  // After an overrun: the queued events are older than the dumps, so they go.
  void Resync();
  void OnEvent(const nlmsghdr& msg);
  void ApplyLink(const LinkInfo& link, bool deleted, bool report);
  void ApplyAddress(const InterfaceAddress& address, bool deleted, bool report);
  void ArmRead();
  void OnReadable();

  netlink::NetlinkSocket events_socket_;
  netlink::NetlinkSocket requests_;
  std::vector<char> request_buffer_;
  boost::asio::posix::stream_descriptor descriptor_;
  LinkFn on_link_;
  AddressFn on_address_;
  std::map<int, LinkInfo> links_;            // by ifindex
  std::vector<InterfaceAddress> addresses_;  // per interface in arrival (kernel) order
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  bool stopped_ = false;
  bool resync_pending_ = false;  // the last resync failed: retried on the next wake-up
  uint64_t resyncs_ = 0;
  uint64_t events_ = 0;
  uint64_t address_dumps_ = 0;
};

}  // namespace hafw::carp::io
