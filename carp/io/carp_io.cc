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
  for (const auto& entry : vhosts->Engines()) {
    const auto& key = entry.first;
    const auto& engine = entry.second;
    const auto it = std::find_if(vhost_io.begin(), vhost_io.end(), [&key](const VhostIo& v) {
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
      callbacks_(std::move(callbacks)),
      timer_(io) {
  for (VhostIo& v : vhost_io) {
    Parent& parent = parents_[v.interface];
    parent.name = v.interface;
    parent.has_vmac = parent.has_vmac || v.vmac;
    Vhid vhid;
    for (const IpPrefix& p : v.vips) {
      parent.vips.push_back(p.address);
      (p.address.IsV4() ? parent.wants_v4 : parent.wants_v6) = true;
      (p.address.IsV4() ? vhid.has_v4 : vhid.has_v6) = true;
    }
    vhid.io = std::move(v);
    vhids_.push_back(std::move(vhid));
  }
}

// Shutdown only logs through callbacks; an exception escaping a destructor
// would terminate the agent, so contain it.
CarpIo::~CarpIo() {
  try {
    Shutdown();
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing sane to do while destroying
  }
}

Result<void> CarpIo::Start() {
  if (started_) return MakeError(ErrorCode::kInvalidArgument, "carp io: already started");
  auto result = StartImpl();
  // Whatever failed, nothing we made may stay behind (Shutdown only cleans up
  // after a successful Start).
  if (!result) ReleaseVmacs();
  return result;
}

Result<void> CarpIo::StartImpl() {
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
    for (const Vhid& v : vhids_) {
      if (v.io.interface == name) {
        prefixes.insert(prefixes.end(), v.io.vips.begin(), v.io.vips.end());
      }
    }
    auto removed = addresses_->RemoveIfPresent(parent.ifindex, prefixes);
    if (!removed) return tl::unexpected(removed.error());
    counters_.leftover_vips_removed += static_cast<uint64_t>(*removed);
  }
  for (auto& [name, parent] : parents_) {
    if (!parent.has_vmac) continue;
    if (!vmac_links_) {
      auto vmac_links = VmacLinks::Open();
      if (!vmac_links) return tl::unexpected(vmac_links.error());
      vmac_links_.emplace(std::move(*vmac_links));
    }
    auto prepared = PrepareParentForVmac(parent);
    if (!prepared) return prepared;
    for (Vhid& vhid : vhids_) {
      if (!vhid.io.vmac || vhid.io.interface != name) continue;
      auto created = CreateVmac(parent, vhid);
      if (!created) return created;
    }
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

Result<void> CarpIo::PrepareParentForVmac(Parent& parent) {
  auto current = vmac_links_->GetArpSettings(parent.ifindex);
  if (!current) return tl::unexpected(current.error());
  const ArpSettings wanted = ParentArpSettings(*current);
  parent.saved_arp.reset();
  if (wanted == *current) return {};
  auto set = vmac_links_->SetArpSettings(parent.ifindex, wanted);
  if (!set) return set;
  parent.saved_arp = *current;
  return {};
}

Result<void> CarpIo::CreateVmac(Parent& parent, Vhid& vhid) {
  vhid.send_v4.reset();
  vhid.send_v6.reset();
  vhid.vmac_ifindex = 0;
  vhid.vmac_name = VmacInterfaceName(parent.name, parent.ifindex, vhid.io.vhid);
  auto created = vmac_links_->Create(vhid.vmac_name, parent.ifindex, VirtualMac(vhid.io.vhid));
  if (!created) {
    return MakeError(
        created.error().code,
        "carp io: " + VhostName(vhid.io.interface, vhid.io.vhid) + ": " + created.error().context);
  }
  vhid.vmac_ifindex = created->ifindex;
  if (created->replaced_leftover) ++counters_.leftover_vmacs_replaced;
  if (vhid.has_v4) {
    auto sock = CarpSocket::OpenSendOnly(io_, IpFamily::kV4, vhid.vmac_name, vhid.vmac_ifindex);
    if (!sock) return tl::unexpected(sock.error());
    vhid.send_v4 = std::move(*sock);
  }
  if (vhid.has_v6) {
    auto sock = CarpSocket::OpenSendOnly(io_, IpFamily::kV6, vhid.vmac_name, vhid.vmac_ifindex);
    if (!sock) return tl::unexpected(sock.error());
    vhid.send_v6 = std::move(*sock);
  }
  return {};
}

void CarpIo::RestoreVmac(Parent& parent, Vhid& vhid) {
  auto created = CreateVmac(parent, vhid);
  if (!created) {
    ReportError(created.error());
    return;
  }
  ++counters_.vmacs_restored;
  const auto* engine = vhosts_->Find(vhid.io.interface, vhid.io.vhid);
  if (engine == nullptr || engine->State() != carp::VhostState::kMaster) return;
  auto installed = ChangeVips(parent, vhid, /*install=*/true);
  if (!installed) {
    ++counters_.vip_errors;
    ReportError(installed.error());
    return;
  }
  for (const IpPrefix& p : vhid.io.vips) {
    auto r = announcer_->Announce(vhid.vmac_name, vhid.vmac_ifindex, VirtualMac(vhid.io.vhid),
                                  p.address);
    if (!r) {
      ++counters_.announce_errors;
      ReportError(r.error());
    }
  }
}

void CarpIo::ReleaseVmacs() {
  if (!vmac_links_) return;
  for (Vhid& vhid : vhids_) {
    if (vhid.send_v4) vhid.send_v4->Close();
    if (vhid.send_v6) vhid.send_v6->Close();
    if (vhid.vmac_ifindex == 0) continue;
    auto deleted = vmac_links_->Delete(vhid.vmac_ifindex);
    if (!deleted) ReportError(deleted.error());
    vhid.vmac_ifindex = 0;
  }
  for (auto& [name, parent] : parents_) {
    if (!parent.saved_arp) continue;
    auto restored = vmac_links_->SetArpSettings(parent.ifindex, *parent.saved_arp);
    // The parent may be gone; then there is nothing to restore.
    if (!restored && QueryLink(name).has_value()) ReportError(restored.error());
    parent.saved_arp.reset();
  }
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
  ReleaseVmacs();
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
    if (!outcome) {
      ++(std::holds_alternative<carp::SendAdvertisement>(action.action) ? counters_.send_errors
         : std::holds_alternative<carp::AnnounceVips>(action.action)    ? counters_.announce_errors
                                                                        : counters_.vip_errors);
    }
    if (callbacks_.on_action) callbacks_.on_action(action, outcome);
  }
  draining_ = false;
  ArmTimer();
}

Result<void> CarpIo::Perform(const carp::VhostAction& action) {
  Parent* parent = FindParent(action.interface);
  Vhid* vhid = FindVhid(action.interface, action.vhid);
  if (parent == nullptr || vhid == nullptr) {
    return MakeError(ErrorCode::kInternal,
                     "carp io: action for unknown " + VhostName(action.interface, action.vhid));
  }
  return std::visit(
      [&](const auto& a) -> Result<void> {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, carp::SendAdvertisement>) {
          auto sent = DoSend(*parent, *vhid, a);
          CountSend(sent.has_value());
          return sent;
        } else if constexpr (std::is_same_v<T, carp::StateChanged>) {
          return {};
        } else if constexpr (std::is_same_v<T, carp::InstallVips> ||
                             std::is_same_v<T, carp::RemoveVips>) {
          return ChangeVips(*parent, *vhid, std::is_same_v<T, carp::InstallVips>);
        } else {  // AnnounceVips
          const bool vmac = vhid->io.vmac;
          if (vmac && vhid->vmac_ifindex == 0) {
            return MakeError(ErrorCode::kUnavailable, "carp io: " + vhid->io.interface + " vhid " +
                                                          std::to_string(vhid->io.vhid) +
                                                          ": no macvlan to announce from");
          }
          const std::string& ifname = vmac ? vhid->vmac_name : parent->name;
          const int ifindex = vmac ? vhid->vmac_ifindex : parent->ifindex;
          const MacAddress mac = vmac ? VirtualMac(vhid->io.vhid) : parent->mac;
          Result<void> first;
          for (const IpPrefix& p : vhid->io.vips) {
            auto r = announcer_->Announce(ifname, ifindex, mac, p.address);
            if (!r && first) first = r;
          }
          return first;
        }
      },
      action.action);
}

Result<void> CarpIo::ChangeVips(Parent& parent, Vhid& vhid, bool install) {
  int ifindex = parent.ifindex;
  if (vhid.io.vmac) {
    if (vhid.vmac_ifindex == 0) {
      // Gone with its addresses (and not re-creatable so far): nothing to remove.
      if (!install) return {};
      return MakeError(ErrorCode::kUnavailable,
                       "carp io: " + VhostName(vhid.io.interface, vhid.io.vhid) + ": macvlan " +
                           vhid.vmac_name + " is missing");
    }
    ifindex = vhid.vmac_ifindex;
    // Up before the VIPs go on it, down after they are off: a macvlan that is
    // up accepts frames for the virtual MAC.
    if (install) {
      auto up = vmac_links_->SetUp(ifindex, true);
      if (!up) return up;
    }
  }
  Result<void> first;  // keep going: one bad VIP must not strand the others
  for (const IpPrefix& p : vhid.io.vips) {
    auto r = install ? addresses_->Add(ifindex, p) : addresses_->Remove(ifindex, p);
    if (!r && first) first = r;
  }
  if (vhid.io.vmac && !install) {
    auto down = vmac_links_->SetUp(ifindex, false);
    if (!down && first) first = down;
  }
  RefreshAddresses(/*force=*/true);
  return first;
}

Result<void> CarpIo::DoSend(Parent& parent, Vhid& vhid, const carp::SendAdvertisement& send) {
  CarpSocket* sock = send.family == IpFamily::kV4 ? parent.v4.get() : parent.v6.get();
  // Through the macvlan, so the frame carries the virtual MAC; IPv6 unicast
  // stays on the parent (no link-local on the macvlan to resolve the peer).
  if (vhid.io.vmac && !(send.family == IpFamily::kV6 && send.unicast_destination)) {
    sock = send.family == IpFamily::kV4 ? vhid.send_v4.get() : vhid.send_v6.get();
    if (sock == nullptr) {
      return MakeError(ErrorCode::kUnavailable,
                       "carp io: " + VhostName(vhid.io.interface, vhid.io.vhid) +
                           ": no send socket on macvlan " + vhid.vmac_name);
    }
  }
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
  // One of our macvlans deleted (its parent went, or someone ran ip link del):
  // re-create it if the parent is still there (else when the parent returns).
  if (!up && !links_->Find(link.ifindex)) {
    for (Vhid& vhid : vhids_) {
      if (vhid.vmac_ifindex == 0 || vhid.vmac_ifindex != link.ifindex) continue;
      vhid.vmac_ifindex = 0;
      Parent* owner = FindParent(vhid.io.interface);
      if (owner != nullptr && links_->Find(owner->ifindex)) RestoreVmac(*owner, vhid);
    }
  }
  Parent* parent = FindParent(link.name);
  if (parent == nullptr) return;
  ++counters_.link_events;
  if (up && link.ifindex != parent->ifindex) {
    // The interface was re-created: sockets bound to the old one are dead,
    // and its macvlans went with it.
    parent->ifindex = link.ifindex;
    auto reopened = OpenSockets(*parent);
    if (!reopened) ReportError(reopened.error());
    if (parent->has_vmac) {
      auto prepared = PrepareParentForVmac(*parent);
      if (!prepared) ReportError(prepared.error());
      for (Vhid& vhid : vhids_) {
        if (vhid.io.vmac && vhid.io.interface == parent->name) RestoreVmac(*parent, vhid);
      }
    }
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

CarpIo::Vhid* CarpIo::FindVhid(std::string_view interface, uint8_t vhid) {
  for (Vhid& v : vhids_) {
    if (v.io.interface == interface && v.io.vhid == vhid) return &v;
  }
  return nullptr;
}

std::string CarpIo::VmacInterface(std::string_view interface, uint8_t vhid) const {
  for (const Vhid& v : vhids_) {
    if (v.io.interface == interface && v.io.vhid == vhid) return v.vmac_name;
  }
  return "";
}

std::vector<SocketStatus> CarpIo::Sockets() const {
  std::vector<SocketStatus> out;
  for (const auto& [name, parent] : parents_) {
    if (parent.v4) out.push_back({name, IpFamily::kV4, parent.v4->Counters()});
    if (parent.v6) out.push_back({name, IpFamily::kV6, parent.v6->Counters()});
  }
  for (const Vhid& v : vhids_) {
    if (v.send_v4) out.push_back({v.vmac_name, IpFamily::kV4, v.send_v4->Counters()});
    if (v.send_v6) out.push_back({v.vmac_name, IpFamily::kV6, v.send_v6->Counters()});
  }
  return out;
}

}  // namespace hafw::carp::io
