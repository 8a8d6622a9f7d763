// Packets through the agent's table, in namespaces the test creates: forged
// CARP (wrong source, TTL 64) and sync traffic from a wrong address are
// dropped and counted per reason while the configured peers pass; a reload
// under a stream of forged packets lets none through and counts every one;
// conntrack entries get the labels extension only while the table is loaded.

#include <atomic>
#include <cerrno>
#include <thread>

#include <gtest/gtest.h>

#include "firewall/nft/table_keeper.h"
#include "firewall/testing/nft_lab.h"
#include "testing/netns_lab.h"

namespace hafw::firewall::nft {
namespace {

using testkit::RunUntil;
using testkit::ScopedNetns;
using namespace hafw::firewall::testing;  // NOLINT(google-build-using-namespace)

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

class TableTrafficTest : public testkit::NetnsLabTest {
 protected:
  void SetUp() override {
    NetnsLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto added = AddLabAddresses(lab_.ns_a, lab_.if_a, lab_.ns_b, lab_.if_b);
    ASSERT_TRUE(added) << added.error().ToString();
    plan_ = LabPlan(lab_.if_b);
    ScopedNetns in(lab_.ns_b);
    auto keeper = TableKeeper::Create(io_, {}, nullptr, clock_);
    ASSERT_TRUE(keeper) << keeper.error().ToString();
    keeper_ = std::move(*keeper);
  }

  // Waits (bounded) until the counters show `packets` for `reason`.
  bool CountsReach(DropReason reason, uint64_t packets) {
    return RunUntil(io_, [&] {
      auto c = keeper_->ReadCounters();
      return c && (*c)[reason].packets >= packets;
    });
  }
  uint64_t Packets(DropReason reason) {
    auto c = keeper_->ReadCounters();
    return c ? (*c)[reason].packets : 0;
  }
  bool Carp(const char* source, const char* destination, int ttl) {
    return SendCarp(lab_.ns_a, lab_.if_a, Ip(source), Ip(destination), ttl);
  }

  boost::asio::io_context io_;
  SteadyClock clock_;
  std::unique_ptr<TableKeeper> keeper_;
  FirewallPlan plan_;
};

TEST_F(TableTrafficTest, CarpFromTheAllowedSourcesPasses) {
  ASSERT_TRUE(keeper_->Apply(plan_));
  CarpReceiver rx(lab_.ns_b, lab_.if_b);
  ASSERT_TRUE(rx.Ok());
  ASSERT_TRUE(Carp(kPeerV4, kFirewallV4, 255));
  ASSERT_TRUE(Carp(kPeerV4, "224.0.0.18", 255));
  ASSERT_TRUE(Carp(kPeerV6, kFirewallV6, 255));
  ASSERT_TRUE(Carp(kPeerLinkLocal, "ff02::12", 255));
  EXPECT_TRUE(RunUntil(io_, [&] { return rx.Count() == 4; })) << rx.Count();
  auto counters = keeper_->ReadCounters();
  ASSERT_TRUE(counters);
  EXPECT_EQ(counters->TotalPackets(), 0U);
}

TEST_F(TableTrafficTest, CarpFromAWrongSourceIsDroppedAndCounted) {
  ASSERT_TRUE(keeper_->Apply(plan_));
  CarpReceiver rx(lab_.ns_b, lab_.if_b);
  ASSERT_TRUE(rx.Ok());
  ASSERT_TRUE(Carp(kStrangerV4, kFirewallV4, 255));
  ASSERT_TRUE(Carp(kStrangerV4, "224.0.0.18", 255));
  ASSERT_TRUE(Carp(kStrangerV6, kFirewallV6, 255));
  ASSERT_TRUE(Carp(kStrangerLinkLocal, "ff02::12", 255));
  EXPECT_TRUE(CountsReach(DropReason::kCarpSource, 4));
  EXPECT_EQ(Packets(DropReason::kCarpSource), 4U);
  EXPECT_EQ(Packets(DropReason::kCarpTtl), 0U);
  EXPECT_EQ(rx.Count(), 0);
}

TEST_F(TableTrafficTest, CarpWithATtlBelow255IsDroppedAndCounted) {
  ASSERT_TRUE(keeper_->Apply(plan_));
  CarpReceiver rx(lab_.ns_b, lab_.if_b);
  ASSERT_TRUE(rx.Ok());
  ASSERT_TRUE(Carp(kPeerV4, kFirewallV4, 64));
  ASSERT_TRUE(Carp(kPeerV4, "224.0.0.18", 254));
  ASSERT_TRUE(Carp(kPeerLinkLocal, "ff02::12", 64));
  EXPECT_TRUE(CountsReach(DropReason::kCarpTtl, 3));
  EXPECT_EQ(Packets(DropReason::kCarpTtl), 3U);
  EXPECT_EQ(Packets(DropReason::kCarpSource), 0U);
  EXPECT_EQ(rx.Count(), 0);
}

TEST_F(TableTrafficTest, SyncTrafficFromAWrongAddressIsDroppedAndCounted) {
  ASSERT_TRUE(keeper_->Apply(plan_));
  TcpListener listener(lab_.ns_b, kSyncPort);
  ASSERT_TRUE(listener.Ok());
  EXPECT_TRUE(TcpConnects(lab_.ns_a, Ip(kPeerV4), Ip(kFirewallV4), kSyncPort, 2000));
  EXPECT_TRUE(TcpConnects(lab_.ns_a, Ip(kPeerV6), Ip(kFirewallV6), kSyncPort, 2000));
  EXPECT_EQ(Packets(DropReason::kSyncSource), 0U);
  EXPECT_FALSE(TcpConnects(lab_.ns_a, Ip(kStrangerV4), Ip(kFirewallV4), kSyncPort, 300));
  EXPECT_FALSE(TcpConnects(lab_.ns_a, Ip(kStrangerV6), Ip(kFirewallV6), kSyncPort, 300));
  EXPECT_TRUE(CountsReach(DropReason::kSyncSource, 2));
  // Other ports on the sync interface are not ours to filter.
  TcpListener other(lab_.ns_b, kSyncPort + 1);
  ASSERT_TRUE(other.Ok());
  EXPECT_TRUE(TcpConnects(lab_.ns_a, Ip(kStrangerV4), Ip(kFirewallV4), kSyncPort + 1, 2000));
}

TEST_F(TableTrafficTest, ReloadsUnderAStreamOfForgedPacketsLetNoneThroughAndCountEveryOne) {
  ASSERT_TRUE(keeper_->Apply(plan_));
  CarpReceiver rx(lab_.ns_b, lab_.if_b);
  ASSERT_TRUE(rx.Ok());
  FirewallPlan other = plan_;
  other.carp_parents[0].allowed_sources.push_back(*IpPrefix::Parse("192.0.2.77/32"));
  other.conntrack_labels = false;
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread sender([&] {
    // Bounded: at most 20000 packets or until told to stop.
    for (int i = 0; i < 20000 && !stop; ++i) {
      if (SendCarp(lab_.ns_a, lab_.if_a, Ip(kStrangerV4), Ip(kFirewallV4), 255)) ++sent;
    }
  });
  int reloads = 0;
  for (int i = 0; i < 20; ++i) {
    if (keeper_->Apply(i % 2 == 0 ? other : plan_)) ++reloads;
  }
  stop = true;
  sender.join();
  EXPECT_EQ(reloads, 20);
  ASSERT_GT(sent.load(), 0);
  EXPECT_TRUE(CountsReach(DropReason::kCarpSource, static_cast<uint64_t>(sent.load())));
  EXPECT_EQ(Packets(DropReason::kCarpSource), static_cast<uint64_t>(sent.load()));
  EXPECT_EQ(rx.Count(), 0);
}

TEST_F(TableTrafficTest, NewFlowsGetConntrackLabelsOnlyWithTheTableLoaded) {
  // The user's stateful ruleset makes the namespace track connections.
  ASSERT_EQ(NftFile(lab_.ns_b,
                    "table inet filter {\n\tchain input {\n\t\ttype filter hook "
                    "input priority filter; policy accept;\n\t\tct state new "
                    "counter\n\t}\n}\n"),
            0);
  const IpAddress peer = Ip(kPeerV4);
  const IpAddress fw = Ip(kFirewallV4);
  // Before the table: the entry has no labels extension.
  ASSERT_TRUE(SendUdp(lab_.ns_a, peer, 40001, fw));
  EXPECT_EQ(SetConntrackLabel(lab_.ns_b, peer, 40001, fw, 120), ENOSPC);

  ASSERT_TRUE(keeper_->Apply(plan_));
  ASSERT_TRUE(SendUdp(lab_.ns_a, peer, 40002, fw));
  EXPECT_EQ(SetConntrackLabel(lab_.ns_b, peer, 40002, fw, 120), 0);
  ASSERT_TRUE(SendUdp(lab_.ns_a, Ip(kPeerV6), 40003, Ip(kFirewallV6)));
  EXPECT_EQ(SetConntrackLabel(lab_.ns_b, Ip(kPeerV6), 40003, Ip(kFirewallV6), 127), 0);
  // An entry made before the table keeps lacking it: the table must come first.
  EXPECT_EQ(SetConntrackLabel(lab_.ns_b, peer, 40001, fw, 120), ENOSPC);
  // A reload replaces the labels rule in the same transaction: no gap.
  ASSERT_TRUE(keeper_->Apply(plan_));
  ASSERT_TRUE(SendUdp(lab_.ns_a, peer, 40004, fw));
  EXPECT_EQ(SetConntrackLabel(lab_.ns_b, peer, 40004, fw, 120), 0);

  // Without the labels rule (and no other `ct label set` user), new entries
  // lack it again once the kernel has released the old rule (it does so
  // after the commit, so allow a moment).
  FirewallPlan no_labels = plan_;
  no_labels.conntrack_labels = false;
  ASSERT_TRUE(keeper_->Apply(no_labels));
  uint16_t sport = 40100;
  const bool lacking = RunUntil(io_, [&] {
    ++sport;
    return SendUdp(lab_.ns_a, peer, sport, fw) &&
           SetConntrackLabel(lab_.ns_b, peer, sport, fw, 120) == ENOSPC;
  });
  EXPECT_TRUE(lacking);
  // Entries made while it was loaded keep theirs.
  EXPECT_EQ(SetConntrackLabel(lab_.ns_b, peer, 40002, fw, 121), 0);
}

TEST_F(TableTrafficTest, EntriesCreatedThroughCtnetlinkKeepTheirLabelsOnlyWithTheTableLoaded) {
  // As state sync installs a peer's flow: without the table the kernel takes
  // the create and silently drops the labels.
  const IpAddress a = Ip("198.51.100.1");
  const IpAddress b = Ip("198.51.100.2");
  EXPECT_EQ(CreateLabelledEntry(lab_.ns_b, a, 41001, b, 120), std::optional<bool>(false));
  ASSERT_TRUE(keeper_->Apply(plan_));
  EXPECT_EQ(CreateLabelledEntry(lab_.ns_b, a, 41002, b, 120), std::optional<bool>(true));
  EXPECT_EQ(CreateLabelledEntry(lab_.ns_b, Ip("2001:db8:5::1"), 41003, Ip("2001:db8:5::2"), 127),
            std::optional<bool>(true));
}

}  // namespace
}  // namespace hafw::firewall::nft
