// What the sync link refuses, counted by reason, without stalling its loop:
// wrong keys, unknown or misplaced identities, reflected handshakes (RFC 9257),
// silent peers and garbage before and after the handshake.

#include <gtest/gtest.h>

#include <cstdlib>

#include "statesync/io/tls_link.h"
#include "statesync/io/tls_link_test_util.h"
#include "statesync/io/tls_test_netns.h"

namespace hafw::statesync::io {
namespace {

using namespace std::chrono_literals;
using testing::Cluster;
using testing::KeyOf;
using testing::Keys;
using testing::RawClient;
using testing::RunFor;
using testing::RunUntil;
using testing::TcpTrap;
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

size_t Index(HandshakeFailure failure) { return static_cast<size_t>(failure); }
size_t Index(Refusal refusal) { return static_cast<size_t>(refusal); }

// Measures how late a 5 ms periodic timer fires while the test runs the loop.
class LoopProbe {
 public:
  explicit LoopProbe(boost::asio::io_context& io) : timer_(io) { Arm(); }
  LoopProbe(const LoopProbe&) = delete;
  LoopProbe& operator=(const LoopProbe&) = delete;
  std::chrono::steady_clock::duration WorstLateness() const { return worst_; }

 private:
  void Arm() {
    due_ = std::chrono::steady_clock::now() + 5ms;
    timer_.expires_at(due_);
    timer_.async_wait([this](const boost::system::error_code& error) {
      if (error) return;
      worst_ = std::max(worst_, std::chrono::steady_clock::now() - due_);
      Arm();
    });
  }
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point due_;
  std::chrono::steady_clock::duration worst_{};
};

class LinkAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::IsRoot()) {
      if (std::getenv("CI") != nullptr) FAIL() << "netns tests need root under CI";
      GTEST_SKIP() << "!!! NOT ROOT: netns test SKIPPED !!!";
    }
    auto setup = netns_.Setup({"192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32", "192.0.2.9/32"});
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
      EXPECT_TRUE(node->Link().Start());
    }
    return node;
  }

  boost::asio::io_context io_;
  testing::TestNetns netns_;
  std::unique_ptr<testing::ScopedNetns> inside_;
};

TEST_F(LinkAttackTest, WrongKeyIsRefusedAndCounted) {
  auto fw2 = Node("fw2", Pair(), Keys("key-of-fw2"));
  auto fw1 = Node("fw1", Pair(), Keys("another-key"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw2->Failed(HandshakeFailure::kBadKeyId) >= 2; }));
  EXPECT_FALSE(fw1->Connected("fw2"));
  EXPECT_FALSE(fw2->Connected("fw1"));
  EXPECT_GE(fw2->PeerCounters("fw1").handshake_failed[Index(HandshakeFailure::kBadKeyId)], 2U);
  EXPECT_GE(fw1->PeerCounters("fw2").handshake_failed[Index(HandshakeFailure::kPeerRejected)], 2U);
  EXPECT_TRUE(fw1->events.empty());
  EXPECT_TRUE(fw2->events.empty());
  EXPECT_EQ(fw2->Link().Status(0).last_failure, HandshakeFailure::kBadKeyId);
  EXPECT_EQ(fw1->Link().Status(0).last_failure, HandshakeFailure::kPeerRejected);
  EXPECT_EQ(fw2->Link().Status(0).last_error.rfind("bad-key-id: ", 0), 0U);
}

TEST_F(LinkAttackTest, UnknownIdentityIsRefused) {
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  auto psk = DerivePsk(KeyOf("k").Bytes(), "fw9", "fw2");
  TestDialer dialer(io_, PskIdentity("fw9", KeyOf("k").Id()), *psk);
  dialer.Connect("192.0.2.1", "192.0.2.2");  // fw1's address, a name nobody has
  ASSERT_TRUE(RunUntil(io_, [&] { return dialer.Done(); }));
  EXPECT_FALSE(dialer.Established());
  EXPECT_EQ(fw2->Failed(HandshakeFailure::kUnknownIdentity), 1U);
  EXPECT_EQ(fw2->PeerCounters("fw1").handshake_failed[Index(HandshakeFailure::kUnknownIdentity)],
            0U);  // not blamed on fw1
}

TEST_F(LinkAttackTest, UnknownSourceAddressIsRefusedBeforeTls) {
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  // The right node and key, dialing from an address that is nobody's.
  auto fw1 = Node("fw1", Pair(), Keys("k"),
                  [](TlsLinkConfig& config) { config.local_address = testing::Addr("192.0.2.9"); });
  ASSERT_TRUE(RunUntil(
      io_, [&] { return fw2->Link().Counters().refused[Index(Refusal::kUnknownAddress)] >= 2; }));
  EXPECT_EQ(fw2->Link().Counters().accepted, 0U);
  EXPECT_GE(fw1->Failed(HandshakeFailure::kPeerRejected), 1U);
  EXPECT_FALSE(fw1->Connected("fw2"));
}

TEST_F(LinkAttackTest, PeerThatMustListenIsRefusedBeforeTls) {
  auto fw2 = Node("fw2", Cluster(), Keys("k"));  // fw2 dials fw3, so fw3 never dials fw2
  RawClient from_fw3(io_, "192.0.2.3", "192.0.2.2");
  ASSERT_TRUE(from_fw3.Connected());
  ASSERT_TRUE(RunUntil(io_, [&] { return from_fw3.SawEof(); }));
  EXPECT_EQ(fw2->Link().Counters().refused[Index(Refusal::kNotDialer)], 1U);
}

TEST_F(LinkAttackTest, RightIdentityFromAnotherPeersAddressIsRefused) {
  auto fw3 = Node("fw3", Cluster(), Keys("k"));  // accepts fw1 and fw2
  auto fw1_view = *PskPolicy::Create("fw1", {{"fw3", testing::Addr("192.0.2.3")}}, Keys("k"));
  TestDialer dialer(io_, PskIdentity("fw1", KeyOf("k").Id()), fw1_view->ClientPsk(0, 0));
  dialer.Connect("192.0.2.2", "192.0.2.3");  // fw1's identity from fw2's address
  ASSERT_TRUE(RunUntil(io_, [&] { return dialer.Done(); }));
  EXPECT_FALSE(dialer.Established());
  EXPECT_EQ(fw3->Failed(HandshakeFailure::kWrongSource), 1U);
  EXPECT_EQ(fw3->PeerCounters("fw1").handshake_failed[Index(HandshakeFailure::kWrongSource)], 1U);
  EXPECT_FALSE(fw3->Connected("fw1"));
  EXPECT_FALSE(fw3->Connected("fw2"));
}

TEST_F(LinkAttackTest, OwnIdentityIsRefused) {
  auto fw3 = Node("fw3", Cluster(), Keys("k"));
  auto psk = DerivePsk(KeyOf("k").Bytes(), "fw3", "fw3");
  TestDialer dialer(io_, PskIdentity("fw3", KeyOf("k").Id()), *psk);
  dialer.Connect("192.0.2.1", "192.0.2.3");
  ASSERT_TRUE(RunUntil(io_, [&] { return dialer.Done(); }));
  EXPECT_FALSE(dialer.Established());
  EXPECT_EQ(fw3->Failed(HandshakeFailure::kSelfIdentity), 1U);
}

TEST_F(LinkAttackTest, ClientHelloMirroredToItsSenderFails) {
  // Whatever fw1 sends to "fw2" comes straight back: its own ClientHello.
  TcpTrap mirror(io_, "192.0.2.2", TcpTrap::Mode::kMirror);
  auto fw1 = Node("fw1", Pair(), Keys("k"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Failed(HandshakeFailure::kProtocol) >= 2; }));
  EXPECT_FALSE(fw1->Connected("fw2"));
  EXPECT_TRUE(fw1->events.empty());
  EXPECT_GE(mirror.accepted, 2);
}

TEST_F(LinkAttackTest, ClientHelloRelayedToTheSendersOwnListenerFails) {
  // fw2 dials "fw3"; a relay at fw3's address forwards the connection to
  // fw2's own listener from fw1's address (an accepted source).
  auto fw2 = Node("fw2", Cluster(), Keys("k"));
  TcpTrap relay(io_, "192.0.2.3", TcpTrap::Mode::kRelay, "192.0.2.1", "192.0.2.2");
  ASSERT_TRUE(RunUntil(io_, [&] { return fw2->Failed(HandshakeFailure::kSelfIdentity) >= 2; }));
  EXPECT_GE(fw2->PeerCounters("fw3").handshake_failed[Index(HandshakeFailure::kPeerRejected)], 2U);
  EXPECT_FALSE(fw2->Connected("fw1"));
  EXPECT_FALSE(fw2->Connected("fw3"));
  EXPECT_TRUE(fw2->events.empty());
}

TEST_F(LinkAttackTest, SilentClientIsClosedAtTheDeadline) {
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  const auto start = std::chrono::steady_clock::now();
  RawClient silent(io_, "192.0.2.1", "192.0.2.2");
  ASSERT_TRUE(silent.Connected());
  ASSERT_TRUE(RunUntil(
      io_, [&] { return silent.SawEof(); }, 3s));
  const auto took = silent.EofAt() - start;
  EXPECT_GE(took, 950ms);
  EXPECT_LE(took, 1500ms);
  EXPECT_EQ(fw2->Failed(HandshakeFailure::kTimeout), 1U);
}

TEST_F(LinkAttackTest, PartialRecordThenSilenceIsClosedAtTheDeadline) {
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  RawClient trickle(io_, "192.0.2.1", "192.0.2.2");
  trickle.Send({0x16, 0x03, 0x01, 0x40, 0x00, 0x01});  // a 16 KiB record announced
  ASSERT_TRUE(RunUntil(
      io_, [&] { return trickle.SawEof(); }, 3s));
  EXPECT_EQ(fw2->Failed(HandshakeFailure::kTimeout), 1U);
}

TEST_F(LinkAttackTest, SilentServerTimesTheDialerOut) {
  TcpTrap silent(io_, "192.0.2.2", TcpTrap::Mode::kSilent);
  auto fw1 = Node("fw1", Pair(), Keys("k"));
  RunFor(io_, 900ms);
  EXPECT_EQ(fw1->Failed(HandshakeFailure::kTimeout), 0U);
  ASSERT_TRUE(RunUntil(
      io_, [&] { return fw1->Failed(HandshakeFailure::kTimeout) == 1; }, 1s));
  ASSERT_TRUE(RunUntil(
      io_, [&] { return silent.accepted == 2; }, 1s));  // and dials again
}

TEST_F(LinkAttackTest, PendingHandshakesPerAddressAreBounded) {
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  RawClient a(io_, "192.0.2.1", "192.0.2.2");
  RawClient b(io_, "192.0.2.1", "192.0.2.2");
  RawClient c(io_, "192.0.2.1", "192.0.2.2");
  ASSERT_TRUE(RunUntil(io_, [&] { return c.SawEof(); }));
  EXPECT_EQ(fw2->Link().Counters().refused[Index(Refusal::kTooManyPending)], 1U);
  EXPECT_FALSE(a.SawEof());
  EXPECT_FALSE(b.SawEof());
}

TEST_F(LinkAttackTest, GarbageBeforeTheHandshakeIsClosedAndCountedWithoutStallingTheLoop) {
  auto fw1 = Node("fw1", Cluster(), Keys("k"));
  auto fw3 = Node("fw3", Cluster(), Keys("k"));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw1->Connected("fw3") && fw3->Connected("fw1"); }));
  LoopProbe probe(io_);
  // fw2's address is an accepted source; nobody runs fw2.
  constexpr int kClients = 40;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(io_, "192.0.2.2", "192.0.2.3"));
    clients.back()->Send(testing::Garbage(4096 + 97 * i, i));
    // The established link keeps flowing meanwhile.
    fw1->Link().Write(fw1->Id("fw3"), Bytes("."), 1);
    RunFor(io_, 2ms);
  }
  ASSERT_TRUE(RunUntil(io_, [&] {
    return std::all_of(clients.begin(), clients.end(), [](auto& c) { return c->SawEof(); });
  }));
  const auto& counters = fw3->Link().Counters();
  EXPECT_EQ(counters.handshake_failed[Index(HandshakeFailure::kProtocol)] +
                counters.refused[Index(Refusal::kTooManyPending)],
            static_cast<uint64_t>(kClients));
  EXPECT_GE(counters.handshake_failed[Index(HandshakeFailure::kProtocol)], kClients / 2U);
  EXPECT_EQ(counters.handshake_failed[Index(HandshakeFailure::kTimeout)], 0U);
  EXPECT_TRUE(fw1->Connected("fw3"));
  EXPECT_GE(fw3->received[fw3->Id("fw1")].size(), 1U);
  EXPECT_LT(probe.WorstLateness(), 50ms);
}

TEST_F(LinkAttackTest, GarbageAfterTheHandshakeClosesTheLink) {
  auto fw2 = Node("fw2", Pair(), Keys("k"));
  auto fw1_view = *PskPolicy::Create("fw1", {{"fw2", testing::Addr("192.0.2.2")}}, Keys("k"));
  TestDialer dialer(io_, PskIdentity("fw1", KeyOf("k").Id()), fw1_view->ClientPsk(0, 0));
  dialer.Connect("192.0.2.1", "192.0.2.2");
  ASSERT_TRUE(RunUntil(io_, [&] { return fw2->Connected("fw1"); }));
  // Plain bytes on the TCP stream, below TLS: records that cannot decrypt.
  const auto garbage = testing::Garbage(1000, 11);
  boost::asio::write(dialer.Connection().Socket(), boost::asio::buffer(garbage));
  ASSERT_TRUE(RunUntil(io_, [&] { return fw2->closed[0] == 1; }));
  EXPECT_EQ(fw2->last_close[0], CloseReason::kProtocol);
  EXPECT_EQ(fw2->Link().Counters().closed[static_cast<size_t>(CloseReason::kProtocol)], 1U);
  EXPECT_TRUE(fw2->received[0].empty());
}

}  // namespace
}  // namespace hafw::statesync::io
