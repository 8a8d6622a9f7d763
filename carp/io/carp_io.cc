#include "carp/io/carp_io.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "carp/core/demotion_groups.h"

namespace hafw::carp::io {

std::string CarpIo::VhostName(std::string_view interface, uint8_t vhid) {
  return std::string(interface) + " vhid " + std::to_string(vhid);
}

Result<std::unique_ptr<CarpIo>> CarpIo::Create(boost::asio::io_context& io, const Clock& clock,
                                               std::unique_ptr<carp::VhostSet> vhosts,
                                               std::vector<VhostIo> vhost_io,
                                               CarpIoCallbacks callbacks) {
  return Create(clock, std::move(vhosts), std::move(vhost_io), std::move(callbacks),
                LinuxAdapters(io));
}

Result<std::unique_ptr<CarpIo>> CarpIo::Create(const Clock& clock,
                                               std::unique_ptr<carp::VhostSet> vhosts,
                                               std::vector<VhostIo> vhost_io,
                                               CarpIoCallbacks callbacks,
                                               std::unique_ptr<CarpIoAdapters> adapters) {
  if (!adapters) return MakeError(ErrorCode::kInvalidArgument, "carp io: no adapters");
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
  return std::unique_ptr<CarpIo>(new CarpIo(clock, std::move(vhosts), std::move(vhost_io),
                                            std::move(callbacks), std::move(adapters)));
}

CarpIo::CarpIo(const Clock& clock, std::unique_ptr<carp::VhostSet> vhosts,
               std::vector<VhostIo> vhost_io, CarpIoCallbacks callbacks,
               std::unique_ptr<CarpIoAdapters> adapters)
    : clock_(clock),
      vhosts_(std::move(vhosts)),
      callbacks_(std::move(callbacks)),
      adapters_(std::move(adapters)),
      timer_(adapters_->MakeTimer(clock)),
      send_errors_(vhosts_->Engines().size()) {
  timer_->SetCallback([this] {
    armed_deadline_.reset();
    if (stopped_) return;
    Execute(vhosts_->OnTimer(clock_.Now()));
  });
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
  auto links = adapters_->OpenMonitor(
      [this](const LinkInfo& link, bool up) { OnLink(link, up); },
      [this](const InterfaceAddress& address, bool present) { OnAddress(address, present); });
  if (!links) return tl::unexpected(links.error());
  links_ = std::move(*links);
  auto addresses = adapters_->OpenAddresses();
  if (!addresses) return tl::unexpected(addresses.error());
  addresses_ = std::move(*addresses);
  auto announcer = adapters_->OpenAnnouncer();
  if (!announcer) return tl::unexpected(announcer.error());
  announcer_ = std::move(*announcer);

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
      auto vmac_links = adapters_->OpenVmacs();
      if (!vmac_links) return tl::unexpected(vmac_links.error());
      vmac_links_ = std::move(*vmac_links);
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
  // The monitor dumped the addresses when it opened; events keep them current.
  RecomputeAddresses();
  started_ = true;
  const TimePoint now = clock_.Now();
  for (auto& [name, parent] : parents_) {
    if (!parent.up) Execute(vhosts_->OnLinkChange(now, name, false));
  }
  Execute(vhosts_->Start(now));
  return {};
}

void CarpIo::Shutdown() {
  if (!started_ || stopped_) return;
  // The bow-out and the VIP removal are executed here, synchronously: sends are
  // plain sendmsg calls and address changes synchronous netlink requests.
  Execute(vhosts_->Stop(clock_.Now()));
  stopped_ = true;
  timer_->Cancel();
  armed_deadline_.reset();
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
          return AnnounceVips(*parent, *vhid);
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
  // The local-address cache follows from the kernel's address events.
  return first;
}

Result<void> CarpIo::AnnounceVips(Parent& parent, Vhid& vhid) {
  const bool vmac = vhid.io.vmac;
  if (vmac && vhid.vmac_ifindex == 0) {
    return MakeError(
        ErrorCode::kUnavailable,
        "carp io: " + VhostName(vhid.io.interface, vhid.io.vhid) + ": no macvlan to announce from");
  }
  const std::string& ifname = vmac ? vhid.vmac_name : parent.name;
  const int ifindex = vmac ? vhid.vmac_ifindex : parent.ifindex;
  const MacAddress mac = vmac ? VirtualMac(vhid.io.vhid) : parent.mac;
  Result<void> first;  // every VIP is tried
  for (const IpPrefix& p : vhid.io.vips) {
    auto r = announcer_->Announce(ifname, ifindex, mac, p.address);
    if (!r && first) first = r;
  }
  return first;
}

Result<void> CarpIo::DoSend(Parent& parent, Vhid& vhid, const carp::SendAdvertisement& send) {
  CarpTransport* sock = send.family == IpFamily::kV4 ? parent.v4.get() : parent.v6.get();
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
  const int delta = send_errors_.OnSend(clock_.Now(), ok);
  counters_.consecutive_send_errors = send_errors_.ConsecutiveErrors();
  counters_.send_errors_demoted = send_errors_.Demoted();
  if (delta != 0) {
    // Queued behind the current actions (Execute is draining).
    Execute(vhosts_->AdjustDemotion(clock_.Now(), carp::kAllGroup, carp::kReasonSendErrors, delta));
  }
}

void CarpIo::ArmTimer() {
  if (stopped_ || !started_) return;
  const auto deadline = vhosts_->NextDeadline();
  // Most packets leave the next deadline alone: no re-arm then.
  if (deadline == armed_deadline_) return;
  armed_deadline_ = deadline;
  if (deadline) {
    timer_->Arm(*deadline);
  } else {
    timer_->Cancel();
  }
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

uint64_t CarpIo::AddressDumps() const { return links_ ? links_->AddressDumps() : 0; }

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
