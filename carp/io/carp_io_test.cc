// CarpIo's executor on carp/testing's fakes: no root, no kernel, virtual
// time. What it checks: action order, VIP install/remove (on the parent or the
// macvlan), send accounting and the send-error demotion, link events, and the
// local-address cache that the own-source check reads.

#include "carp/io/carp_io.h"

#include <linux/if_addr.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "carp/core/codec.h"
#include "carp/testing/fake_adapters.h"
#include "carp/testing/vhost_test_util.h"

namespace hafw::carp::io {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

IpPrefix P(const char* text) { return *IpPrefix::Parse(text); }
IpAddress A(const char* text) { return *IpAddress::Parse(text); }

constexpr uint8_t kVhid = 1;
const std::vector<IpPrefix> kVips = {P("192.0.2.100/24")};

VhostConfig Config(uint8_t advskew = 0) {
  return testutil::MakeConfig(advskew, {A("192.0.2.100")}, kVhid);
}

// Index of the first journal entry equal to `entry` (or size() if none).
size_t Position(const std::vector<std::string>& journal, const std::string& entry) {
  return static_cast<size_t>(std::find(journal.begin(), journal.end(), entry) - journal.begin());
}

class CarpIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eth0_ = net_.AddLink("eth0");
    net_.AddAddress(eth0_, "192.0.2.1/24");
    net_.AddAddress(eth0_, "fe80::1/64");
    net_.DeliverEvents();
  }

  // Creates and starts CarpIo for eth0 / vhid 1.
  void Start(bool vmac = false, uint8_t advskew = 0) {
    auto set = std::make_unique<VhostSet>(DemotionGroups());
    ASSERT_TRUE(set->Add("eth0", Config(advskew), /*cookie=*/0xc0ffee).has_value());
    CarpIoCallbacks callbacks;
    callbacks.on_action = [this](const VhostAction& action, const Result<void>& outcome) {
      actions_.push_back(testutil::Describe(action.action) + (outcome ? "" : " FAILED"));
    };
    callbacks.on_error = [this](const Error& error) { errors_.push_back(error.ToString()); };
    auto created = CarpIo::Create(clock_, std::move(set), {VhostIo{"eth0", kVhid, kVips, vmac}},
                                  callbacks, net_.Adapters());
    ASSERT_TRUE(created.has_value()) << created.error().ToString();
    io_ = std::move(*created);
    auto started = io_->Start();
    ASSERT_TRUE(started.has_value()) << started.error().ToString();
  }

  const VhostEngine& Engine() const { return *io_->Vhosts().Find("eth0", kVhid); }

  // Runs virtual time until the vhid is MASTER (it has no peer: master-down).
  void BecomeMaster() {
    net_.RunTimers(clock_, clock_.Now() + Seconds(4));
    ASSERT_EQ(Engine().State(), VhostState::kMaster);
    net_.DeliverEvents();
  }

  // A valid advertisement from a peer with `advskew`, received on eth0.
  bool ReceiveFromPeer(const IpAddress& source, uint8_t advskew) {
    testutil::PeerAd peer;
    peer.advskew = advskew;
    const auto bytes = EncodeAdvertisement(testutil::MakeRx(Config(), peer).ad);
    PacketInfo info;
    info.family = IpFamily::kV4;
    info.source = source;
    info.destination = CarpGroupAddress(IpFamily::kV4);
    info.ttl = 255;
    return net_.Receive("eth0", info, bytes);
  }

  fakes::FakeNetwork net_;
  ManualClock clock_{TimePoint{} + Seconds(1000)};
  int eth0_ = 0;
  std::vector<std::string> actions_;
  std::vector<std::string> errors_;
  std::unique_ptr<CarpIo> io_;
};

TEST_F(CarpIoTest, StartRemovesLeftoversBeforeTheSocketsAndTheElection) {
  net_.AddAddress(eth0_, "192.0.2.100/32");  // a crashed run's VIP
  Start();
  const auto& journal = net_.journal;
  const size_t leftover = Position(journal, "remove-leftover 192.0.2.100/32 on 1");
  ASSERT_LT(leftover, journal.size());
  EXPECT_LT(leftover, Position(journal, "open ipv4 eth0"));
  EXPECT_FALSE(net_.HasAddress(eth0_, A("192.0.2.100")));
  EXPECT_EQ(io_->Counters().leftover_vips_removed, 1u);
  EXPECT_EQ(Engine().State(), VhostState::kBackup);
  // IPv4 VIPs only: no IPv6 socket.
  EXPECT_THAT(net_.Journal("open"), ElementsAre("open ipv4 eth0"));
}

TEST_F(CarpIoTest, TakeoverInstallsThenAnnouncesAndSendsFromTheRealAddress) {
  Start();
  BecomeMaster();
  // The engine's order, executed and reported as such.
  // 3 s master-down, then the first advertisement of the new MASTER 1 s later.
  EXPECT_THAT(actions_, ElementsAre("StateChanged INIT->BACKUP started",
                                    "StateChanged BACKUP->MASTER master-down", "InstallVips",
                                    "Send ipv4", "AnnounceVips", "Send ipv4"));
  const auto& journal = net_.journal;
  EXPECT_LT(Position(journal, "add 192.0.2.100/24 on 1"),
            Position(journal, "announce 192.0.2.100 on eth0 (1) from 02:00:00:00:00:01"));
  ASSERT_FALSE(net_.sent.empty());
  for (const auto& packet : net_.sent) {
    EXPECT_EQ(packet.source, A("192.0.2.1")) << "a VIP is never the source";
    EXPECT_EQ(packet.interface, "eth0");
  }
  EXPECT_EQ(io_->Counters().adverts_sent, net_.sent.size());
  // The installed VIP comes back as an event: local from then on.
  EXPECT_TRUE(io_->IsLocal(A("192.0.2.100")));
}

TEST_F(CarpIoTest, PrimaryAddressIsTheSourceEvenWhenListedAfterASecondary) {
  net_.RemoveAddress(eth0_, "192.0.2.1/24");
  net_.AddAddress(eth0_, "192.0.2.50/24", IFA_F_SECONDARY);
  net_.AddAddress(eth0_, "192.0.2.1/24");
  net_.DeliverEvents();
  Start();
  BecomeMaster();
  ASSERT_FALSE(net_.sent.empty());
  EXPECT_EQ(net_.sent.back().source, A("192.0.2.1"));
}

TEST_F(CarpIoTest, WithoutASourceSendsFailAndDemoteThenRecover) {
  net_.RemoveAddress(eth0_, "192.0.2.1/24");
  net_.DeliverEvents();
  Start();
  BecomeMaster();
  // Three failed advertisements (3 x 1 vhid) demote group "all" once.
  net_.RunTimers(clock_, clock_.Now() + Seconds(3));
  EXPECT_TRUE(io_->Counters().send_errors_demoted);
  EXPECT_GE(io_->Counters().send_errors, 3u);
  EXPECT_EQ(Engine().Status().demote, 1);
  EXPECT_TRUE(net_.sent.empty());
  EXPECT_NE(std::find(actions_.begin(), actions_.end(), "Send ipv4 FAILED"), actions_.end());
  // The address returns (an event, not a dump): three successes undo it.
  net_.AddAddress(eth0_, "192.0.2.1/24");
  net_.DeliverEvents();
  net_.RunTimers(clock_, clock_.Now() + Seconds(4));
  EXPECT_FALSE(io_->Counters().send_errors_demoted);
  EXPECT_EQ(io_->Counters().consecutive_send_errors, 0u);
  EXPECT_EQ(Engine().Status().demote, 0);
  EXPECT_GE(net_.sent.size(), 3u);
  EXPECT_EQ(io_->AddressDumps(), 1u);
}

TEST_F(CarpIoTest, SocketSendFailuresCountPerAction) {
  Start();
  BecomeMaster();
  const uint64_t sent = io_->Counters().adverts_sent;
  net_.fail_sends = true;
  net_.RunTimers(clock_, clock_.Now() + Seconds(2));
  EXPECT_EQ(io_->Counters().adverts_sent, sent);
  EXPECT_EQ(io_->Counters().send_errors, 2u);
  EXPECT_EQ(io_->Counters().consecutive_send_errors, 2u);
  EXPECT_FALSE(io_->Counters().send_errors_demoted);
}

TEST_F(CarpIoTest, OwnSourceCheckFollowsAddressEventsWithoutDumps) {
  Start(/*vmac=*/false, /*advskew=*/100);
  const IpAddress peer = A("192.0.2.7");
  ASSERT_TRUE(ReceiveFromPeer(peer, 0));
  EXPECT_EQ(Engine().Status().adverts_received, 1u);
  EXPECT_FALSE(io_->IsLocal(peer));

  net_.AddAddress(eth0_, "192.0.2.7/24");
  EXPECT_FALSE(io_->IsLocal(peer)) << "not before the event arrives";
  net_.DeliverEvents();
  EXPECT_TRUE(io_->IsLocal(peer));
  ASSERT_TRUE(ReceiveFromPeer(peer, 0));
  EXPECT_EQ(Engine().Status().drops.Get(DropReason::kOwnPacket), 1u);

  net_.RemoveAddress(eth0_, "192.0.2.7/24");
  net_.DeliverEvents();
  EXPECT_FALSE(io_->IsLocal(peer));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(ReceiveFromPeer(peer, 0));
  EXPECT_EQ(Engine().Status().adverts_received, 101u);
  EXPECT_EQ(io_->Counters().address_events, 2u);
  // One dump when the monitor opened, none per packet.
  EXPECT_EQ(io_->AddressDumps(), 1u);
  EXPECT_EQ(net_.address_dumps, 1u);
}

TEST_F(CarpIoTest, PacketsThatLeaveTheDeadlineAloneDoNotRearmTheTimer) {
  Start();
  BecomeMaster();
  const uint64_t arms = net_.timer_arms;
  // A peer that loses against us: the MASTER's next advert stays where it was.
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(ReceiveFromPeer(A("192.0.2.9"), 200));
  EXPECT_EQ(Engine().State(), VhostState::kMaster);
  EXPECT_EQ(net_.timer_arms, arms);
}

TEST_F(CarpIoTest, LinkDownRemovesTheVipsAndUpResumes) {
  Start();
  BecomeMaster();
  net_.SetLinkUp("eth0", false);
  net_.DeliverEvents();
  EXPECT_EQ(Engine().State(), VhostState::kInit);
  EXPECT_FALSE(net_.HasAddress(eth0_, A("192.0.2.100")));
  EXPECT_EQ(io_->Counters().link_events, 1u);
  EXPECT_THAT(actions_, ::testing::Contains("RemoveVips"));
  net_.SetLinkUp("eth0", true);
  net_.DeliverEvents();
  EXPECT_EQ(Engine().State(), VhostState::kBackup);
  EXPECT_EQ(io_->Counters().link_events, 2u);
}

TEST_F(CarpIoTest, RecreatedParentGetsNewSocketsAndSource) {
  Start();
  net_.DeleteLink(eth0_);
  net_.DeliverEvents();
  EXPECT_EQ(Engine().State(), VhostState::kInit);
  const int again = net_.AddLink("eth0");
  net_.AddAddress(again, "192.0.2.2/24");
  net_.DeliverEvents();
  EXPECT_EQ(Engine().State(), VhostState::kBackup);
  EXPECT_THAT(net_.Journal("open"), ElementsAre("open ipv4 eth0", "open ipv4 eth0"));
  BecomeMaster();
  EXPECT_LT(Position(net_.journal, "add 192.0.2.100/24 on " + std::to_string(again)),
            net_.journal.size());
  ASSERT_FALSE(net_.sent.empty());
  EXPECT_EQ(net_.sent.back().source, A("192.0.2.2"));
}

TEST_F(CarpIoTest, ShutdownBowsOutRemovesTheVipsAndClosesOnce) {
  Start();
  BecomeMaster();
  net_.sent.clear();
  io_->Shutdown();
  ASSERT_EQ(net_.sent.size(), 1u);
  auto bow_out = DecodeAdvertisement(net_.sent[0].bytes);
  ASSERT_TRUE(bow_out.has_value());
  EXPECT_EQ(bow_out->advskew, 255);
  EXPECT_FALSE(net_.HasAddress(eth0_, A("192.0.2.100")));
  EXPECT_THAT(net_.Journal("close"), ElementsAre("close ipv4 eth0"));
  EXPECT_FALSE(io_->Running());
  EXPECT_FALSE(net_.TimerDeadline().has_value());
  io_->Shutdown();  // idempotent
  EXPECT_EQ(net_.sent.size(), 1u);
}

TEST_F(CarpIoTest, VirtualMacVipsLiveOnTheMacvlanWhileMaster) {
  Start(/*vmac=*/true);
  const auto* vmac = net_.Link("vh1.eth0");
  ASSERT_NE(vmac, nullptr);
  const std::string on = std::to_string(vmac->ifindex);
  EXPECT_EQ(io_->VmacInterface("eth0", kVhid), "vh1.eth0");
  const auto& journal = net_.journal;
  // Parent ARP settings first, then the macvlan and its send socket.
  EXPECT_LT(Position(journal, "arp 1 1/2/0"), Position(journal, "vmac-create vh1.eth0 on 1"));
  EXPECT_LT(Position(journal, "vmac-create vh1.eth0 on 1"),
            Position(journal, "open-send ipv4 vh1.eth0"));

  BecomeMaster();
  EXPECT_LT(Position(journal, "vmac-up " + on), Position(journal, "add 192.0.2.100/24 on " + on));
  EXPECT_LT(
      Position(journal, "add 192.0.2.100/24 on " + on),
      Position(journal, "announce 192.0.2.100 on vh1.eth0 (" + on + ") from 00:00:5e:00:01:01"));
  ASSERT_FALSE(net_.sent.empty());
  EXPECT_EQ(net_.sent.back().interface, "vh1.eth0");
  EXPECT_EQ(net_.sent.back().source, A("192.0.2.1"));

  io_->Shutdown();
  EXPECT_LT(Position(journal, "remove 192.0.2.100/24 on " + on),
            Position(journal, "vmac-down " + on));
  EXPECT_LT(Position(journal, "vmac-down " + on), Position(journal, "vmac-delete " + on));
  EXPECT_LT(Position(journal, "vmac-delete " + on), Position(journal, "arp 1 0/0/0"));
  EXPECT_EQ(net_.Link("vh1.eth0"), nullptr);
}

TEST_F(CarpIoTest, DeletedMacvlanOfAMasterIsRestoredAndAnnounced) {
  Start(/*vmac=*/true);
  BecomeMaster();
  const int old_index = net_.Link("vh1.eth0")->ifindex;
  net_.DeleteLink(old_index);
  net_.DeliverEvents();
  EXPECT_EQ(io_->Counters().vmacs_restored, 1u);
  const auto* vmac = net_.Link("vh1.eth0");
  ASSERT_NE(vmac, nullptr);
  EXPECT_NE(vmac->ifindex, old_index);
  const std::string on = std::to_string(vmac->ifindex);
  EXPECT_TRUE(net_.HasAddress(vmac->ifindex, A("192.0.2.100")));
  EXPECT_LT(Position(net_.journal, "vmac-up " + on), net_.journal.size());
  EXPECT_LT(Position(net_.journal,
                     "announce 192.0.2.100 on vh1.eth0 (" + on + ") from 00:00:5e:00:01:01"),
            net_.journal.size());
  EXPECT_THAT(errors_, IsEmpty());
}

TEST_F(CarpIoTest, FailedVipInstallIsCountedAndReported) {
  Start();
  net_.fail_address_changes = true;
  net_.RunTimers(clock_, clock_.Now() + Seconds(4));
  EXPECT_EQ(Engine().State(), VhostState::kMaster);
  EXPECT_EQ(io_->Counters().vip_errors, 1u);
  EXPECT_NE(std::find(actions_.begin(), actions_.end(), "InstallVips FAILED"), actions_.end());
}

TEST_F(CarpIoTest, CreateRejectsVipsThatDifferFromTheEngines) {
  auto set = std::make_unique<VhostSet>(DemotionGroups());
  ASSERT_TRUE(set->Add("eth0", Config(), 1).has_value());
  auto wrong = CarpIo::Create(clock_, std::move(set),
                              {VhostIo{"eth0", kVhid, {P("192.0.2.101/24")}}}, {}, net_.Adapters());
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(wrong.error().context.find("differ"), std::string::npos);
  auto none = CarpIo::Create(clock_, std::make_unique<VhostSet>(DemotionGroups()),
                             {VhostIo{"eth0", kVhid, kVips}}, {}, net_.Adapters());
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().context.find("not in the vhost set"), std::string::npos);
}

TEST_F(CarpIoTest, MissingParentFailsStart) {
  auto set = std::make_unique<VhostSet>(DemotionGroups());
  ASSERT_TRUE(set->Add("eth9", Config(), 1).has_value());
  auto created =
      CarpIo::Create(clock_, std::move(set), {VhostIo{"eth9", kVhid, kVips}}, {}, net_.Adapters());
  ASSERT_TRUE(created.has_value());
  auto started = (*created)->Start();
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hafw::carp::io
