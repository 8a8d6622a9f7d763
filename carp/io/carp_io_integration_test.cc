#include "carp/io/carp_io.h"

#include <atomic>
#include <barrier>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "carp/core/demotion_groups.h"
#include "carp/io/address_manager.h"
#include "carp/io/link_monitor.h"
#include "testing/netns_lab.h"

namespace hafw::carp::io {
namespace {

using testkit::RunUntil;
using testkit::ScopedNetns;

IpPrefix P(const char* text) { return *IpPrefix::Parse(text); }

const std::vector<IpPrefix> kVips = {P("192.0.2.100/24"), P("2001:db8::100/64")};

std::unique_ptr<VhostSet> MakeSet(const std::string& ifname, uint8_t advskew) {
  auto set = std::make_unique<VhostSet>(DemotionGroups());
  VhostConfig config;
  config.vhid = 1;
  config.advbase = 1;
  config.advskew = advskew;
  for (const auto& p : kVips) config.vips.push_back(p.address);
  const std::string pass = "hafw-test";
  config.passphrase.assign(pass.begin(), pass.end());
  auto added = set->Add(ifname, config, /*cookie=*/0x1000 + advskew);
  EXPECT_TRUE(added.has_value());
  return set;
}

// Whether every (or no) VIP is on the interface, seen from the current namespace.
int VipsPresent(const std::string& ifname) { return testkit::CountAddressesOn(ifname, kVips); }

struct Side {
  std::string ns, ifname;
  uint8_t advskew = 0;
  bool plant_leftover = false;
  // Results.
  std::string error;
  int leftover_after_start = -1;
  VhostState state1 = VhostState::kInit;
  int vips1 = -1;
  VhostState state2 = VhostState::kInit;
  int vips2 = -1;
  std::optional<TransitionCause> cause2;
  int vips_after_shutdown = -1;
  int announces = 0;
  int announces1 = 0;
  uint64_t adverts_sent = 0;
  uint64_t bow_outs = 0;
};

using CarpIoTest = testkit::NetnsLabTest;

TEST_F(CarpIoTest, TwoNodesElectOneMasterAndFailOverOnShutdown) {
  Side a;
  a.ns = lab_.ns_a;
  a.ifname = lab_.if_a;
  a.advskew = 0;
  a.plant_leftover = true;
  Side b;
  b.ns = lab_.ns_b;
  b.ifname = lab_.if_b;
  b.advskew = 100;
  std::barrier sync(2);
  SteadyClock clock;
  // Phase 1 ends when both have settled: A MASTER with its VIPs announced, B
  // BACKUP having accepted A's advertisements (so B is not BACKUP merely
  // because its master-down timer has not run out yet).
  std::atomic<bool> a_settled{false};
  std::atomic<bool> b_settled{false};

  auto run = [&](Side& me, const Side& other, std::atomic<bool>& settled) {
    ScopedNetns in(me.ns);
    if (!in.Ok()) me.error = "setns";
    if (me.plant_leftover) {
      // A VIP left behind by a "crashed" earlier run.
      auto link = QueryLink(me.ifname);
      auto am = AddressManager::Open();
      if (link && am) (void)am->Add(link->ifindex, P("192.0.2.100/32"));
    }
    boost::asio::io_context io;
    CarpIoCallbacks callbacks;
    callbacks.on_action = [&me](const VhostAction& action, const Result<void>& outcome) {
      if (std::holds_alternative<AnnounceVips>(action.action) && outcome) ++me.announces;
      if (const auto* send = std::get_if<SendAdvertisement>(&action.action)) {
        if (send->bow_out && outcome) ++me.bow_outs;
      }
    };
    auto carp = CarpIo::Create(io, clock, MakeSet(me.ifname, me.advskew),
                               {VhostIo{me.ifname, 1, kVips, false}}, callbacks);
    std::unique_ptr<CarpIo> node;
    if (carp) {
      node = std::move(*carp);
      auto started = node->Start();
      if (!started) me.error = started.error().ToString();
    } else {
      me.error = carp.error().ToString();
    }
    me.leftover_after_start = VipsPresent(me.ifname);
    if (node && me.error.empty()) {
      const bool leader = me.advskew < other.advskew;
      RunUntil(
          io,
          [&] {
            const auto* engine = node->Vhosts().Find(me.ifname, 1);
            settled = leader ? engine->State() == VhostState::kMaster && me.announces >= 1
                             : engine->State() == VhostState::kBackup &&
                                   engine->Status().adverts_received >= 1;
            return a_settled && b_settled;
          },
          std::chrono::seconds(10));
    }
    if (node) me.state1 = node->Vhosts().Find(me.ifname, 1)->State();
    me.vips1 = VipsPresent(me.ifname);
    me.announces1 = me.announces;
    sync.arrive_and_wait();
    // Phase 2: the master leaves; the backup must take over on the bow-out,
    // long before its 3.4 s master-down timer.
    const bool master = me.state1 == VhostState::kMaster && other.state1 != VhostState::kMaster;
    if (node && master) {
      node->Shutdown();
      me.vips_after_shutdown = VipsPresent(me.ifname);
    } else if (node) {
      // Bounded by more than the master-down time: a takeover that did not
      // come from the bow-out shows in the cause checked below.
      RunUntil(
          io,
          [&] {
            return node->Vhosts().Find(me.ifname, 1)->State() == VhostState::kMaster &&
                   VipsPresent(me.ifname) == 2;
          },
          std::chrono::seconds(5));
    }
    if (node) {
      const auto* engine = node->Vhosts().Find(me.ifname, 1);
      me.state2 = engine->State();
      if (engine->Status().last_transition) me.cause2 = engine->Status().last_transition->cause;
      me.adverts_sent = node->Counters().adverts_sent;
    }
    me.vips2 = VipsPresent(me.ifname);
    sync.arrive_and_wait();
    if (node) {
      node->Shutdown();
      if (me.vips_after_shutdown < 0) me.vips_after_shutdown = VipsPresent(me.ifname);
    }
  };
  std::thread ta([&] { run(a, b, a_settled); });
  std::thread tb([&] { run(b, a, b_settled); });
  ta.join();
  tb.join();

  ASSERT_EQ(a.error, "");
  ASSERT_EQ(b.error, "");
  EXPECT_EQ(a.leftover_after_start, 0) << "leftover VIP not removed before the election";
  // Phase 1: A (advskew 0) is MASTER with both VIPs, B is BACKUP without them.
  EXPECT_EQ(a.state1, VhostState::kMaster);
  EXPECT_EQ(b.state1, VhostState::kBackup);
  EXPECT_EQ(a.vips1, 2);
  EXPECT_EQ(b.vips1, 0);
  EXPECT_GE(a.announces1, 1);
  EXPECT_EQ(b.announces1, 0);
  // Phase 2: A bowed out (IPv4 and IPv6) and removed its VIPs; B took over at
  // once and announced the VIPs.
  EXPECT_EQ(a.bow_outs, 2u);
  EXPECT_GE(b.announces, 1);
  EXPECT_EQ(a.vips_after_shutdown, 0);
  EXPECT_EQ(a.state2, VhostState::kInit);
  EXPECT_EQ(b.state2, VhostState::kMaster);
  ASSERT_TRUE(b.cause2.has_value());
  EXPECT_EQ(*b.cause2, TransitionCause::kMasterTooSlow);
  EXPECT_EQ(b.vips2, 2);
  EXPECT_EQ(b.vips_after_shutdown, 0);
  EXPECT_GT(a.adverts_sent, 1u);
}

TEST_F(CarpIoTest, SendErrorsDemoteAndRecover) {
  ScopedNetns in(lab_.ns_a);
  ASSERT_TRUE(in.Ok());
  // Without a real IPv4 address there is no source: every advertisement fails
  // (a VIP is never used as the source).
  ASSERT_EQ(lab_.Ip(lab_.ns_a, {"addr", "del", "192.0.2.1/24", "dev", lab_.if_a}), 0);
  boost::asio::io_context io;
  SteadyClock clock;
  auto set = std::make_unique<VhostSet>(DemotionGroups());
  VhostConfig config;
  config.vhid = 3;
  config.vips = {*IpAddress::Parse("192.0.2.103")};
  config.passphrase = {'x'};
  ASSERT_TRUE(set->Add(lab_.if_a, config, 7).has_value());
  std::vector<std::string> failures;
  CarpIoCallbacks callbacks;
  callbacks.on_action = [&](const VhostAction& action, const Result<void>& outcome) {
    if (!outcome && std::holds_alternative<SendAdvertisement>(action.action)) {
      failures.push_back(outcome.error().context);
    }
  };
  auto node = CarpIo::Create(io, clock, std::move(set),
                             {VhostIo{lab_.if_a, 3, {P("192.0.2.103/24")}, false}}, callbacks);
  ASSERT_TRUE(node.has_value()) << node.error().ToString();
  ASSERT_TRUE((*node)->Start().has_value());
  const auto* engine = (*node)->Vhosts().Find(lab_.if_a, 3);
  // Master after 3 s, then 3 failed advertisements (3 x 1 vhid) demote "all".
  ASSERT_TRUE(RunUntil(
      io, [&] { return (*node)->Counters().send_errors_demoted; }, std::chrono::seconds(8)));
  EXPECT_EQ(engine->State(), VhostState::kMaster);
  EXPECT_EQ(engine->Status().demote, 1);
  EXPECT_GE((*node)->Counters().send_errors, 3u);
  ASSERT_FALSE(failures.empty());
  EXPECT_NE(failures[0].find("no usable ipv4 address"), std::string::npos) << failures[0];
  // The address comes back: 3 successes undo the demotion.
  ASSERT_EQ(lab_.Ip(lab_.ns_a, {"addr", "add", "192.0.2.1/24", "dev", lab_.if_a}), 0);
  EXPECT_TRUE(RunUntil(
      io, [&] { return !(*node)->Counters().send_errors_demoted; }, std::chrono::seconds(8)));
  EXPECT_EQ(engine->Status().demote, 0);
  EXPECT_GE((*node)->Counters().adverts_sent, 3u);
  (*node)->Shutdown();
}

TEST_F(CarpIoTest, CreateRejectsMismatchedVips) {
  boost::asio::io_context io;
  SteadyClock clock;
  auto wrong = CarpIo::Create(io, clock, MakeSet(lab_.if_a, 0),
                              {VhostIo{lab_.if_a, 1, {P("192.0.2.100/24")}, false}}, {});
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(wrong.error().context.find("differ"), std::string::npos);
  auto missing = CarpIo::Create(io, clock, MakeSet(lab_.if_a, 0), {}, {});
  EXPECT_FALSE(missing.has_value());
  // A virtual MAC is accepted (vmac_test.cc runs it).
  auto vmac =
      CarpIo::Create(io, clock, MakeSet(lab_.if_a, 0), {VhostIo{lab_.if_a, 1, kVips, true}}, {});
  EXPECT_TRUE(vmac.has_value());
}

}  // namespace
}  // namespace hafw::carp::io
