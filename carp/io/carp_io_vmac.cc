// CarpIo, virtual MAC part: the parents' ARP settings and the vhids'
// macvlans (carp_io.h explains the scheme).

#include <string>
#include <utility>

#include "carp/io/carp_io.h"

namespace hafw::carp::io {

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
    auto sock = adapters_->OpenSendSocket(IpFamily::kV4, vhid.vmac_name, vhid.vmac_ifindex);
    if (!sock) return tl::unexpected(sock.error());
    vhid.send_v4 = std::move(*sock);
  }
  if (vhid.has_v6) {
    auto sock = adapters_->OpenSendSocket(IpFamily::kV6, vhid.vmac_name, vhid.vmac_ifindex);
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
  auto announced = AnnounceVips(parent, vhid);
  if (!announced) {
    ++counters_.announce_errors;
    ReportError(announced.error());
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
    if (!restored && links_ && links_->Find(parent.ifindex)) ReportError(restored.error());
    parent.saved_arp.reset();
  }
}

}  // namespace hafw::carp::io
