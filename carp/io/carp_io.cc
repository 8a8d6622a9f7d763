#include "carp/io/carp_io.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/system/error_code.hpp>

#include "carp/core/demotion_groups.h"

namespace hafw::carp::io {
namespace {

constexpr Duration kAddressCacheAge = Seconds(1);

std::string VhostName(std::string_view interface, uint8_t vhid) {
  return std::string(interface) + " vhid " + std::to_string(vhid);
}

}  // namespace

Result<std::unique_ptr<CarpIo>> CarpIo::Create(boost::asio::io_context& io, const Clock& clock,
                                               std::unique_ptr<carp::VhostSet> vhosts,
                                               std::vector<VhostIo> vhost_io,
                                               CarpIoCallbacks callbacks) {
  if (!vhosts) return MakeError(ErrorCode::kInvalidArgument, "carp io: no vhost set");
  // Every engine needs its VIP prefixes, with exactly the engine's addresses:
  // the HMAC covers them, so a mismatch here would be a silent split brain.
  for (const auto& [key, engine] : vhosts->Engines()) {
    const auto it = std::find_if(vhost_io.begin(), vhost_io.end(), [&](const VhostIo& v) {
      return v.interface == key.first && v.vhid == key.second;
    });
    const std::string name = VhostName(key.first, key.second);
    if (it == vhost_io.end()) {
      return MakeError(ErrorCode::kInvalidArgument, "carp io: no VIP prefixes for " + name);
    }
    std::vector<IpAddress> from_prefixes;
    for (const IpPrefix& p : it->vips) from_prefixes.push_back(p.address);
    std::vector<IpAddress> configured = engine.Config().vips;
    std::sort(from_prefixes.begin(), from_prefixes.end());
    std::sort(configured.begin(), configured.end());
    if (from_prefixes != configured) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "carp io: VIP prefixes of " + name + " differ from its VIPs");
    }
    if (it->vmac) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "carp io: " + name + ": virtual MAC (vmac) is not supported yet");
    }
  }
  for (const VhostIo& v : vhost_io) {
    if (vhosts->Find(v.interface, v.vhid) == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "carp io: " + VhostName(v.interface, v.vhid) + " is not in the vhost set");
    }
  }
  return std::unique_ptr<CarpIo>(
      new CarpIo(io, clock, std::move(vhosts), std::move(vhost_io), std::move(callbacks)));
}

CarpIo::CarpIo(boost::asio::io_context& io, const Clock& clock,
               std::unique_ptr<carp::VhostSet> vhosts, std::vector<VhostIo> vhost_io,
               CarpIoCallbacks callbacks)
    : io_(io),
      clock_(clock),
      vhosts_(std::move(vhosts)),
      vhost_io_(std::move(vhost_io)),
      callbacks_(std::move(callbacks)),
      timer_(io) {
  for (const VhostIo& v : vhost_io_) {
    Parent& parent = parents_[v.interface];
    parent.name = v.interface;
    for (const IpPrefix& p : v.vips) {
      parent.vips.push_back(p.address);
      (p.address.IsV4() ? parent.wants_v4 : parent.wants_v6) = true;
    }
  }
}

CarpIo::~CarpIo() { Shutdown(); }

Result<void> CarpIo::Start() {
  if (started_) return MakeError(ErrorCode::kInvalidArgument, "carp io: already started");
  auto links =
      LinkMonitor::Create(io_, [this](const LinkInfo& link, bool up) { OnLink(link, up); });
  if (!links) return tl::unexpected(links.error());
  links_ = std::move(*links);
  auto addresses = AddressManager::Open();
  if (!addresses) return tl::unexpected(addresses.error());
  addresses_.emplace(std::move(*addresses));
  auto announcer = Announcer::Open();
  if (!announcer) return tl::unexpected(announcer.error());
  announcer_.emplace(std::move(*announcer));

  for (auto& [name, parent] : parents_) {
    auto link = links_->Find(name);
    if (!link) return MakeError(ErrorCode::kNotFound, "carp io: no interface '" + name + "'");
    parent.ifindex = link->ifindex;
    parent.mac = link->mac;
    parent.up = link->Up();
  }
  // Leftovers of a crashed run must go before the first election, or two
  // nodes would answer for the VIPs.
  for (auto& [name, parent] : parents_) {
    std::vector<IpPrefix> prefixes;
    for (const VhostIo& v : vhost_io_) {
      if (v.interface == name) prefixes.insert(prefixes.end(), v.vips.begin(), v.vips.end());
    }
    auto removed = addresses_->RemoveIfPresent(parent.ifindex, prefixes);
    if (!removed) return tl::unexpected(removed.error());
    counters_.leftover_vips_removed += static_cast<uint64_t>(*removed);
  }
  for (auto& [name, parent] : parents_) {
    auto opened = OpenSockets(parent);
    if (!opened) return opened;
  }
  RefreshAddresses(/*force=*/true);
  started_ = true;
  const TimePoint now = clock_.Now();
  for (auto& [name, parent] : parents_) {
    if (!parent.up) Execute(vhosts_->OnLinkChange(now, name, false));
  }
  Execute(vhosts_->Start(now));
  return {};
}

Result<void> CarpIo::OpenSockets(Parent& parent) {
  const std::string name = parent.name;
  auto receive = [this, name](const carp::PacketInfo& info, std::span<const uint8_t> bytes) {
    OnPacket(name, info, bytes);
  };
  auto is_local = [this](const IpAddress& a) { return IsLocal(a); };
  parent.v4.reset();
  parent.v6.reset();
  if (parent.wants_v4) {
    auto sock = CarpSocket::Open(io_, IpFamily::kV4, name, parent.ifindex, receive, is_local);
    if (!sock) return tl::unexpected(sock.error());
    parent.v4 = std::move(*sock);
  }
  if (parent.wants_v6) {
    auto sock = CarpSocket::Open(io_, IpFamily::kV6, name, parent.ifindex, receive, is_local);
    if (!sock) return tl::unexpected(sock.error());
    parent.v6 = std::move(*sock);
  }
  return {};
}

void CarpIo::Shutdown() {
  if (!started_ || stopped_) return;
  // The bow-out and the VIP removal are executed here, synchronously: sends are
  // plain sendmsg calls and address changes synchronous netlink requests.
  Execute(vhosts_->Stop(clock_.Now()));
  stopped_ = true;
  boost::system::error_code ignored;
  timer_.cancel();
  if (links_) links_->Stop();
  for (auto& [name, parent] : parents_) {
    if (parent.v4) parent.v4->Close();
    if (parent.v6) parent.v6->Close();
  }
}

void CarpIo::AdjustDemotion(std::string_view group, std::string_view reason, int delta) {
  if (stopped_) return;
  Execute(vhosts_->AdjustDemotion(clock_.Now(), group, reason, delta));
}

void CarpIo::SetDemotion(std::string_view group, std::string_view reason, int count) {
  if (stopped_) return;
  Execute(vhosts_->SetDemotion(clock_.Now(), group, reason, count));
}

void CarpIo::Execute(carp::VhostActions actions) {
  for (auto& action : actions) pending_.push_back(std::move(action));
  // Actions may produce more (a send-error demotion); they queue behind the
  // current ones so the engine's order is kept.
  if (draining_) return;
  draining_ = true;
  while (!pending_.empty()) {
    carp::VhostAction action = std::move(pending_.front());
    pending_.pop_front();
    Result<void> outcome = Perform(action);
    if (!outcome)
      ++(std::holds_alternative<carp::SendAdvertisement>(action.action) ? counters_.send_errors
         : std::holds_alternative<carp::AnnounceVips>(action.action)    ? counters_.announce_errors
                                                                        : counters_.vip_errors);
    if (callbacks_.on_action) callbacks_.on_action(action, outcome);
  }
  draining_ = false;
  ArmTimer();
}

Result<void> CarpIo::Perform(const carp::VhostAction& action) {
  Parent* parent = FindParent(action.interface);
  const VhostIo* vio = FindVhostIo(action.interface, action.vhid);
  if (parent == nullptr || vio == nullptr) {
    return MakeError(ErrorCode::kInternal,
                     "carp io: action for unknown " + VhostName(action.interface, action.vhid));
  }
  return std::visit(
      [&](const auto& a) -> Result<void> {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, carp::SendAdvertisement>) {
          auto sent = DoSend(*parent, a);
          CountSend(sent.has_value());
          return sent;
        } else if constexpr (std::is_same_v<T, carp::StateChanged>) {
          return {};
        } else if constexpr (std::is_same_v<T, carp::InstallVips> ||
                             std::is_same_v<T, carp::RemoveVips>) {
          constexpr bool kInstall = std::is_same_v<T, carp::InstallVips>;
          Result<void> first;  // keep going: one bad VIP must not strand the others
          for (const IpPrefix& p : vio->vips) {
            auto r = kInstall ? addresses_->Add(parent->ifindex, p)
                              : addresses_->Remove(parent->ifindex, p);
            if (!r && first) first = r;
          }
          RefreshAddresses(/*force=*/true);
          return first;
        } else {  // AnnounceVips
          Result<void> first;
          for (const IpPrefix& p : vio->vips) {
            auto r = announcer_->Announce(parent->name, parent->ifindex, parent->mac, p.address);
            if (!r && first) first = r;
          }
          return first;
        }
      },
      action.action);
}

Result<void> CarpIo::DoSend(Parent& parent, const carp::SendAdvertisement& send) {
  CarpSocket* sock = send.family == IpFamily::kV4 ? parent.v4.get() : parent.v6.get();
  if (sock == nullptr) {
    return MakeError(
        ErrorCode::kUnavailable,
        "carp io: no " + std::string(IpFamilyName(send.family)) + " socket on " + parent.name);
  }
  RefreshAddresses(/*force=*/false);
  const auto& source = send.family == IpFamily::kV4 ? parent.source_v4 : parent.source_v6;
  if (!source) {
    return MakeError(ErrorCode::kUnavailable,
                     "carp io: " + parent.name + " has no usable " +
                         std::string(IpFamilyName(send.family)) +
                         (send.family == IpFamily::kV4 ? " address (VIPs are never a source)"
                                                       : " link-local address"));
  }
  auto sent = sock->Send(*source, send.unicast_destination, send.bytes);
  if (sent) ++counters_.adverts_sent;
  return sent;
}

void CarpIo::CountSend(bool ok) {
  // OpenBSD's rule: 3 x (number of vhids) consecutive failures demote group
  // "all" once; as many consecutive successes undo it.
  const uint64_t threshold = 3 * std::max<uint64_t>(1, vhosts_->Engines().size());
  if (!ok) {
    ++counters_.consecutive_send_errors;
    send_successes_while_demoted_ = 0;
    if (!counters_.send_errors_demoted && counters_.consecutive_send_errors >= threshold) {
      counters_.send_errors_demoted = true;
      Execute(vhosts_->AdjustDemotion(clock_.Now(), carp::kAllGroup, carp::kReasonSendErrors, +1));
    }
    return;
  }
  if (!counters_.send_errors_demoted) {
    counters_.consecutive_send_errors = 0;
    return;
  }
  if (++send_successes_while_demoted_ >= threshold) {
    counters_.send_errors_demoted = false;
    counters_.consecutive_send_errors = 0;
    send_successes_while_demoted_ = 0;
    Execute(vhosts_->AdjustDemotion(clock_.Now(), carp::kAllGroup, carp::kReasonSendErrors, -1));
  }
}

void CarpIo::OnLink(const LinkInfo& link, bool up) {
  if (stopped_ || !started_) return;
  Parent* parent = FindParent(link.name);
  if (parent == nullptr) return;
  ++counters_.link_events;
  if (up && link.ifindex != parent->ifindex) {
    // The interface was re-created: sockets bound to the old one are dead.
    parent->ifindex = link.ifindex;
    auto reopened = OpenSockets(*parent);
    if (!reopened) ReportError(reopened.error());
    RefreshAddresses(/*force=*/true);
  }
  if (up) parent->mac = link.mac;
  if (parent->up == up) return;
  parent->up = up;
  Execute(vhosts_->OnLinkChange(clock_.Now(), parent->name, up));
}

void CarpIo::OnPacket(const std::string& ifname, const carp::PacketInfo& info,
                      std::span<const uint8_t> bytes) {
  if (stopped_ || !started_) return;
  Execute(vhosts_->OnPacket(clock_.Now(), ifname, info, bytes));
}

bool CarpIo::IsLocal(const IpAddress& address) {
  RefreshAddresses(/*force=*/false);
  return local_addresses_.contains(address);
}

void CarpIo::RefreshAddresses(bool force) {
  if (!addresses_) return;
  const TimePoint now = clock_.Now();
  if (!force && addresses_read_at_ && now - *addresses_read_at_ < kAddressCacheAge &&
      now >= *addresses_read_at_) {
    return;
  }
  auto list = addresses_->List(0);
  if (!list) {
    ReportError(list.error());
    return;
  }
  addresses_read_at_ = now;
  local_addresses_.clear();
  for (auto& [name, parent] : parents_) {
    parent.source_v4.reset();
    parent.source_v6.reset();
  }
  for (const InterfaceAddress& entry : *list) {
    const IpAddress& a = entry.prefix.address;
    local_addresses_.insert(a);
    if (entry.Tentative()) continue;
    for (auto& [name, parent] : parents_) {
      if (parent.ifindex != entry.ifindex) continue;
      if (std::find(parent.vips.begin(), parent.vips.end(), a) != parent.vips.end()) continue;
      // The kernel lists primaries first: the first real address is the source.
      if (a.IsV4() && !parent.source_v4) parent.source_v4 = a;
      if (a.IsV6() && a.IsLinkLocal() && !parent.source_v6) parent.source_v6 = a;
    }
  }
}

void CarpIo::ArmTimer() {
  if (stopped_ || !started_) return;
  const auto deadline = vhosts_->NextDeadline();
  if (!deadline) {
    timer_.cancel();
    return;
  }
  const Duration delay = std::max(Duration::zero(), *deadline - clock_.Now());
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
  std::weak_ptr<int> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& error) {
    if (alive.expired() || error || stopped_) return;
    Execute(vhosts_->OnTimer(clock_.Now()));
  });
}

void CarpIo::ReportError(const Error& error) {
  if (callbacks_.on_error) callbacks_.on_error(error);
}

CarpIo::Parent* CarpIo::FindParent(std::string_view name) {
  auto it = parents_.find(name);
  return it == parents_.end() ? nullptr : &it->second;
}

const VhostIo* CarpIo::FindVhostIo(std::string_view interface, uint8_t vhid) const {
  for (const VhostIo& v : vhost_io_) {
    if (v.interface == interface && v.vhid == vhid) return &v;
  }
  return nullptr;
}

std::vector<SocketStatus> CarpIo::Sockets() const {
  std::vector<SocketStatus> out;
  for (const auto& [name, parent] : parents_) {
    if (parent.v4) out.push_back({name, IpFamily::kV4, parent.v4->Counters()});
    if (parent.v6) out.push_back({name, IpFamily::kV6, parent.v6->Counters()});
  }
  return out;
}

const AnnouncerCounters* CarpIo::Announcements() const {
  return announcer_ ? &announcer_->Counters() : nullptr;
}

}  // namespace hafw::carp::io
