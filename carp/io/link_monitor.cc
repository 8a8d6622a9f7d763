#include "carp/io/link_monitor.h"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include <boost/system/error_code.hpp>

#include "carp/io/address_manager.h"
#include "carp/io/rtnetlink_parse.h"

namespace hafw::carp::io {
namespace {

constexpr size_t kDrainLimit = 64;  // datagrams per wake-up, then yield to the loop
constexpr int kDumpAttempts = 3;    // a dump interrupted by changes is repeated

nlmsghdr* PutGetLink(char* buffer, std::string_view name) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | (name.empty() ? NLM_F_DUMP : 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  if (!name.empty()) {
    std::string copy(name);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, copy.c_str());
  }
  return nlh;
}

// Runs `dump` (a Transact) again when a concurrent change interrupted it.
template <typename F>
Result<void> Repeated(F dump) {
  Result<void> result;
  for (int i = 0; i < kDumpAttempts; ++i) {
    result = dump();
    if (result || result.error().sys_errno != EINTR) break;
  }
  return result;
}

}  // namespace

Result<LinkInfo> QueryLink(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return MakeError(ErrorCode::kInvalidArgument, "bad interface name '" + std::string(name) + "'");
  }
  auto socket = netlink::NetlinkSocket::Open();
  if (!socket) return tl::unexpected(socket.error());
  std::vector<char> buffer(netlink::kRequestBufferSize);
  nlmsghdr* nlh = PutGetLink(buffer.data(), name);
  std::optional<LinkInfo> found;
  const std::string what = "query link " + std::string(name);
  auto result = socket->Transact(
      nlh, [&](const nlmsghdr& msg) { found = ParseLink(msg); }, what);
  if (!result && result.error().sys_errno != ENODEV) return tl::unexpected(result.error());
  if (!result || !found) {
    return MakeError(ErrorCode::kNotFound, "no interface '" + std::string(name) + "'");
  }
  return *found;
}

LinkMonitor::LinkMonitor(boost::asio::io_context& io, netlink::NetlinkSocket events,
                         netlink::NetlinkSocket requests, LinkFn on_link, AddressFn on_address)
    : events_socket_(std::move(events)),
      requests_(std::move(requests)),
      request_buffer_(netlink::kRequestBufferSize),
      descriptor_(io, events_socket_.Fd()),
      on_link_(std::move(on_link)),
      on_address_(std::move(on_address)) {}

LinkMonitor::~LinkMonitor() {
  Stop();
  // The NetlinkSocket owns the fd; keep asio from closing it a second time.
  descriptor_.release();
}

Result<std::unique_ptr<LinkMonitor>> LinkMonitor::Create(boost::asio::io_context& io,
                                                         LinkFn on_link, AddressFn on_address,
                                                         const LinkMonitorOptions& options) {
  netlink::SocketOptions socket_options;
  socket_options.groups = {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR};
  socket_options.receive_buffer_bytes = options.event_buffer_bytes;
  // Subscribed before the dumps: nothing that changes meanwhile is missed.
  auto events = netlink::NetlinkSocket::Open(socket_options);
  if (!events) return tl::unexpected(events.error());
  auto requests = netlink::NetlinkSocket::Open();
  if (!requests) return tl::unexpected(requests.error());
  std::unique_ptr<LinkMonitor> monitor(new LinkMonitor(io, std::move(*events), std::move(*requests),
                                                       std::move(on_link), std::move(on_address)));
  auto dumped = monitor->DumpLinks(/*report=*/false);
  if (dumped) dumped = monitor->DumpAddresses(/*report=*/false);
  if (!dumped) return tl::unexpected(dumped.error());
  monitor->ArmRead();
  return monitor;
}

Result<void> LinkMonitor::DumpLinks(bool report) {
  std::map<int, LinkInfo> seen;
  auto result = Repeated([&] {
    seen.clear();
    return requests_.Transact(
        PutGetLink(request_buffer_.data(), ""),
        [&](const nlmsghdr& msg) {
          if (auto link = ParseLink(msg)) seen[link->ifindex] = *link;
        },
        "dump links");
  });
  if (!result) return result;
  // Links that vanished while we were not listening.
  std::vector<LinkInfo> gone;
  for (const auto& [index, link] : links_) {
    if (!seen.contains(index)) gone.push_back(link);
  }
  for (const LinkInfo& link : gone) ApplyLink(link, /*deleted=*/true, report);
  for (const auto& [index, link] : seen) ApplyLink(link, /*deleted=*/false, report);
  return {};
}

Result<void> LinkMonitor::DumpAddresses(bool report) {
  std::vector<InterfaceAddress> seen;
  auto result = Repeated([&] {
    seen.clear();
    return requests_.Transact(
        PutAddressDump(request_buffer_.data()),
        [&](const nlmsghdr& msg) {
          if (auto address = ParseAddress(msg)) seen.push_back(*address);
        },
        "dump addresses");
  });
  ++address_dumps_;
  if (!result) return result;
  auto same_in = [](const std::vector<InterfaceAddress>& list, const InterfaceAddress& a) {
    return std::find_if(list.begin(), list.end(),
                        [&](const InterfaceAddress& b) { return b.SameEntry(a); });
  };
  std::vector<InterfaceAddress> gone;
  std::vector<InterfaceAddress> changed;
  for (const InterfaceAddress& old : addresses_) {
    if (same_in(seen, old) == seen.end()) gone.push_back(old);
  }
  for (const InterfaceAddress& now : seen) {
    auto it = same_in(addresses_, now);
    if (it == addresses_.end() || it->flags != now.flags) changed.push_back(now);
  }
  // The dump's order is the kernel's; the table is whole before anyone hears of it.
  addresses_ = std::move(seen);
  if (!report || !on_address_) return {};
  for (const InterfaceAddress& a : gone) on_address_(a, false);
  for (const InterfaceAddress& a : changed) on_address_(a, true);
  return {};
}

void LinkMonitor::Resync() {
  ++resyncs_;
  events_socket_.DiscardPending();
  auto result = DumpLinks(/*report=*/true);
  if (result) result = DumpAddresses(/*report=*/true);
  resync_pending_ = !result.has_value();
}

void LinkMonitor::ApplyLink(const LinkInfo& link, bool deleted, bool report) {
  auto it = links_.find(link.ifindex);
  if (deleted) {
    if (it == links_.end()) return;
    LinkInfo old = it->second;
    links_.erase(it);
    // Its addresses went with it (the kernel also says so, address by address).
    std::vector<InterfaceAddress> orphans;
    for (const InterfaceAddress& a : addresses_) {
      if (a.ifindex == old.ifindex) orphans.push_back(a);
    }
    for (const InterfaceAddress& a : orphans) ApplyAddress(a, /*deleted=*/true, report);
    if (report && on_link_) on_link_(old, false);
    return;
  }
  const bool existed = it != links_.end();
  const bool was_up = existed && it->second.Up();
  const bool renamed = existed && it->second.name != link.name;
  LinkInfo old = existed ? it->second : link;
  links_[link.ifindex] = link;
  if (!report || !on_link_) return;
  if (renamed) on_link_(old, false);  // the old name is gone
  if (!existed || renamed || was_up != link.Up()) on_link_(link, link.Up());
}

void LinkMonitor::ApplyAddress(const InterfaceAddress& address, bool deleted, bool report) {
  auto it = std::find_if(addresses_.begin(), addresses_.end(),
                         [&](const InterfaceAddress& a) { return a.SameEntry(address); });
  if (deleted) {
    if (it == addresses_.end()) return;
    addresses_.erase(it);
  } else if (it == addresses_.end()) {
    addresses_.push_back(address);
  } else if (it->flags != address.flags) {
    it->flags = address.flags;  // DAD finished, promoted to primary, ...
  } else {
    return;  // nothing new
  }
  if (report && on_address_) on_address_(address, !deleted);
}

void LinkMonitor::OnEvent(const nlmsghdr& msg) {
  if (msg.nlmsg_type == RTM_NEWLINK || msg.nlmsg_type == RTM_DELLINK) {
    if (auto link = ParseLink(msg)) {
      ++events_;
      ApplyLink(*link, msg.nlmsg_type == RTM_DELLINK, /*report=*/true);
    }
  } else if (auto address = ParseAddress(msg)) {
    ++events_;
    ApplyAddress(*address, msg.nlmsg_type == RTM_DELADDR, /*report=*/true);
  }
}

void LinkMonitor::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  descriptor_.cancel(ignored);
}

void LinkMonitor::ArmRead() {
  if (stopped_) return;
  std::weak_ptr<int> alive = alive_;
  descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [this, alive](const boost::system::error_code& error) {
                           if (alive.expired() || error) return;
                           OnReadable();
                         });
}

void LinkMonitor::OnReadable() {
  if (stopped_) return;
  if (resync_pending_) Resync();
  // One datagram at a time: a callback may stop us.
  for (size_t i = 0; i < kDrainLimit && !stopped_; ++i) {
    auto read = events_socket_.ReadEvents([this](const nlmsghdr& msg) { OnEvent(msg); }, 1);
    if (!read || read->status == netlink::EventStatus::kDrained) break;
    if (read->status == netlink::EventStatus::kOverrun) Resync();
  }
  ArmRead();
}

std::optional<LinkInfo> LinkMonitor::Find(std::string_view name) const {
  for (const auto& [index, link] : links_) {
    if (link.name == name) return link;
  }
  return std::nullopt;
}

std::optional<LinkInfo> LinkMonitor::Find(int ifindex) const {
  auto it = links_.find(ifindex);
  if (it == links_.end()) return std::nullopt;
  return it->second;
}

}  // namespace hafw::carp::io
