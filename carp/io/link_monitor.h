#pragma once

// Parent link state through rtnetlink: an initial dump, then RTMGRP_LINK events
// read on the io_context. Also the namespace-correct way to map interface names
// to ifindex and MAC (if_nametoindex would use the calling thread's namespace).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "carp/io/mac_address.h"
#include "carp/io/netlink.h"
#include "common/result.h"

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

// One synchronous RTM_GETLINK by name, for callers without a monitor.
Result<LinkInfo> QueryLink(std::string_view name);

class LinkMonitor {
 public:
  // Called when a link appears, disappears (up = false) or its Up() changes.
  using ChangeFn = std::function<void(const LinkInfo& link, bool up)>;

  // Subscribes, then dumps every link (no callbacks for the initial dump: ask
  // Find()). Sockets belong to the calling thread's network namespace.
  static Result<std::unique_ptr<LinkMonitor>> Create(boost::asio::io_context& io,
                                                     ChangeFn on_change);
  ~LinkMonitor();
  LinkMonitor(const LinkMonitor&) = delete;
  LinkMonitor& operator=(const LinkMonitor&) = delete;

  std::optional<LinkInfo> Find(std::string_view name) const;
  std::optional<LinkInfo> Find(int ifindex) const;
  // Stops reading events; Find() keeps answering from the last known table.
  void Stop();

  // Times the event stream overflowed (ENOBUFS) and the table was re-dumped.
  uint64_t Resyncs() const { return resyncs_; }
  uint64_t Events() const { return events_; }

 private:
  LinkMonitor(boost::asio::io_context& io, NetlinkSocket events, ChangeFn on_change);
  Result<void> Dump(bool report);
  void Apply(const LinkInfo& link, bool deleted, bool report);
  void ArmRead();
  void OnReadable();

  NetlinkSocket events_socket_;
  boost::asio::posix::stream_descriptor descriptor_;
  ChangeFn on_change_;
  std::map<int, LinkInfo> links_;  // by ifindex
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  bool stopped_ = false;
  uint64_t resyncs_ = 0;
  uint64_t events_ = 0;
};

}  // namespace hafw::carp::io
