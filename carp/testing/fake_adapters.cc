#include "carp/testing/fake_adapters.h"

#include <linux/if.h>

#include <algorithm>
#include <utility>

namespace hafw::carp::fakes {

using io::InterfaceAddress;
using io::LinkInfo;
using io::MacAddress;

namespace {

IpPrefix Prefix(std::string_view text) { return IpPrefix::Parse(text).value(); }

std::string ArpText(const io::ArpSettings& s) {
  return std::to_string(s.arp_ignore) + "/" + std::to_string(s.arp_announce) + "/" +
         std::to_string(s.rp_filter);
}

}  // namespace

// ---------------------------------------------------------------------------
// The fakes, each a thin view of the FakeNetwork.

class FakeMonitor final : public io::NetworkMonitor {
 public:
  FakeMonitor(FakeNetwork& net, LinkFn on_link, AddressFn on_address)
      : net_(net), on_link_(std::move(on_link)), on_address_(std::move(on_address)) {
    // The initial dump.
    addresses_ = net_.addresses_;
    ++net_.address_dumps;
    net_.monitor_ = this;
  }
  ~FakeMonitor() override {
    if (net_.monitor_ == this) net_.monitor_ = nullptr;
  }
  std::optional<LinkInfo> Find(std::string_view name) const override {
    for (const LinkInfo& link : links_) {
      if (link.name == name) return link;
    }
    return std::nullopt;
  }
  std::optional<LinkInfo> Find(int ifindex) const override {
    for (const LinkInfo& link : links_) {
      if (link.ifindex == ifindex) return link;
    }
    return std::nullopt;
  }
  const std::vector<InterfaceAddress>& Addresses() const override { return addresses_; }
  void Stop() override { stopped_ = true; }
  uint64_t AddressDumps() const override { return net_.address_dumps; }

  // The link table is the kernel's, read when asked (the real monitor has
  // it from its dump and events, which arrive at once here).
  void SyncLinks() { links_ = net_.links_; }
  void OnLink(const LinkInfo& link, bool up) {
    SyncLinks();
    if (!stopped_ && on_link_) on_link_(link, up);
  }
  void OnAddress(const InterfaceAddress& address, bool present) {
    if (stopped_) return;
    auto it = std::find_if(addresses_.begin(), addresses_.end(),
                           [&](const InterfaceAddress& a) { return a.SameEntry(address); });
    if (!present) {
      if (it != addresses_.end()) addresses_.erase(it);
    } else if (it == addresses_.end()) {
      addresses_.push_back(address);
    } else {
      *it = address;
    }
    if (on_address_) on_address_(address, present);
  }

 private:
  FakeNetwork& net_;
  LinkFn on_link_;
  AddressFn on_address_;
  std::vector<LinkInfo> links_;
  std::vector<InterfaceAddress> addresses_;
  bool stopped_ = false;
};

class FakeTransport final : public io::CarpTransport {
 public:
  FakeTransport(FakeNetwork& net, IpFamily family, std::string ifname, bool send_only,
                ReceiveFn on_receive, LocalAddressFn is_local)
      : net_(net),
        family_(family),
        ifname_(std::move(ifname)),
        send_only_(send_only),
        on_receive_(std::move(on_receive)),
        is_local_(std::move(is_local)) {
    net_.sockets_.push_back(this);
    net_.journal.push_back(std::string(send_only ? "open-send " : "open ") +
                           std::string(IpFamilyName(family_)) + " " + ifname_);
  }
  ~FakeTransport() override {
    Close();
    std::erase(net_.sockets_, this);
  }
  Result<void> Send(const IpAddress& source, const std::optional<IpAddress>& unicast_destination,
                    std::span<const uint8_t> carp_bytes) override {
    if (closed_ || net_.fail_sends) {
      ++counters_.send_errors;
      return MakeError(ErrorCode::kIo, "fake send on " + ifname_ + " failed");
    }
    ++counters_.sent;
    net_.sent.push_back(SentPacket{
        ifname_, family_, source, unicast_destination, {carp_bytes.begin(), carp_bytes.end()}});
    return {};
  }
  void Close() override {
    if (closed_) return;
    closed_ = true;
    net_.journal.push_back("close " + std::string(IpFamilyName(family_)) + " " + ifname_);
  }
  const io::CarpSocketCounters& Counters() const override { return counters_; }

  bool Deliver(const std::string& ifname, carp::PacketInfo info,
               std::span<const uint8_t> carp_bytes) {
    if (closed_ || send_only_ || ifname != ifname_ || info.family != family_) return false;
    info.from_local_address = is_local_ && is_local_(info.source);
    ++counters_.received;
    if (on_receive_) on_receive_(info, carp_bytes);
    return true;
  }

 private:
  FakeNetwork& net_;
  IpFamily family_;
  std::string ifname_;
  bool send_only_;
  ReceiveFn on_receive_;
  LocalAddressFn is_local_;
  io::CarpSocketCounters counters_;
  bool closed_ = false;
};

class FakeTimer final : public io::DeadlineTimer {
 public:
  explicit FakeTimer(FakeNetwork& net) : net_(net) { net_.timer_ = this; }
  ~FakeTimer() override {
    if (net_.timer_ == this) net_.timer_ = nullptr;
  }
  void SetCallback(std::function<void()> on_expiry) override { on_expiry_ = std::move(on_expiry); }
  void Arm(TimePoint deadline) override {
    ++net_.timer_arms;
    deadline_ = deadline;
  }
  void Cancel() override { deadline_.reset(); }

  std::optional<TimePoint> Deadline() const { return deadline_; }
  bool Fire() {
    if (!deadline_) return false;
    deadline_.reset();
    if (on_expiry_) on_expiry_();
    return true;
  }

 private:
  FakeNetwork& net_;
  std::function<void()> on_expiry_;
  std::optional<TimePoint> deadline_;
};

class FakeAddresses final : public io::AddressControl {
 public:
  explicit FakeAddresses(FakeNetwork& net) : net_(net) {}
  Result<void> Add(int ifindex, const IpPrefix& prefix) override {
    net_.journal.push_back("add " + prefix.ToString() + " on " + std::to_string(ifindex));
    if (net_.fail_address_changes) return MakeError(ErrorCode::kIo, "fake add failed");
    net_.AddAddress(ifindex, prefix.ToString());
    return {};
  }
  Result<void> Remove(int ifindex, const IpPrefix& prefix) override {
    net_.journal.push_back("remove " + prefix.ToString() + " on " + std::to_string(ifindex));
    if (net_.fail_address_changes) return MakeError(ErrorCode::kIo, "fake remove failed");
    net_.RemoveAddress(ifindex, prefix.ToString());
    return {};
  }
  Result<int> RemoveIfPresent(int ifindex, std::span<const IpPrefix> prefixes) override {
    std::vector<IpPrefix> found;
    for (const InterfaceAddress& a : net_.addresses_) {
      const bool wanted = std::any_of(prefixes.begin(), prefixes.end(), [&](const IpPrefix& p) {
        return p.address == a.prefix.address;
      });
      if (a.ifindex == ifindex && wanted) found.push_back(a.prefix);
    }
    for (const IpPrefix& p : found) {
      net_.journal.push_back("remove-leftover " + p.ToString() + " on " + std::to_string(ifindex));
      net_.RemoveAddress(ifindex, p.ToString());
    }
    return static_cast<int>(found.size());
  }

 private:
  FakeNetwork& net_;
};

class FakeAnnouncer final : public io::VipAnnouncer {
 public:
  explicit FakeAnnouncer(FakeNetwork& net) : net_(net) {}
  Result<void> Announce(const std::string& ifname, int ifindex, const MacAddress& mac,
                        const IpAddress& vip) override {
    net_.journal.push_back("announce " + vip.ToString() + " on " + ifname + " (" +
                           std::to_string(ifindex) + ") from " + io::MacToString(mac));
    if (net_.fail_announces) return MakeError(ErrorCode::kIo, "fake announce failed");
    return {};
  }

 private:
  FakeNetwork& net_;
};

class FakeVmacs final : public io::VmacControl {
 public:
  explicit FakeVmacs(FakeNetwork& net) : net_(net) {}
  Result<io::CreatedVmac> Create(const std::string& name, int parent_ifindex,
                                 const MacAddress& mac) override {
    net_.journal.push_back("vmac-create " + name + " on " + std::to_string(parent_ifindex));
    if (net_.fail_vmac_create) return MakeError(ErrorCode::kIo, "fake vmac create failed");
    io::CreatedVmac created;
    if (const LinkInfo* old = net_.Link(name)) {
      net_.DeleteLink(old->ifindex);
      created.replaced_leftover = true;
    }
    created.ifindex = net_.AddLink(name, /*up=*/false);
    for (LinkInfo& link : net_.links_) {
      if (link.ifindex == created.ifindex) link.mac = mac;
    }
    return created;
  }
  Result<void> SetUp(int ifindex, bool up) override {
    net_.journal.push_back(std::string(up ? "vmac-up " : "vmac-down ") + std::to_string(ifindex));
    return {};
  }
  Result<void> Delete(int ifindex) override {
    net_.journal.push_back("vmac-delete " + std::to_string(ifindex));
    net_.DeleteLink(ifindex);
    return {};
  }
  Result<io::ArpSettings> GetArpSettings(int ifindex) override { return net_.arp_[ifindex]; }
  Result<void> SetArpSettings(int ifindex, const io::ArpSettings& settings) override {
    net_.journal.push_back("arp " + std::to_string(ifindex) + " " + ArpText(settings));
    net_.arp_[ifindex] = settings;
    return {};
  }

 private:
  FakeNetwork& net_;
};

class FakeAdapters final : public io::CarpIoAdapters {
 public:
  explicit FakeAdapters(FakeNetwork& net) : net_(net) {}
  Result<std::unique_ptr<io::NetworkMonitor>> OpenMonitor(
      io::NetworkMonitor::LinkFn on_link, io::NetworkMonitor::AddressFn on_address) override {
    auto monitor = std::make_unique<FakeMonitor>(net_, std::move(on_link), std::move(on_address));
    monitor->SyncLinks();
    return std::unique_ptr<io::NetworkMonitor>(std::move(monitor));
  }
  Result<std::unique_ptr<io::AddressControl>> OpenAddresses() override {
    return std::unique_ptr<io::AddressControl>(std::make_unique<FakeAddresses>(net_));
  }
  Result<std::unique_ptr<io::VipAnnouncer>> OpenAnnouncer() override {
    return std::unique_ptr<io::VipAnnouncer>(std::make_unique<FakeAnnouncer>(net_));
  }
  Result<std::unique_ptr<io::VmacControl>> OpenVmacs() override {
    return std::unique_ptr<io::VmacControl>(std::make_unique<FakeVmacs>(net_));
  }
  Result<std::unique_ptr<io::CarpTransport>> OpenSocket(
      IpFamily family, const std::string& ifname, int ifindex,
      io::CarpTransport::ReceiveFn on_receive,
      io::CarpTransport::LocalAddressFn is_local) override {
    if (ifindex <= 0) return MakeError(ErrorCode::kInvalidArgument, "fake socket: no ifindex");
    return std::unique_ptr<io::CarpTransport>(std::make_unique<FakeTransport>(
        net_, family, ifname, /*send_only=*/false, std::move(on_receive), std::move(is_local)));
  }
  Result<std::unique_ptr<io::CarpTransport>> OpenSendSocket(IpFamily family,
                                                            const std::string& ifname,
                                                            int ifindex) override {
    if (ifindex <= 0) return MakeError(ErrorCode::kInvalidArgument, "fake socket: no ifindex");
    return std::unique_ptr<io::CarpTransport>(std::make_unique<FakeTransport>(
        net_, family, ifname, /*send_only=*/true, nullptr, nullptr));
  }
  std::unique_ptr<io::DeadlineTimer> MakeTimer(const Clock& clock) override {
    (void)clock;  // virtual time: the test fires the timer (RunTimers)
    return std::make_unique<FakeTimer>(net_);
  }

 private:
  FakeNetwork& net_;
};

// ---------------------------------------------------------------------------
// FakeNetwork

FakeNetwork::FakeNetwork() = default;
FakeNetwork::~FakeNetwork() = default;

std::unique_ptr<io::CarpIoAdapters> FakeNetwork::Adapters() {
  return std::make_unique<FakeAdapters>(*this);
}

int FakeNetwork::AddLink(const std::string& name, bool up) {
  LinkInfo link;
  link.ifindex = next_ifindex_++;
  link.name = name;
  link.mac = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(link.ifindex)};
  link.flags = up ? (IFF_UP | IFF_RUNNING) : 0;
  links_.push_back(link);
  QueueLinkEvent(link, link.Up());
  return link.ifindex;
}

void FakeNetwork::SetLinkUp(const std::string& name, bool up) {
  for (LinkInfo& link : links_) {
    if (link.name != name) continue;
    link.flags = up ? (IFF_UP | IFF_RUNNING) : 0;
    QueueLinkEvent(link, up);
    return;
  }
}

void FakeNetwork::DeleteLink(int ifindex) {
  auto it = std::find_if(links_.begin(), links_.end(),
                         [&](const LinkInfo& l) { return l.ifindex == ifindex; });
  if (it == links_.end()) return;
  const LinkInfo gone = *it;
  links_.erase(it);
  std::vector<InterfaceAddress> orphans;
  for (const InterfaceAddress& a : addresses_) {
    if (a.ifindex == ifindex) orphans.push_back(a);
  }
  for (const InterfaceAddress& a : orphans) RemoveAddress(ifindex, a.prefix.ToString());
  QueueLinkEvent(gone, false);
}

const LinkInfo* FakeNetwork::Link(std::string_view name) const {
  for (const LinkInfo& link : links_) {
    if (link.name == name) return &link;
  }
  return nullptr;
}

void FakeNetwork::QueueLinkEvent(const LinkInfo& link, bool up) {
  Event event;
  event.is_link = true;
  event.link = link;
  event.present = up;
  events_.push_back(std::move(event));
}

void FakeNetwork::AddAddress(int ifindex, std::string_view prefix, uint32_t flags) {
  InterfaceAddress entry{ifindex, Prefix(prefix), flags};
  auto it = std::find_if(addresses_.begin(), addresses_.end(),
                         [&](const InterfaceAddress& a) { return a.SameEntry(entry); });
  if (it != addresses_.end()) {
    if (it->flags == flags) return;
    it->flags = flags;
  } else {
    addresses_.push_back(entry);
  }
  QueueAddressEvent(entry, true);
}

void FakeNetwork::RemoveAddress(int ifindex, std::string_view prefix) {
  const InterfaceAddress entry{ifindex, Prefix(prefix), 0};
  auto it = std::find_if(addresses_.begin(), addresses_.end(),
                         [&](const InterfaceAddress& a) { return a.SameEntry(entry); });
  if (it == addresses_.end()) return;
  addresses_.erase(it);
  QueueAddressEvent(entry, false);
}

void FakeNetwork::QueueAddressEvent(const InterfaceAddress& address, bool present) {
  Event event;
  event.address = address;
  event.present = present;
  events_.push_back(std::move(event));
}

size_t FakeNetwork::DeliverEvents() {
  size_t n = 0;
  for (; n < 10000 && !events_.empty(); ++n) {
    const Event event = events_.front();
    events_.pop_front();
    if (monitor_ == nullptr) continue;
    if (event.is_link) {
      monitor_->OnLink(event.link, event.present);
    } else {
      monitor_->OnAddress(event.address, event.present);
    }
  }
  return n;
}

bool FakeNetwork::HasAddress(int ifindex, const IpAddress& address) const {
  return std::any_of(addresses_.begin(), addresses_.end(), [&](const InterfaceAddress& a) {
    return a.ifindex == ifindex && a.prefix.address == address;
  });
}

bool FakeNetwork::Receive(const std::string& ifname, const carp::PacketInfo& info,
                          std::span<const uint8_t> carp_bytes) {
  // A copy: the callback may open or close sockets.
  const std::vector<FakeTransport*> sockets = sockets_;
  for (FakeTransport* socket : sockets) {
    if (socket->Deliver(ifname, info, carp_bytes)) return true;
  }
  return false;
}

std::optional<TimePoint> FakeNetwork::TimerDeadline() const {
  return timer_ != nullptr ? timer_->Deadline() : std::nullopt;
}

bool FakeNetwork::FireTimer() { return timer_ != nullptr && timer_->Fire(); }

void FakeNetwork::RunTimers(ManualClock& clock, TimePoint until) {
  for (int i = 0; i < 100000; ++i) {
    const auto deadline = TimerDeadline();
    if (!deadline || *deadline > until) break;
    if (*deadline > clock.Now()) clock.Set(*deadline);
    FireTimer();
  }
  if (until > clock.Now()) clock.Set(until);
}

std::vector<std::string> FakeNetwork::Journal(std::string_view prefix) const {
  std::vector<std::string> out;
  for (const std::string& entry : journal) {
    if (entry.starts_with(prefix)) out.push_back(entry);
  }
  return out;
}

}  // namespace hafw::carp::fakes
