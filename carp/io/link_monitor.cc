#include "carp/io/link_monitor.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <boost/system/error_code.hpp>

namespace hafw::carp::io {
namespace {

// Parses RTM_NEWLINK / RTM_DELLINK; nullopt for anything malformed.
std::optional<LinkInfo> ParseLink(const nlmsghdr& msg) {
  if (msg.nlmsg_type != RTM_NEWLINK && msg.nlmsg_type != RTM_DELLINK) return std::nullopt;
  if (msg.nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(&msg));
  const auto attrs = ParseLinkAttrs(msg);
  if (!attrs || attrs->name == nullptr) return std::nullopt;
  LinkInfo link;
  link.ifindex = ifi->ifi_index;
  link.flags = ifi->ifi_flags;
  link.name = mnl_attr_get_str(attrs->name);
  if (attrs->address != nullptr && mnl_attr_get_payload_len(attrs->address) == link.mac.size()) {
    std::memcpy(link.mac.data(), mnl_attr_get_payload(attrs->address), link.mac.size());
  }
  if (attrs->operstate != nullptr) link.operstate = mnl_attr_get_u8(attrs->operstate);
  return link;
}

nlmsghdr* PutGetLink(std::vector<char>& buffer, std::string_view name) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
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

}  // namespace

bool LinkInfo::Up() const { return (flags & IFF_UP) != 0 && (flags & IFF_RUNNING) != 0; }

Result<LinkInfo> QueryLink(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return MakeError(ErrorCode::kInvalidArgument, "bad interface name '" + std::string(name) + "'");
  }
  auto socket = NetlinkSocket::Open();
  if (!socket) return tl::unexpected(socket.error());
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = PutGetLink(buffer, name);
  std::optional<LinkInfo> found;
  const std::string what = "query link " + std::string(name);
  auto result = socket->Transact(
      nlh, [&](const nlmsghdr& msg) { found = ParseLink(msg); }, what.c_str());
  if (!result) {
    if (socket->LastErrno() == ENODEV) {
      return MakeError(ErrorCode::kNotFound, "no interface '" + std::string(name) + "'");
    }
    return tl::unexpected(result.error());
  }
  if (!found) return MakeError(ErrorCode::kNotFound, "no interface '" + std::string(name) + "'");
  return *found;
}

LinkMonitor::LinkMonitor(boost::asio::io_context& io, NetlinkSocket events, ChangeFn on_change)
    : events_socket_(std::move(events)),
      descriptor_(io, events_socket_.Fd()),
      on_change_(std::move(on_change)) {}

LinkMonitor::~LinkMonitor() {
  Stop();
  // The NetlinkSocket owns the fd; keep asio from closing it a second time.
  descriptor_.release();
}

Result<std::unique_ptr<LinkMonitor>> LinkMonitor::Create(boost::asio::io_context& io,
                                                         ChangeFn on_change) {
  auto events = NetlinkSocket::Open(RTMGRP_LINK);
  if (!events) return tl::unexpected(events.error());
  const int fd = events->Fd();
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
    return MakeError(ErrorCode::kIo, std::string("netlink nonblock: ") + std::strerror(errno));
  }
  std::unique_ptr<LinkMonitor> monitor(
      new LinkMonitor(io, std::move(*events), std::move(on_change)));
  auto dumped = monitor->Dump(/*report=*/false);
  if (!dumped) return tl::unexpected(dumped.error());
  monitor->ArmRead();
  return monitor;
}

Result<void> LinkMonitor::Dump(bool report) {
  auto socket = NetlinkSocket::Open();
  if (!socket) return tl::unexpected(socket.error());
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = PutGetLink(buffer, "");
  std::map<int, LinkInfo> seen;
  auto result = socket->Transact(
      nlh,
      [&](const nlmsghdr& msg) {
        if (auto link = ParseLink(msg)) seen[link->ifindex] = *link;
      },
      "dump links");
  if (!result) return result;
  // Links that vanished while we were not listening.
  std::vector<LinkInfo> gone;
  for (const auto& [index, link] : links_) {
    if (!seen.contains(index)) gone.push_back(link);
  }
  for (const LinkInfo& link : gone) Apply(link, /*deleted=*/true, report);
  for (const auto& [index, link] : seen) Apply(link, /*deleted=*/false, report);
  return {};
}

void LinkMonitor::Apply(const LinkInfo& link, bool deleted, bool report) {
  auto it = links_.find(link.ifindex);
  if (deleted) {
    if (it == links_.end()) return;
    LinkInfo old = it->second;
    links_.erase(it);
    if (report && on_change_) on_change_(old, false);
    return;
  }
  const bool existed = it != links_.end();
  const bool was_up = existed && it->second.Up();
  const bool renamed = existed && it->second.name != link.name;
  LinkInfo old = existed ? it->second : link;
  links_[link.ifindex] = link;
  if (!report || !on_change_) return;
  if (renamed) on_change_(old, false);  // the old name is gone
  if (!existed || renamed || was_up != link.Up()) on_change_(link, link.Up());
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
  std::vector<char> buffer(kNetlinkBufferSize);
  bool overrun = false;
  // Bounded drain: the socket is non-blocking; leave the rest for the next wake-up.
  for (int i = 0; i < 64; ++i) {
    ssize_t n = mnl_socket_recvfrom(events_socket_.Raw(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) overrun = true;  // events lost: re-dump below
      break;
    }
    auto callback = [](const nlmsghdr* nlh, void* data) -> int {
      auto* self = static_cast<LinkMonitor*>(data);
      if (auto link = ParseLink(*nlh)) {
        ++self->events_;
        self->Apply(*link, nlh->nlmsg_type == RTM_DELLINK, /*report=*/true);
      }
      return MNL_CB_OK;
    };
    // seq 0 and portid 0: kernel notifications carry no sequence to check.
    mnl_cb_run(buffer.data(), static_cast<size_t>(n), 0, 0, callback, this);
    if (stopped_) return;  // a callback may stop us
  }
  if (overrun) {
    ++resyncs_;
    (void)Dump(/*report=*/true);  // on failure the next event or overrun retries
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
