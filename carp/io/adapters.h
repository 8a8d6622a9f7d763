#pragma once

// The adapters CarpIo drives, as small interfaces: the Linux ones (CarpSocket,
// AddressManager, Announcer, VmacLinks, LinkMonitor, an Asio timer) come from
// LinuxAdapters(); carp/testing/fake_adapters.h has fakes so CarpIo's
// executor logic runs in unit tests without root or a kernel.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "carp/core/vhost_set.h"
#include "carp/io/io_types.h"
#include "common/clock.h"
#include "common/ip_address.h"
#include "common/result.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace hafw::carp::io {

// A raw CARP socket of one family on one interface.
class CarpTransport {
 public:
  using ReceiveFn =
      std::function<void(const carp::PacketInfo& info, std::span<const uint8_t> carp_bytes)>;
  // Whether an address belongs to this node (fills PacketInfo.from_local_address).
  using LocalAddressFn = std::function<bool(const IpAddress& address)>;

  virtual ~CarpTransport() = default;
  // Sends one packet carrying `carp_bytes` from `source` (an address of the
  // parent; link-local for IPv6) to the CARP group or `unicast_destination`.
  virtual Result<void> Send(const IpAddress& source,
                            const std::optional<IpAddress>& unicast_destination,
                            std::span<const uint8_t> carp_bytes) = 0;
  // Stops reading and closes; Send fails afterwards.
  virtual void Close() = 0;
  virtual const CarpSocketCounters& Counters() const = 0;
};

// Interface addresses (VIPs).
class AddressControl {
 public:
  virtual ~AddressControl() = default;
  // Already present counts as success.
  virtual Result<void> Add(int ifindex, const IpPrefix& prefix) = 0;
  // Not present counts as success.
  virtual Result<void> Remove(int ifindex, const IpPrefix& prefix) = 0;
  // Removes every address of the interface equal to one of `prefixes`
  // (whatever its prefix length); returns how many.
  virtual Result<int> RemoveIfPresent(int ifindex, std::span<const IpPrefix> prefixes) = 0;
};

// Gratuitous ARP / unsolicited NA for a VIP.
class VipAnnouncer {
 public:
  virtual ~VipAnnouncer() = default;
  virtual Result<void> Announce(const std::string& ifname, int ifindex, const MacAddress& mac,
                                const IpAddress& vip) = 0;
};

// The macvlans of vhids with a virtual MAC, and the parents' ARP settings.
class VmacControl {
 public:
  virtual ~VmacControl() = default;
  virtual Result<CreatedVmac> Create(const std::string& name, int parent_ifindex,
                                     const MacAddress& mac) = 0;
  virtual Result<void> SetUp(int ifindex, bool up) = 0;
  // An interface that no longer exists counts as deleted.
  virtual Result<void> Delete(int ifindex) = 0;
  virtual Result<ArpSettings> GetArpSettings(int ifindex) = 0;
  virtual Result<void> SetArpSettings(int ifindex, const ArpSettings& settings) = 0;
};

// The namespace's links and addresses, kept current from kernel events.
class NetworkMonitor {
 public:
  // A link appeared, disappeared (up = false) or its Up() changed.
  using LinkFn = std::function<void(const LinkInfo& link, bool up)>;
  // An address appeared or changed (present = true) or went away.
  using AddressFn = std::function<void(const InterfaceAddress& address, bool present)>;

  virtual ~NetworkMonitor() = default;
  virtual std::optional<LinkInfo> Find(std::string_view name) const = 0;
  virtual std::optional<LinkInfo> Find(int ifindex) const = 0;
  // Every address of the namespace; per interface in the kernel's order.
  virtual const std::vector<InterfaceAddress>& Addresses() const = 0;
  // Stops reading events; Find() and Addresses() keep the last known state.
  virtual void Stop() = 0;
  // RTM_GETADDR dumps so far: one at start, one per event overrun.
  virtual uint64_t AddressDumps() const = 0;
};

// The one timer of CarpIo: fires `on_expiry` (set once) at a deadline on the
// Clock that CarpIo was given.
class DeadlineTimer {
 public:
  virtual ~DeadlineTimer() = default;
  virtual void SetCallback(std::function<void()> on_expiry) = 0;
  // Replaces any earlier deadline.
  virtual void Arm(TimePoint deadline) = 0;
  virtual void Cancel() = 0;
};

// Opens the adapters. Everything opened belongs to the calling thread's
// network namespace.
class CarpIoAdapters {
 public:
  virtual ~CarpIoAdapters() = default;
  virtual Result<std::unique_ptr<NetworkMonitor>> OpenMonitor(
      NetworkMonitor::LinkFn on_link, NetworkMonitor::AddressFn on_address) = 0;
  virtual Result<std::unique_ptr<AddressControl>> OpenAddresses() = 0;
  virtual Result<std::unique_ptr<VipAnnouncer>> OpenAnnouncer() = 0;
  virtual Result<std::unique_ptr<VmacControl>> OpenVmacs() = 0;
  // Receives (on `ifname`) and sends.
  virtual Result<std::unique_ptr<CarpTransport>> OpenSocket(
      IpFamily family, const std::string& ifname, int ifindex, CarpTransport::ReceiveFn on_receive,
      CarpTransport::LocalAddressFn is_local) = 0;
  // Only sends, through `ifname` (a macvlan), from the parent's address.
  virtual Result<std::unique_ptr<CarpTransport>> OpenSendSocket(IpFamily family,
                                                                const std::string& ifname,
                                                                int ifindex) = 0;
  virtual std::unique_ptr<DeadlineTimer> MakeTimer(const Clock& clock) = 0;
};

// The real kernel, on `io` (which must outlive everything opened).
std::unique_ptr<CarpIoAdapters> LinuxAdapters(boost::asio::io_context& io);

}  // namespace hafw::carp::io
