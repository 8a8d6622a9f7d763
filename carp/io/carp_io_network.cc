// CarpIo, network part: the CARP sockets of the parents, link and address
// events, and the local-address cache behind the own-source check. The cache
// follows the monitor's events: nothing here asks the kernel per packet.

#include <algorithm>
#include <string>
#include <utility>

#include "carp/io/carp_io.h"

namespace hafw::carp::io {

Result<void> CarpIo::OpenSockets(Parent& parent) {
  const std::string name = parent.name;
  auto receive = [this, name](const carp::PacketInfo& info, std::span<const uint8_t> bytes) {
    OnPacket(name, info, bytes);
  };
  auto is_local = [this](const IpAddress& a) { return IsLocal(a); };
  parent.v4.reset();
  parent.v6.reset();
  if (parent.wants_v4) {
    auto sock = adapters_->OpenSocket(IpFamily::kV4, name, parent.ifindex, receive, is_local);
    if (!sock) return tl::unexpected(sock.error());
    parent.v4 = std::move(*sock);
  }
  if (parent.wants_v6) {
    auto sock = adapters_->OpenSocket(IpFamily::kV6, name, parent.ifindex, receive, is_local);
    if (!sock) return tl::unexpected(sock.error());
    parent.v6 = std::move(*sock);
  }
  return {};
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
    // Sources are per ifindex; the new interface's addresses arrive as events.
    RecomputeAddresses();
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

void CarpIo::OnAddress(const InterfaceAddress& address, bool present) {
  (void)address;
  (void)present;
  if (stopped_ || !started_) return;
  ++counters_.address_events;
  RecomputeAddresses();
}

void CarpIo::RecomputeAddresses() {
  local_addresses_.clear();
  for (auto& [name, parent] : parents_) {
    parent.source_v4.reset();
    parent.source_v6.reset();
  }
  if (!links_) return;
  const std::vector<InterfaceAddress>& addresses = links_->Addresses();
  for (const InterfaceAddress& entry : addresses) local_addresses_.insert(entry.prefix.address);
  // Sources are never a VIP nor tentative. IPv4: the first primary address
  // (what the kernel would pick), a secondary only without one; IPv6: the
  // first link-local address.
  for (const bool secondaries : {false, true}) {
    for (const InterfaceAddress& entry : addresses) {
      const IpAddress& a = entry.prefix.address;
      if (entry.Tentative() || (a.IsV4() && entry.Secondary() != secondaries)) continue;
      for (auto& [name, parent] : parents_) {
        if (parent.ifindex != entry.ifindex) continue;
        if (std::find(parent.vips.begin(), parent.vips.end(), a) != parent.vips.end()) continue;
        if (a.IsV4() && !parent.source_v4) parent.source_v4 = a;
        if (a.IsV6() && a.IsLinkLocal() && !parent.source_v6) parent.source_v6 = a;
      }
    }
  }
}

}  // namespace hafw::carp::io
