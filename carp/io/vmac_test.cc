// Virtual MAC (vmac = true) against the real kernel: two CarpIo nodes and a
// client on a bridge, all in namespaces this test creates.

#include "carp/io/vmac.h"

#include <linux/if_link.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "carp/core/demotion_groups.h"
#include "carp/io/address_manager.h"
#include "carp/io/carp_io.h"
#include "carp/io/link_monitor.h"
#include "testing/netns_lab.h"

namespace hafw::carp::io {
namespace {

using std::chrono::milliseconds;
using testkit::FrameCapture;
using testkit::NetnsLab;
using testkit::NetnsSwitchLab;
using testkit::ScopedNetns;

IpPrefix P(const char* text) { return *IpPrefix::Parse(text); }
IpAddress A(const char* text) { return *IpAddress::Parse(text); }

constexpr uint8_t kVhid = 7;
const MacAddress kVmac = VirtualMac(kVhid);
const std::vector<IpPrefix> kVips = {P("192.0.2.100/24"), P("2001:db8::100/64")};

std::unique_ptr<VhostSet> MakeSet(const std::string& ifname, uint8_t advskew) {
  auto set = std::make_unique<VhostSet>(DemotionGroups());
  VhostConfig config;
  config.vhid = kVhid;
  config.advbase = 1;
  config.advskew = advskew;
  for (const auto& p : kVips) config.vips.push_back(p.address);
  const std::string pass = "hafw-vmac";
  config.passphrase.assign(pass.begin(), pass.end());
  EXPECT_TRUE(set->Add(ifname, config, /*cookie=*/0x2000 + advskew).has_value());
  return set;
}

// Seen from inside `ns`.
std::optional<MacvlanLink> FindLink(const std::string& ns, const std::string& name) {
  ScopedNetns in(ns);
  auto links = VmacLinks::Open();
  if (!in.Ok() || !links) return std::nullopt;
  auto found = links->Find(name);
  return found ? *found : std::nullopt;
}

int VipsOn(const std::string& ns, const std::string& ifname) {
  ScopedNetns in(ns);
  if (!in.Ok()) return -1;
  return testkit::CountAddressesOn(ifname, kVips);
}

std::string Sysctl(NetnsSwitchLab& lab, const std::string& ns, const std::string& key) {
  std::string out;
  if (lab.Exec(ns, {"sysctl", "-n", key}, &out) != 0) return "?";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The lladdr of the client's neighbour entry for `ip` ("" if none).
std::string Neighbour(NetnsSwitchLab& lab, const std::string& ip) {
  std::string out;
  if (lab.Exec(lab.ns_c, {"ip", "neigh", "show", ip}, &out) != 0) return "";
  std::istringstream words(out);
  std::string word;
  while (words >> word) {
    if (word == "lladdr" && (words >> word)) return word;
  }
  return "";
}

MacAddress EthSource(const std::vector<uint8_t>& f) {
  MacAddress m;
  std::memcpy(m.data(), f.data() + 6, 6);
  return m;
}

// ARP with the given opcode and sender protocol address; returns the sender MAC.
std::optional<MacAddress> ArpSender(const std::vector<uint8_t>& f, uint16_t op,
                                    const IpAddress& sender_ip) {
  if (f.size() < 42 || f[12] != 0x08 || f[13] != 0x06) return std::nullopt;
  if (f[14 + 6] != 0 || f[14 + 7] != op) return std::nullopt;
  if (std::memcmp(f.data() + 14 + 14, sender_ip.Bytes().data(), 4) != 0) return std::nullopt;
  MacAddress m;
  std::memcpy(m.data(), f.data() + 14 + 8, 6);
  return m;
}

bool IsCarpV4From(const std::vector<uint8_t>& f, const IpAddress& source) {
  return f.size() >= 14 + 20 + 36 && f[12] == 0x08 && f[13] == 0x00 && f[14 + 9] == 112 &&
         std::memcmp(f.data() + 14 + 12, source.Bytes().data(), 4) == 0;
}

bool IsCarpV6(const std::vector<uint8_t>& f) {
  return f.size() >= 14 + 40 + 36 && f[12] == 0x86 && f[13] == 0xdd && f[14 + 6] == 112;
}

// One CARP node on its own thread, in its namespace.
class Node {
 public:
  Node(std::string ns, std::string ifname, uint8_t advskew)
      : ns_(std::move(ns)), ifname_(std::move(ifname)), advskew_(advskew) {}
  ~Node() { Stop(); }

  void Run() {
    thread_ = std::thread([this] { Loop(); });
  }
  VhostState State() const { return static_cast<VhostState>(state_.load()); }
  bool Started() const { return started_.load(); }
  std::string Error() const {
    std::lock_guard lock(mu_);
    return error_;
  }
  std::string Vmac() const {
    std::lock_guard lock(mu_);
    return vmac_name_;
  }
  // Shutdown() on the node's thread; returns once it is done (at most 5 s).
  bool Shutdown() {
    shutdown_.store(true);
    return testkit::WaitUntil([this] { return shut_down_.load(); }, milliseconds(5000));
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  // Polls (at most `limit`) until the node is in `state`.
  bool WaitFor(VhostState state, milliseconds limit) {
    return testkit::WaitUntil([&] { return State() == state; }, limit);
  }

 private:
  void SetError(const std::string& e) {
    std::lock_guard lock(mu_);
    if (error_.empty()) error_ = e;
  }
  void Loop() {
    ScopedNetns in(ns_);
    if (!in.Ok()) return SetError("setns " + ns_);
    boost::asio::io_context io;
    SteadyClock clock;
    CarpIoCallbacks callbacks;
    callbacks.on_action = [this](const VhostAction& action, const Result<void>& outcome) {
      if (!outcome) SetError(outcome.error().ToString());
      (void)action;
    };
    callbacks.on_error = [this](const hafw::Error& e) { SetError(e.ToString()); };
    auto created = CarpIo::Create(io, clock, MakeSet(ifname_, advskew_),
                                  {VhostIo{ifname_, kVhid, kVips, true}}, callbacks);
    if (!created) return SetError(created.error().ToString());
    std::unique_ptr<CarpIo> node = std::move(*created);
    if (auto started = node->Start(); !started) return SetError(started.error().ToString());
    {
      std::lock_guard lock(mu_);
      vmac_name_ = node->VmacInterface(ifname_, kVhid);
    }
    started_.store(true);
    // Bounded: the test never needs a node for more than a minute.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!stop_.load() && std::chrono::steady_clock::now() < until) {
      io.restart();
      io.run_for(milliseconds(20));
      state_.store(static_cast<int>(node->Vhosts().Find(ifname_, kVhid)->State()));
      if (shutdown_.load() && !shut_down_.load()) {
        node->Shutdown();
        state_.store(static_cast<int>(node->Vhosts().Find(ifname_, kVhid)->State()));
        shut_down_.store(true);
      }
    }
    node->Shutdown();
    shut_down_.store(true);
  }

  std::string ns_, ifname_;
  uint8_t advskew_;
  std::thread thread_;
  std::atomic<int> state_{static_cast<int>(VhostState::kInit)};
  std::atomic<bool> started_{false}, shutdown_{false}, shut_down_{false}, stop_{false};
  mutable std::mutex mu_;
  std::string error_, vmac_name_;
};

class VmacTest : public ::testing::Test {
 protected:
  void SetUp() override { HAFW_REQUIRE_ROOT_OR_SKIP(); }
};

TEST_F(VmacTest, MasterAnswersWithTheVirtualMacAndFailoverKeepsIt) {
  NetnsSwitchLab lab;
  auto ok = lab.Setup();
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  const std::string vmac_text = MacToString(kVmac);
  const std::string vmac_if = "vh7.lan0";
  auto real_mac_a = [&] {
    ScopedNetns in(lab.ns_a);
    auto link = QueryLink(lab.node_if);
    return link ? MacToString(link->mac) : std::string("?");
  }();
  FrameCapture capture(lab.ns_c, lab.bridge);
  ASSERT_TRUE(capture.Ok());

  Node a(lab.ns_a, lab.node_if, 0);
  Node b(lab.ns_b, lab.node_if, 100);
  a.Run();
  b.Run();
  ASSERT_TRUE(a.WaitFor(VhostState::kMaster, milliseconds(8000))) << a.Error();
  ASSERT_TRUE(b.WaitFor(VhostState::kBackup, milliseconds(1000))) << b.Error();
  EXPECT_EQ(a.Vmac(), vmac_if);

  // The takeover's gratuitous ARP and the advertisements leave with the
  // virtual MAC (Ethernet source and ARP sender hardware address); the IPv4
  // advert's source is A's real address, the IPv6 one a link-local address.
  auto garp =
      capture.Collect([](const auto& f) { return ArpSender(f, 1, A("192.0.2.100")).has_value(); },
                      milliseconds(3000), true);
  ASSERT_EQ(garp.size(), 1u) << "no gratuitous ARP for the VIP";
  EXPECT_EQ(MacToString(*ArpSender(garp[0], 1, A("192.0.2.100"))), vmac_text);
  EXPECT_EQ(MacToString(EthSource(garp[0])), vmac_text);
  auto ad4 = capture.Collect([](const auto& f) { return IsCarpV4From(f, A("192.0.2.1")); },
                             milliseconds(2500), true);
  ASSERT_EQ(ad4.size(), 1u) << "no IPv4 advertisement from 192.0.2.1";
  EXPECT_EQ(MacToString(EthSource(ad4[0])), vmac_text);
  auto ad6 = capture.Collect([](const auto& f) { return IsCarpV6(f); }, milliseconds(2500), true);
  ASSERT_EQ(ad6.size(), 1u) << "no IPv6 advertisement";
  EXPECT_EQ(MacToString(EthSource(ad6[0])), vmac_text);
  EXPECT_EQ(ad6[0][14 + 8], 0xfe);  // fe80::/10 source
  EXPECT_EQ(ad6[0][14 + 9] & 0xc0, 0x80);

  // A: the VIPs are on the macvlan (private mode, virtual MAC), not the parent;
  // the parent no longer answers ARP for other interfaces' addresses.
  auto link_a = FindLink(lab.ns_a, vmac_if);
  ASSERT_TRUE(link_a.has_value());
  EXPECT_TRUE(link_a->is_macvlan);
  EXPECT_EQ(link_a->mode, static_cast<uint32_t>(MACVLAN_MODE_PRIVATE));
  EXPECT_EQ(MacToString(link_a->mac), vmac_text);
  EXPECT_TRUE(link_a->admin_up);
  EXPECT_EQ(VipsOn(lab.ns_a, vmac_if), 2);
  EXPECT_EQ(VipsOn(lab.ns_a, lab.node_if), 0);
  EXPECT_EQ(Sysctl(lab, lab.ns_a, "net.ipv4.conf.lan0.arp_ignore"), "1");
  EXPECT_EQ(Sysctl(lab, lab.ns_a, "net.ipv4.conf.lan0.arp_announce"), "2");
  EXPECT_EQ(Sysctl(lab, lab.ns_a, "net.ipv4.conf.vh7/lan0.arp_ignore"), "1");
  EXPECT_EQ(Sysctl(lab, lab.ns_a, "net.ipv4.conf.vh7/lan0.rp_filter"), "2");
  // B (BACKUP): macvlan present but down and empty.
  auto link_b = FindLink(lab.ns_b, vmac_if);
  ASSERT_TRUE(link_b.has_value());
  EXPECT_FALSE(link_b->admin_up);
  EXPECT_EQ(VipsOn(lab.ns_b, vmac_if), 0);

  // The client resolves the VIP: every ARP reply carries the virtual MAC (the
  // parent, whose own MAC would be wrong, stays silent).
  auto arp_replies_for = [&](const char* ip) {
    return capture.Collect([&](const auto& f) { return ArpSender(f, 2, A(ip)).has_value(); },
                           milliseconds(500), false);
  };
  ASSERT_EQ(lab.Exec(lab.ns_c, {"ping", "-c", "1", "-W", "2", "192.0.2.100"}), 0);
  auto replies = arp_replies_for("192.0.2.100");
  ASSERT_FALSE(replies.empty());
  for (const auto& r : replies) {
    EXPECT_EQ(MacToString(*ArpSender(r, 2, A("192.0.2.100"))), vmac_text);
  }
  EXPECT_EQ(Neighbour(lab, "192.0.2.100"), vmac_text);
  // A's own address still resolves to its real MAC: the macvlan must not
  // answer for it. (The client may have learned it already from A's ARP
  // request for the client, sent from the parent because the replies to the
  // client follow the parent's connected route: forget it and ask.)
  lab.Exec(lab.ns_c, {"ip", "neigh", "del", "192.0.2.1", "dev", lab.bridge});
  ASSERT_EQ(lab.Exec(lab.ns_c, {"ping", "-c", "1", "-W", "2", "192.0.2.1"}), 0);
  replies = arp_replies_for("192.0.2.1");
  ASSERT_FALSE(replies.empty());
  for (const auto& r : replies) {
    EXPECT_EQ(MacToString(*ArpSender(r, 2, A("192.0.2.1"))), real_mac_a);
  }
  EXPECT_EQ(Neighbour(lab, "192.0.2.1"), real_mac_a);
  ASSERT_EQ(lab.Exec(lab.ns_c, {"ping", "-6", "-c", "1", "-W", "2", "2001:db8::100"}), 0);
  EXPECT_EQ(Neighbour(lab, "2001:db8::100"), vmac_text);

  // Failover: A leaves (bow-out), B takes over. A leaves nothing behind.
  ASSERT_TRUE(a.Shutdown());
  EXPECT_FALSE(FindLink(lab.ns_a, vmac_if).has_value()) << "macvlan left behind on A";
  EXPECT_EQ(Sysctl(lab, lab.ns_a, "net.ipv4.conf.lan0.arp_ignore"), "0");
  EXPECT_EQ(Sysctl(lab, lab.ns_a, "net.ipv4.conf.lan0.arp_announce"), "0");
  ASSERT_TRUE(b.WaitFor(VhostState::kMaster, milliseconds(2000))) << b.Error();
  EXPECT_EQ(VipsOn(lab.ns_b, vmac_if), 2);
  // The client's entry still says the virtual MAC and works without any ARP
  // change: the bridge relearned the MAC from B's frames.
  EXPECT_EQ(Neighbour(lab, "192.0.2.100"), vmac_text);
  EXPECT_EQ(lab.Exec(lab.ns_c, {"ping", "-c", "1", "-W", "2", "192.0.2.100"}), 0);
  EXPECT_EQ(Neighbour(lab, "192.0.2.100"), vmac_text);
  // Resolved afresh, B answers with the same virtual MAC.
  ASSERT_EQ(lab.Exec(lab.ns_c, {"ip", "neigh", "flush", "dev", lab.bridge}), 0);
  ASSERT_EQ(lab.Exec(lab.ns_c, {"ping", "-c", "1", "-W", "2", "192.0.2.100"}), 0);
  replies = arp_replies_for("192.0.2.100");
  ASSERT_FALSE(replies.empty());
  for (const auto& r : replies) {
    EXPECT_EQ(MacToString(*ArpSender(r, 2, A("192.0.2.100"))), vmac_text);
  }
  EXPECT_EQ(Neighbour(lab, "192.0.2.100"), vmac_text);
  EXPECT_EQ(lab.Exec(lab.ns_c, {"ping", "-6", "-c", "1", "-W", "2", "2001:db8::100"}), 0);
  EXPECT_EQ(Neighbour(lab, "2001:db8::100"), vmac_text);

  ASSERT_TRUE(b.Shutdown());
  EXPECT_FALSE(FindLink(lab.ns_b, vmac_if).has_value()) << "macvlan left behind on B";
  a.Stop();
  b.Stop();
  EXPECT_EQ(a.Error(), "");
  EXPECT_EQ(b.Error(), "");
}

// A crashed run's macvlan (wrong mode, up, holding a VIP) is replaced; a name
// taken by someone else's link is refused and Start leaves nothing behind.
TEST_F(VmacTest, LeftoverIsReplacedAndForeignNameRefused) {
  NetnsLab lab;
  auto ok = lab.Setup();
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  ScopedNetns in(lab.ns_a);
  ASSERT_TRUE(in.Ok());
  auto parent = QueryLink(lab.if_a);
  ASSERT_TRUE(parent.has_value());
  // The lab's interface names are long: the ifindex form of the name.
  const std::string name = VmacInterfaceName(lab.if_a, parent->ifindex, kVhid);
  EXPECT_NE(name.find('x'), std::string::npos) << name;
  ASSERT_EQ(lab.Ip(lab.ns_a, {"link", "add", "link", lab.if_a, "name", name, "type", "macvlan",
                              "mode", "bridge"}),
            0);
  ASSERT_EQ(lab.Ip(lab.ns_a, {"addr", "add", "192.0.2.100/24", "dev", name}), 0);
  ASSERT_EQ(lab.Ip(lab.ns_a, {"link", "set", name, "up"}), 0);

  boost::asio::io_context io;
  SteadyClock clock;
  {
    auto node = CarpIo::Create(io, clock, MakeSet(lab.if_a, 0),
                               {VhostIo{lab.if_a, kVhid, kVips, true}}, {});
    ASSERT_TRUE(node.has_value()) << node.error().ToString();
    auto started = (*node)->Start();
    ASSERT_TRUE(started.has_value()) << started.error().ToString();
    EXPECT_EQ((*node)->Counters().leftover_vmacs_replaced, 1u);
    EXPECT_EQ((*node)->VmacInterface(lab.if_a, kVhid), name);
    auto link = FindLink(lab.ns_a, name);
    ASSERT_TRUE(link.has_value());
    EXPECT_EQ(link->mode, static_cast<uint32_t>(MACVLAN_MODE_PRIVATE));
    EXPECT_EQ(link->mac, kVmac);
    EXPECT_FALSE(link->admin_up);  // not MASTER yet
    EXPECT_EQ(VipsOn(lab.ns_a, name), 0);
    (*node)->Shutdown();
    EXPECT_FALSE(FindLink(lab.ns_a, name).has_value());
  }

  // Someone else's link under our name: refused, nothing changed or left.
  ASSERT_EQ(lab.Ip(lab.ns_a, {"link", "add", name, "type", "veth", "peer", "name", "hafwpeer"}), 0);
  auto node =
      CarpIo::Create(io, clock, MakeSet(lab.if_a, 0), {VhostIo{lab.if_a, kVhid, kVips, true}}, {});
  ASSERT_TRUE(node.has_value());
  auto started = (*node)->Start();
  ASSERT_FALSE(started.has_value());
  EXPECT_NE(started.error().context.find("taken"), std::string::npos) << started.error().context;
  auto veth = FindLink(lab.ns_a, name);
  ASSERT_TRUE(veth.has_value());
  EXPECT_FALSE(veth->is_macvlan);
  std::string out;
  ASSERT_EQ(testkit::RunCommandCapture({"ip", "netns", "exec", lab.ns_a, "sysctl", "-n",
                                        "net.ipv4.conf." + lab.if_a + ".arp_ignore"},
                                       &out),
            0);
  EXPECT_EQ(out, "0\n") << "parent's arp_ignore not restored after a failed Start";
}

// A MASTER's macvlan deleted by hand comes back with its VIPs.
TEST_F(VmacTest, DeletedMacvlanOfAMasterIsRestored) {
  NetnsLab lab;
  auto ok = lab.Setup();
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  ScopedNetns in(lab.ns_a);
  ASSERT_TRUE(in.Ok());
  boost::asio::io_context io;
  SteadyClock clock;
  auto created =
      CarpIo::Create(io, clock, MakeSet(lab.if_a, 0), {VhostIo{lab.if_a, kVhid, kVips, true}}, {});
  ASSERT_TRUE(created.has_value()) << created.error().ToString();
  auto& node = *created;
  ASSERT_TRUE(node->Start().has_value());
  const auto* engine = node->Vhosts().Find(lab.if_a, kVhid);
  ASSERT_TRUE(testkit::RunUntil(
      io, [&] { return engine->State() == VhostState::kMaster; }, milliseconds(6000)));
  const std::string name = node->VmacInterface(lab.if_a, kVhid);
  const auto before = FindLink(lab.ns_a, name);
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(VipsOn(lab.ns_a, name), 2);

  ASSERT_EQ(lab.Ip(lab.ns_a, {"link", "del", name}), 0);
  EXPECT_TRUE(testkit::RunUntil(
      io, [&] { return node->Counters().vmacs_restored > 0; }, milliseconds(1000)));
  EXPECT_EQ(node->Counters().vmacs_restored, 1u);
  const auto after = FindLink(lab.ns_a, name);
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after->ifindex, before->ifindex);
  EXPECT_TRUE(after->admin_up);
  EXPECT_EQ(after->mac, kVmac);
  EXPECT_EQ(VipsOn(lab.ns_a, name), 2);
  // And it keeps advertising through the new macvlan.
  const uint64_t sent = node->Counters().adverts_sent;
  EXPECT_TRUE(testkit::RunUntil(
      io, [&] { return node->Counters().adverts_sent > sent; }, milliseconds(3000)));
  EXPECT_EQ(node->Counters().send_errors, 0u);
  node->Shutdown();
  EXPECT_FALSE(FindLink(lab.ns_a, name).has_value());
}

}  // namespace
}  // namespace hafw::carp::io
