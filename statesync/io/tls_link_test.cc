// The sync link between real sockets, inside a network namespace the test
// creates (documentation addresses on its lo): connecting, streams both ways,
// back-pressure, key rotation, reconnects.

#include "statesync/io/tls_link.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "statesync/io/tls_link_test_util.h"
#include "statesync/io/tls_test_netns.h"

namespace hafw::statesync::io {
namespace {

using namespace std::chrono_literals;
using testing::Cluster;
using testing::KeyOf;
using testing::Keys;
using testing::RunFor;
using testing::RunUntil;
using testing::TestDialer;
using testing::TestNode;

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::vector<LinkEndpoint> Pair() {
  auto cluster = Cluster();
  cluster.pop_back();
  return cluster;
}

class LinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::IsRoot()) {
      if (std::getenv("CI") != nullptr) FAIL() << "netns tests need root under CI";
      GTEST_SKIP() << "!!! NOT ROOT: netns test SKIPPED !!!";
    }
    auto setup = netns_.Setup({"192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32", "192.0.2.9/32",
                               "2001:db8::1/128", "2001:db8::2/128"});
    ASSERT_TRUE(setup) << setup.error().ToString();
    inside_ = std::make_unique<testing::ScopedNetns>(netns_.Name());
    ASSERT_TRUE(inside_->Ok());
  }
  void TearDown() override {
    inside_.reset();
    netns_.Teardown();
  }

  std::unique_ptr<TestNode> Node(std::string_view name, const std::vector<LinkEndpoint>& cluster,
                                 SyncKeys keys,
                                 const std::function<void(TlsLinkConfig&)>& tweak = {}) {
    auto node = TestNode::Make(io_, name, cluster, std::move(keys), tweak);
    EXPECT_TRUE(node);
    if (node) {
      auto started = node->Link().Start();
      EXPECT_TRUE(started) << started.error().ToString();
    }
    return node;
  }

  boost::asio::io_context io_;
  testing::TestNetns netns_;
  std::unique_ptr<testing::ScopedNetns> inside_;
};

TEST_F(LinkTest, TwoNodesExchangeBytesBothWays) {
  auto fw2 = Node("fw2", Pair(), Keys("the-key"));  // listening before fw1 dials
  auto fw1 = Node("fw1", Pair(), Keys("the-key"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
  const size_t to2 = fw1->Id("fw2");
  const size_t to1 = fw2->Id("fw1");
  EXPECT_TRUE(fw1->Link().Status(to2).dialer);
  EXPECT_FALSE(fw2->Link().Status(to1).dialer);
  for (const TlsInfo& tls : {fw1->tls[to2], fw2->tls[to1]}) {
    EXPECT_EQ(tls.version, "TLSv1.3");
    EXPECT_EQ(tls.cipher, "TLS_AES_128_GCM_SHA256");
    EXPECT_EQ(tls.group, "x25519");
    EXPECT_EQ(tls.key_id, KeyOf("the-key").Id());
    EXPECT_EQ(tls.identity, "fw1/" + KeyOf("the-key").Id());
  }

  const std::string a = "hello from fw1";
  const std::string b1 = "and from ";
  const std::string b2 = "fw2, in two ranges";
  EXPECT_EQ(fw1->Link().Write(to2, Bytes(a), 1), WriteStatus::kStarted);
  EXPECT_EQ(fw1->Link().Write(to2, Bytes(a), 1), WriteStatus::kBusy);  // one in flight
  EXPECT_EQ(fw2->Link().Write(to1, Bytes(b1), Bytes(b2), 2), WriteStatus::kStarted);
  ASSERT_TRUE(RunUntil(io_, [&] {
    return fw2->received[to1].size() == a.size() &&
           fw1->received[to2].size() == b1.size() + b2.size();
  }));
  EXPECT_EQ(fw2->received[to1], a);
  EXPECT_EQ(fw1->received[to2], b1 + b2);
  EXPECT_TRUE(RunUntil(io_, [&] { return fw1->writable[to2] == 1 && fw2->writable[to1] == 1; }));

  const auto c1 = fw1->PeerCounters("fw2");
  const auto c2 = fw2->PeerCounters("fw1");
  EXPECT_EQ(c1.traffic.bytes_out, a.size());
  EXPECT_EQ(c1.traffic.messages_out, 1U);
  EXPECT_EQ(c2.traffic.bytes_out, b1.size() + b2.size());
  EXPECT_EQ(c2.traffic.messages_out, 2U);
  EXPECT_EQ(c2.traffic.bytes_in, a.size());
  EXPECT_GE(c2.traffic.messages_in, 1U);
  EXPECT_EQ(fw1->Link().Counters().traffic.bytes_in, b1.size() + b2.size());
  EXPECT_EQ(c1.dials, 1U);
  EXPECT_EQ(c1.established, 1U);
  EXPECT_EQ(c2.dials, 0U);
}

TEST_F(LinkTest, LargeStreamArrivesInOrder) {
  auto fw1 = Node("fw1", Pair(), Keys("k"));
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
  const auto payload = testing::Garbage(4 << 20, 7);  // 4 MiB in 64 KiB writes
  constexpr size_t kChunk = size_t{64} * 1024;
  size_t sent = 0;
  const size_t to2 = fw1->Id("fw2");
  auto send_next = [&](size_t /*peer*/) {
    if (sent == payload.size()) return;
    const size_t n = std::min(kChunk, payload.size() - sent);
    ASSERT_EQ(fw1->Link().Write(to2, {payload.data() + sent, n}, 1), WriteStatus::kStarted);
    sent += n;
  };
  fw1->on_writable = send_next;
  send_next(to2);
  const size_t from1 = fw2->Id("fw1");
  ASSERT_TRUE(RunUntil(
      io_, [&] { return fw2->received[from1].size() == payload.size(); }, 10s));
  EXPECT_EQ(0, std::memcmp(fw2->received[from1].data(), payload.data(), payload.size()));
  EXPECT_EQ(fw1->PeerCounters("fw2").traffic.messages_out, payload.size() / kChunk);
}

TEST_F(LinkTest, Ipv6) {
  const std::vector<LinkEndpoint> cluster = {{"fw1", testing::Addr("2001:db8::1")},
                                             {"fw2", testing::Addr("2001:db8::2")}};
  auto fw1 = Node("fw1", cluster, Keys("k"));
  auto fw2 = Node("fw2", cluster, Keys("k"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
  EXPECT_EQ(fw2->Link().Write(fw2->Id("fw1"), Bytes("v6"), 1), WriteStatus::kStarted);
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->received[fw1->Id("fw2")] == "v6"; }));
}

TEST_F(LinkTest, ThreeNodesFormAFullMeshAndTheLowerNameDials) {
  const auto cluster = Cluster();
  auto fw3 = Node("fw3", cluster, Keys("k"));
  auto fw2 = Node("fw2", cluster, Keys("k"));
  auto fw1 = Node("fw1", cluster, Keys("k"));
  ASSERT_TRUE(RunUntil(io_, [&] {
    return fw1->Connected("fw2") && fw1->Connected("fw3") && fw2->Connected("fw1") &&
           fw2->Connected("fw3") && fw3->Connected("fw1") && fw3->Connected("fw2");
  }));
  EXPECT_EQ(fw1->Link().Counters().dials, 2U);
  EXPECT_EQ(fw2->Link().Counters().dials, 1U);
  EXPECT_EQ(fw3->Link().Counters().dials, 0U);
  EXPECT_EQ(fw3->Link().Counters().accepted, 2U);
  for (TestNode* node : {fw1.get(), fw2.get(), fw3.get()}) {
    for (size_t peer = 0; peer < node->Link().PeerCount(); ++peer) {
      EXPECT_EQ(node->Link().Write(peer, Bytes("x"), 1), WriteStatus::kStarted);
    }
  }
  ASSERT_TRUE(RunUntil(io_, [&] {
    for (TestNode* node : {fw1.get(), fw2.get(), fw3.get()}) {
      if (node->received[0] != "x" || node->received[1] != "x") return false;
    }
    return true;
  }));
}

TEST_F(LinkTest, DialerRetriesWithBoundedBackoffUntilThePeerListens) {
  auto fw1 = Node("fw1", Pair(), Keys("k"));
  RunFor(io_, 400ms);  // refused at 0, 25, 75, 175, 375 ms
  const auto early = fw1->PeerCounters("fw2");
  EXPECT_GE(early.connect_failures, 3U);
  EXPECT_LE(early.connect_failures, 6U);
  RunFor(io_, 1900ms);  // ... 775, 1575 ms: the wait is now capped at 1 s
  EXPECT_EQ(fw1->Link().Status(fw1->Id("fw2")).backoff, Seconds(1));
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  ASSERT_TRUE(RunUntil(
      io_, [&] { return fw1->Connected("fw2"); }, 2s));
  EXPECT_EQ(fw1->Link().Status(fw1->Id("fw2")).backoff, Millis(25));  // reset
}

TEST_F(LinkTest, RefusedRtoMinimumIsCountedAndNoticedOnce) {
  auto tiny_rto = [](TlsLinkConfig& config) { config.socket.rto_min = 1us; };
  auto fw2 = Node("fw2", Pair(), Keys("k"), tiny_rto);
  auto fw1 = Node("fw1", Pair(), Keys("k"), tiny_rto);
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
  fw1->Link().Close(0);
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->established[0] == 2 && fw1->Connected("fw2"); }));
  EXPECT_EQ(fw1->Link().Counters().rto_min_unsupported, 2U);  // both dials
  EXPECT_EQ(fw2->Link().Counters().rto_min_unsupported, 2U);  // both accepted
  EXPECT_EQ(fw1->notices.size(), 1U);
  EXPECT_EQ(fw2->notices.size(), 1U);
  EXPECT_NE(fw1->notices.at(0).find("TCP_RTO_MIN_US"), std::string::npos);
}

TEST_F(LinkTest, DefaultRtoMinimumIsAcceptedHere) {
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  auto fw1 = Node("fw1", Pair(), Keys("k"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
  EXPECT_EQ(fw1->Link().Counters().rto_min_unsupported, 0U);
  EXPECT_EQ(fw2->Link().Counters().rto_min_unsupported, 0U);
  EXPECT_TRUE(fw1->notices.empty());
}

TEST_F(LinkTest, ClosedLinkIsRedialedAndClosedPrecedesEstablished) {
  auto fw1 = Node("fw1", Pair(), Keys("k"));
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
  fw1->Link().Close(fw1->Id("fw2"));
  EXPECT_FALSE(fw1->Connected("fw2"));
  EXPECT_EQ(fw1->closed[0], 0);  // reported from the loop, not from inside Close
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->established[0] == 2 && fw2->established[0] == 2; }));
  EXPECT_EQ(fw1->events,
            (std::vector<std::string>{"established fw2", "closed fw2 local", "established fw2"}));
  EXPECT_EQ(fw2->events, (std::vector<std::string>{"established fw1", "closed fw1 peer-closed",
                                                   "established fw1"}));
  EXPECT_EQ(fw1->Link().Counters().closed[static_cast<size_t>(CloseReason::kLocal)], 1U);
  EXPECT_EQ(fw2->Link().Counters().closed[static_cast<size_t>(CloseReason::kPeerClosed)], 1U);
}

TEST_F(LinkTest, KeyRotationServerAcceptsCurrentAndPrevious) {
  auto fw2 = Node("fw2", Pair(), Keys("new-key", "old-key"));
  for (const char* key : {"new-key", "old-key"}) {
    auto fw1 = Node("fw1", Pair(), Keys(key));
    ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2"); })) << key;
    EXPECT_EQ(fw1->tls[0].key_id, KeyOf(key).Id());
    ASSERT_TRUE(RunUntil(io_, [&] { return fw2->Connected("fw1"); }));
    EXPECT_EQ(fw2->tls[0].key_id, KeyOf(key).Id());
    EXPECT_EQ(fw1->PeerCounters("fw2").dials, 1U);
    fw1.reset();  // closes; fw2 sees the peer go
    ASSERT_TRUE(RunUntil(io_, [&] { return !fw2->Connected("fw1"); }));
  }
}

TEST_F(LinkTest, KeyRotationClientFallsBackToPreviousAfterOneFailure) {
  auto fw2 = Node("fw2", Pair(), Keys("old-key"));  // not rotated yet
  auto fw1 = Node("fw1", Pair(), Keys("new-key", "old-key"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
  EXPECT_EQ(fw1->tls[0].key_id, KeyOf("old-key").Id());
  const auto c1 = fw1->PeerCounters("fw2");
  EXPECT_EQ(c1.dials, 2U);
  EXPECT_EQ(c1.handshake_failed[static_cast<size_t>(HandshakeFailure::kPeerRejected)], 1U);
  EXPECT_EQ(fw2->Failed(HandshakeFailure::kBadKeyId), 1U);
  EXPECT_EQ(fw1->Link().Status(0).key_offered, 1U);  // it keeps the key that worked
}

TEST_F(LinkTest, ServerSendsNoSessionTicket) {
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  fw2->on_bytes = [&](size_t peer, std::span<const uint8_t>) {
    fw2->Link().Write(peer, Bytes("pong"), 1);
  };
  auto fw1_policy = *PskPolicy::Create("fw1", {{"fw2", testing::Addr("192.0.2.2")}}, Keys("k"));
  TestDialer dialer(io_, PskIdentity("fw1", KeyOf("k").Id()), fw1_policy->ClientPsk(0, 0));
  dialer.Connect("192.0.2.1", "192.0.2.2");
  ASSERT_TRUE(RunUntil(io_, [&] { return dialer.Done(); }));
  ASSERT_TRUE(dialer.Established());
  dialer.Connection().Write(Bytes("ping"), {}, 1);
  ASSERT_TRUE(RunUntil(io_, [&] { return dialer.received == "pong"; }));
  RunFor(io_, 50ms);  // a ticket would follow the handshake at once
  EXPECT_EQ(dialer.tickets, 0);
}

TEST_F(LinkTest, PausedReadingHoldsBytesBackAndTcpPushesBack) {
  auto fw1 = Node("fw1", Pair(), Keys("k"));
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
  fw2->Link().PauseReading(fw2->Id("fw1"));
  const auto chunk = testing::Garbage(size_t{64} * 1024, 3);
  size_t writes = 0;
  auto send_next = [&](size_t peer) {
    if (writes < 1000 && fw1->Link().Write(peer, chunk, 1) == WriteStatus::kStarted) ++writes;
  };
  fw1->on_writable = send_next;
  send_next(fw1->Id("fw2"));
  // The loop keeps running while the sender is blocked by TCP flow control.
  int ticks = 0;
  boost::asio::steady_timer tick(io_);
  std::function<void()> arm = [&] {
    tick.expires_after(10ms);
    tick.async_wait([&](const boost::system::error_code& error) {
      if (!error && ++ticks < 30) arm();
    });
  };
  arm();
  ASSERT_TRUE(RunUntil(io_, [&] { return ticks == 30; }));
  EXPECT_TRUE(fw1->Link().Status(0).write_in_flight);
  EXPECT_LT(writes, 1000U);  // bounded by the socket buffers, nothing queued here
  EXPECT_LE(fw2->received[0].size(), chunk.size());  // at most the read already in flight
  const size_t stalled_at = writes;
  fw2->Link().ResumeReading(fw2->Id("fw1"));
  ASSERT_TRUE(RunUntil(
      io_, [&] { return writes == 1000; }, 20s));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw2->received[0].size() == 1000 * chunk.size(); }));
  EXPECT_GT(writes, stalled_at);
  for (size_t i = 0; i < 1000; i += 97) {
    EXPECT_EQ(0,
              std::memcmp(fw2->received[0].data() + i * chunk.size(), chunk.data(), chunk.size()));
  }
}

TEST_F(LinkTest, NewConnectionOfAPeerReplacesTheOldAfterItsClose) {
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  auto policy = *PskPolicy::Create("fw1", {{"fw2", testing::Addr("192.0.2.2")}}, Keys("k"));
  const std::string identity = PskIdentity("fw1", KeyOf("k").Id());
  TestDialer first(io_, identity, policy->ClientPsk(0, 0));
  first.Connect("192.0.2.1", "192.0.2.2");
  ASSERT_TRUE(RunUntil(io_, [&] { return fw2->Connected("fw1"); }));
  TestDialer second(io_, identity, policy->ClientPsk(0, 0));
  second.Connect("192.0.2.1", "192.0.2.2");
  ASSERT_TRUE(RunUntil(io_, [&] { return fw2->established[0] == 2; }));
  EXPECT_EQ(fw2->events, (std::vector<std::string>{"established fw1", "closed fw1 replaced",
                                                   "established fw1"}));
  EXPECT_TRUE(RunUntil(io_, [&] { return first.closed; }));
  EXPECT_FALSE(second.closed);
  EXPECT_EQ(fw2->Link().Write(0, Bytes("to the new one"), 1), WriteStatus::kStarted);
  ASSERT_TRUE(RunUntil(io_, [&] { return second.received == "to the new one"; }));
}

TEST_F(LinkTest, ManyReconnectsLeakNoDescriptors) {
  {
    // The loop's own descriptors (epoll, eventfd, timerfd) come with first use.
    boost::asio::steady_timer warm_up(io_, 1ms);
    warm_up.wait();
    boost::asio::ip::tcp::socket socket(io_, boost::asio::ip::tcp::v4());
  }
  const int fds_before = testing::CountOpenFds();
  {
    auto fw1 = Node("fw1", Pair(), Keys("k"));
    auto fw2 = Node("fw2", Pair(), Keys("k"));
    ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
    const int fds_connected = testing::CountOpenFds();
    constexpr int kCycles = 100;
    for (int i = 0; i < kCycles; ++i) {
      // Alternate who ends it, with a write in flight half of the time.
      TestNode& closer = i % 2 == 0 ? *fw1 : *fw2;
      if (i % 4 < 2) closer.Link().Write(0, Bytes("in flight"), 1);
      closer.Link().Close(0);
      ASSERT_TRUE(RunUntil(io_,
                           [&] {
                             return fw1->established[0] == i + 2 && fw2->established[0] == i + 2 &&
                                    fw1->Connected("fw2") && fw2->Connected("fw1");
                           }))
          << "cycle " << i;
    }
    EXPECT_EQ(fw1->Link().Counters().established, kCycles + 1U);
    RunFor(io_, 20ms);
    EXPECT_EQ(testing::CountOpenFds(), fds_connected);
    fw1->Link().Stop();
    fw2->Link().Stop();
    RunFor(io_, 20ms);
    EXPECT_EQ(fw1->Link().WritesInFlight(), 0U);
  }
  RunFor(io_, 20ms);
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

TEST_F(LinkTest, NoCallbackAfterStop) {
  auto fw1 = Node("fw1", Pair(), Keys("k"));
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw2") && fw2->Connected("fw1"); }));
  const auto big = testing::Garbage(8 << 20, 5);
  EXPECT_EQ(fw1->Link().Write(0, big, 1), WriteStatus::kStarted);
  fw1->Link().Stop();
  const auto events = fw1->events;
  const int writable = fw1->writable[0];
  RunFor(io_, 100ms);
  EXPECT_EQ(fw1->events, events);
  EXPECT_EQ(fw1->writable[0], writable);
  EXPECT_EQ(fw1->Link().WritesInFlight(), 0U);
  EXPECT_FALSE(fw1->Connected("fw2"));
  EXPECT_EQ(fw1->Link().Write(0, Bytes("late"), 1), WriteStatus::kNotConnected);
  ASSERT_TRUE(RunUntil(io_, [&] { return !fw2->Connected("fw1"); }));
}

}  // namespace
}  // namespace hafw::statesync::io
