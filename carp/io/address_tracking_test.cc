// The own-source check against the real kernel: CarpIo runs in ns_a, a peer
// in ns_b sends advertisements from 192.0.2.2. When that address is put on
// (and taken off) A's parent by someone else, A's local-address cache must
// follow from rtnetlink events within 100 ms, and no packet may cost an
// RTM_GETADDR dump.

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "carp/core/codec.h"
#include "carp/core/demotion_groups.h"
#include "carp/io/carp_io.h"
#include "carp/io/carp_socket.h"
#include "carp/io/link_monitor.h"
#include "carp/testing/vhost_test_util.h"
#include "testing/netns_lab.h"

namespace hafw::carp::io {
namespace {

using std::chrono::milliseconds;

IpAddress A(const char* text) { return *IpAddress::Parse(text); }

VhostConfig Config() {
  // A is BACKUP to the peer (advskew 100 against its 0) for the whole test.
  return testutil::MakeConfig(/*advskew=*/100, {A("192.0.2.100")}, /*vhid=*/4);
}

using AddressTrackingTest = testkit::NetnsLabTest;

TEST_F(AddressTrackingTest, OwnSourceCheckFollowsAddressEventsWithoutDumps) {
  // Without accept_local the kernel itself drops packets from one of its own
  // addresses before any socket sees them; the test wants CarpIo's check.
  for (const std::string& dev : {std::string("all"), lab_.if_a}) {
    ASSERT_EQ(lab_.Sysctl(lab_.ns_a, "net.ipv4.conf." + dev + ".accept_local=1"), 0);
    ASSERT_EQ(lab_.Sysctl(lab_.ns_a, "net.ipv4.conf." + dev + ".rp_filter=0"), 0);
  }
  boost::asio::io_context io;
  SteadyClock clock;
  // The peer's socket, opened in ns_b (and staying there).
  const IpAddress peer = A("192.0.2.2");
  auto sender = testkit::RunIn(lab_.ns_b, [&]() -> Result<std::unique_ptr<CarpSocket>> {
    auto link = QueryLink(lab_.if_b);
    if (!link) return tl::unexpected(link.error());
    return CarpSocket::Open(io, IpFamily::kV4, lab_.if_b, link->ifindex, {}, {});
  });
  ASSERT_TRUE(sender.has_value());
  ASSERT_TRUE(sender->has_value()) << sender->error().ToString();
  CarpSocket& peer_socket = ***sender;
  const auto advert = EncodeAdvertisement(testutil::MakeRx(Config(), testutil::PeerAd{}).ad);

  testkit::ScopedNetns in(lab_.ns_a);
  ASSERT_TRUE(in.Ok());
  auto set = std::make_unique<VhostSet>(DemotionGroups());
  ASSERT_TRUE(set->Add(lab_.if_a, Config(), /*cookie=*/77).has_value());
  auto created = CarpIo::Create(io, clock, std::move(set),
                                {VhostIo{lab_.if_a, 4, {*IpPrefix::Parse("192.0.2.100/24")}}}, {});
  ASSERT_TRUE(created.has_value()) << created.error().ToString();
  CarpIo& node = **created;
  ASSERT_TRUE(node.Start().has_value());
  const VhostEngine& engine = *node.Vhosts().Find(lab_.if_a, 4);

  // Sends one advertisement from the peer and runs A until it is counted
  // (accepted or dropped as our own).
  auto exchange = [&] {
    const uint64_t before =
        engine.Status().adverts_received + engine.Status().drops.Get(DropReason::kOwnPacket);
    if (!peer_socket.Send(peer, std::nullopt, advert)) return false;
    return testkit::RunUntil(
        io,
        [&] {
          return engine.Status().adverts_received +
                     engine.Status().drops.Get(DropReason::kOwnPacket) >
                 before;
        },
        milliseconds(2000));
  };
  // Runs A in 1 ms slices until IsLocal(peer) == want; the time it took.
  auto follow = [&](bool want) {
    const auto start = std::chrono::steady_clock::now();
    while (node.IsLocal(peer) != want &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
      io.restart();
      io.run_for(milliseconds(1));
    }
    EXPECT_EQ(node.IsLocal(peer), want);
    return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  };

  ASSERT_TRUE(exchange());
  EXPECT_EQ(engine.Status().adverts_received, 1u);
  EXPECT_FALSE(node.IsLocal(peer));
  const uint64_t dumps = node.AddressDumps();
  EXPECT_EQ(dumps, 1u);

  // Someone puts the peer's address on A's parent: from now on a packet
  // from it is A's own.
  ASSERT_EQ(lab_.Ip(lab_.ns_a, {"addr", "add", "192.0.2.2/32", "dev", lab_.if_a}), 0);
  EXPECT_LE(follow(true), milliseconds(100));
  ASSERT_TRUE(exchange());
  EXPECT_EQ(engine.Status().drops.Get(DropReason::kOwnPacket), 1u);
  EXPECT_EQ(engine.Status().adverts_received, 1u);

  // And taken off again: the peer's packets count as the peer's.
  ASSERT_EQ(lab_.Ip(lab_.ns_a, {"addr", "del", "192.0.2.2/32", "dev", lab_.if_a}), 0);
  EXPECT_LE(follow(false), milliseconds(100));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(exchange()) << i;
  EXPECT_EQ(engine.Status().adverts_received, 21u);
  EXPECT_EQ(engine.State(), VhostState::kBackup);
  // 22 packets, two address changes, still the one dump of Start.
  EXPECT_EQ(node.AddressDumps(), dumps);
  EXPECT_GE(node.Counters().address_events, 2u);
  node.Shutdown();
}

}  // namespace
}  // namespace hafw::carp::io
