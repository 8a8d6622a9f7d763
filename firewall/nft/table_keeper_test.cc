// TableKeeper against the real kernel, in namespaces the test creates: the
// table it puts in place, ownership, reload, stop, the user's own ruleset and
// their `flush ruleset`. Traffic through the table: table_traffic_test.cc.

#include "firewall/nft/table_keeper.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>

#include "firewall/core/ruleset_check.h"
#include "firewall/core/table_text.h"
#include "firewall/testing/nft_lab.h"
#include "testing/netns_lab.h"

namespace hafw::firewall::nft {
namespace {

using testkit::RunUntil;
using testkit::ScopedNetns;
using namespace hafw::firewall::testing;  // NOLINT(google-build-using-namespace)

// A ruleset as an operator writes it: strict filter chains of their own.
constexpr const char* kUserRuleset = R"(flush ruleset
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		meta l4proto ipv6-icmp accept
	}

	chain forward {
		type filter hook forward priority filter; policy drop;
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade
	}
}
)";

class TableKeeperTest : public testkit::NetnsLabTest {
 protected:
  void SetUp() override {
    NetnsLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto added = AddLabAddresses(lab_.ns_a, lab_.if_a, lab_.ns_b, lab_.if_b);
    ASSERT_TRUE(added) << added.error().ToString();
    plan_ = LabPlan(lab_.if_b);
  }

  std::unique_ptr<TableKeeper> MakeKeeper(KeeperOptions options = {}) {
    ScopedNetns in(lab_.ns_b);
    EXPECT_TRUE(in.Ok());
    auto keeper = TableKeeper::Create(
        io_, options, [this](const KeeperNotice& n) { notices_.push_back(n); }, clock_);
    EXPECT_TRUE(keeper) << keeper.error().ToString();
    return keeper ? std::move(*keeper) : nullptr;
  }

  std::optional<TableInfo> Table(const std::string& name = "hafw") {
    ScopedNetns in(lab_.ns_b);
    auto query = NftQuery::Open();
    if (!query) return std::nullopt;
    auto info = query->GetTable(name);
    return info ? *info : std::nullopt;
  }

  std::string ListOurs() {
    std::string out;
    Nft(lab_.ns_b, {"list", "table", "inet", "hafw"}, &out);
    return out;
  }

  int Count(KeeperEvent event) const {
    return static_cast<int>(std::count_if(notices_.begin(), notices_.end(),
                                          [&](const KeeperNotice& n) { return n.event == event; }));
  }

  boost::asio::io_context io_;
  SteadyClock clock_;
  std::vector<KeeperNotice> notices_;
  FirewallPlan plan_;
};

TEST_F(TableKeeperTest, PutsTheRenderedTableInPlaceOwnedByItsSession) {
  auto keeper = MakeKeeper();
  ASSERT_NE(keeper, nullptr);
  ASSERT_TRUE(keeper->Apply(plan_));
  TableOptions owned;
  owned.owner = true;
  EXPECT_EQ(Normalized(ListOurs()), Normalized(RenderTable(plan_, owned)));
  auto info = Table();
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->Owned());
  EXPECT_EQ(info->owner_portid, keeper->SessionPort());
  EXPECT_TRUE(IsAgentTableComment(info->comment));
  EXPECT_EQ(Count(KeeperEvent::kCreated), 1);
  EXPECT_TRUE(keeper->Status().installed);
  EXPECT_TRUE(keeper->Status().owner_flag);
}

TEST_F(TableKeeperTest, EveryKindOfPlanListsAsRendered) {
  auto keeper = MakeKeeper({.owner_flag = false});
  ASSERT_NE(keeper, nullptr);
  FirewallPlan v6;
  v6.carp_parents = {{"lan0", {LinkLocalV6(), *IpPrefix::Parse("2001:db8:1::2/128")}},
                     {"wan0", {*IpPrefix::Parse("2001:db8:2::/64")}}};
  v6.sync = SyncLink{"sync0", 8007, {*IpAddress::Parse("2001:db8:ff::2")}};
  FirewallPlan dual = plan_;
  dual.carp_parents.push_back({"dmz0", {*IpPrefix::Parse("198.51.100.0/28"), LinkLocalV6()}});
  FirewallPlan no_sync = plan_;
  no_sync.sync.reset();
  no_sync.conntrack_labels = false;
  FirewallPlan labels_only;
  labels_only.conntrack_labels = true;
  for (const FirewallPlan& plan : {plan_, v6, dual, no_sync, labels_only}) {
    ASSERT_TRUE(keeper->Apply(plan));
    EXPECT_EQ(Normalized(ListOurs()), Normalized(RenderTable(plan, {})));
  }
}

TEST_F(TableKeeperTest, ReloadKeepsCountsAndAFailedTransactionChangesNothing) {
  auto keeper = MakeKeeper();
  ASSERT_NE(keeper, nullptr);
  ASSERT_TRUE(keeper->Apply(plan_));
  const IpAddress stranger = *IpAddress::Parse(kStrangerV4);
  const IpAddress firewall = *IpAddress::Parse(kFirewallV4);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(SendCarp(lab_.ns_a, lab_.if_a, stranger, firewall, 255));
  ASSERT_TRUE(RunUntil(io_, [&] {
    auto c = keeper->ReadCounters();
    return c && (*c)[DropReason::kCarpSource].packets == 3;
  }));
  FirewallPlan changed = plan_;
  changed.carp_parents[0].allowed_sources.push_back(*IpPrefix::Parse("192.0.2.77/32"));
  changed.sync.reset();
  ASSERT_TRUE(keeper->Apply(changed));
  auto counters = keeper->ReadCounters();
  ASSERT_TRUE(counters);
  EXPECT_EQ((*counters)[DropReason::kCarpSource].packets, 3U);
  EXPECT_EQ(Normalized(ListOurs()), Normalized(RenderTable(changed, {true, *counters})));
  EXPECT_EQ(Count(KeeperEvent::kReplaced), 1);

  // libnftables applies a buffer whole or not at all: a replace whose second
  // half fails leaves the table as it was.
  const std::string before = ListOurs();
  ScopedNetns in(lab_.ns_b);
  auto session = NftSession::Open();
  ASSERT_TRUE(session);
  auto broken = (*session)->Run(
      "delete table inet hafw\ntable inet hafw {\n\tchain c {\n\t\tjump "
      "nowhere\n\t}\n}\n");
  EXPECT_FALSE(broken);
  EXPECT_EQ(ListOurs(), before);
}

TEST_F(TableKeeperTest, RefusesATableOfItsNameThatHaAgentDidNotCreateUnlessAdopting) {
  ASSERT_EQ(Nft(lab_.ns_b, {"add", "table", "inet", "hafw"}), 0);
  ASSERT_EQ(Nft(lab_.ns_b, {"add", "chain", "inet", "hafw", "mine"}), 0);
  const std::string theirs = ListOurs();
  auto keeper = MakeKeeper();
  ASSERT_NE(keeper, nullptr);
  auto refused = keeper->Apply(plan_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().context.find("not created by ha-agent"), std::string::npos);
  EXPECT_EQ(ListOurs(), theirs);
  EXPECT_FALSE(keeper->Status().installed);

  auto adopter = MakeKeeper({.adopt = true});
  ASSERT_NE(adopter, nullptr);
  ASSERT_TRUE(adopter->Apply(plan_));
  EXPECT_EQ(Count(KeeperEvent::kAdopted), 1);
  EXPECT_EQ(ListOurs().find("chain mine"), std::string::npos);
}

TEST_F(TableKeeperTest, ATableOwnedByAnotherAgentIsLeftAlone) {
  auto first = MakeKeeper();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->Apply(plan_));
  const std::string listed = ListOurs();
  auto second = MakeKeeper({.adopt = true});
  ASSERT_NE(second, nullptr);
  auto refused = second->Apply(plan_);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().context.find("owned by another"), std::string::npos);
  EXPECT_TRUE(second->Stop());  // never started: touches nothing
  second.reset();
  EXPECT_EQ(ListOurs(), listed);
}

TEST_F(TableKeeperTest, StopRemovesTheTableAndLeavesTheUsersRulesetAsItWas) {
  ASSERT_EQ(NftFile(lab_.ns_b, kUserRuleset), 0);
  const std::string user = ListRuleset(lab_.ns_b);
  ASSERT_NE(user.find("table inet filter"), std::string::npos);
  auto keeper = MakeKeeper();
  ASSERT_NE(keeper, nullptr);
  ASSERT_TRUE(keeper->Apply(plan_));
  FirewallPlan changed = plan_;
  changed.conntrack_labels = false;
  ASSERT_TRUE(keeper->Apply(changed));
  const std::string with_ours = ListRuleset(lab_.ns_b);
  EXPECT_NE(with_ours.find("table inet hafw"), std::string::npos);
  EXPECT_EQ(RemoveTableFromListing(with_ours, "hafw"), user);
  ASSERT_TRUE(keeper->Stop());
  EXPECT_EQ(ListRuleset(lab_.ns_b), user);
  EXPECT_FALSE(Table());
  EXPECT_EQ(Count(KeeperEvent::kRemoved), 1);
  EXPECT_FALSE(keeper->Status().installed);
}

TEST_F(TableKeeperTest, DestroyingTheKeeperRemovesTheTable) {
  for (bool owner_flag : {true, false}) {
    auto keeper = MakeKeeper({.owner_flag = owner_flag});
    ASSERT_NE(keeper, nullptr);
    ASSERT_TRUE(keeper->Apply(plan_));
    ASSERT_TRUE(Table());
    keeper.reset();
    EXPECT_FALSE(Table()) << "owner_flag " << owner_flag;
  }
}

TEST_F(TableKeeperTest, TheKernelRemovesAnOwnedTableWhenTheAgentIsKilled) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The "agent": owns the table, then waits to be killed (at most 30 s).
    close(ready[0]);
    boost::asio::io_context io;
    SteadyClock clock;
    ScopedNetns in(lab_.ns_b);
    auto keeper = TableKeeper::Create(io, {}, nullptr, clock);
    const char ok = keeper && (*keeper)->Apply(plan_) ? '1' : '0';
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    sleep(30);
    _exit(0);
  }
  close(ready[1]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  EXPECT_EQ(ok, '1');
  auto info = Table();
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->Owned());
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  // The kernel releases the socket's tables as the process dies.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Table() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(Table());
}

TEST_F(TableKeeperTest, TheSessionSocketIsNotInheritedByHooks) {
  // A hook process holding the socket would keep an owned table alive after
  // the agent died: it must be close-on-exec.
  ScopedNetns in(lab_.ns_b);
  auto session = NftSession::Open();
  ASSERT_TRUE(session) << session.error().ToString();
  ASSERT_NE((*session)->PortId(), 0U);
  int matched = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    sockaddr_nl addr{};
    socklen_t len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        addr.nl_family != AF_NETLINK || addr.nl_pid != (*session)->PortId()) {
      continue;
    }
    ++matched;
    EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << "fd " << fd;
  }
  EXPECT_EQ(matched, 1);
}

TEST_F(TableKeeperTest, KeepOnExitHandsOverToAPlainTableTheNextAgentTakesOver) {
  auto keeper = MakeKeeper({.keep_on_exit = true});
  ASSERT_NE(keeper, nullptr);
  ASSERT_TRUE(keeper->Apply(plan_));
  const IpAddress stranger = *IpAddress::Parse(kStrangerV4);
  ASSERT_TRUE(SendCarp(lab_.ns_a, lab_.if_a, stranger, *IpAddress::Parse(kFirewallV4), 255));
  ASSERT_TRUE(RunUntil(io_, [&] {
    auto c = keeper->ReadCounters();
    return c && (*c)[DropReason::kCarpSource].packets == 1;
  }));
  ASSERT_TRUE(keeper->Stop());
  keeper.reset();
  auto left = Table();
  ASSERT_TRUE(left);
  EXPECT_FALSE(left->Owned());
  EXPECT_TRUE(IsAgentTableComment(left->comment));
  EXPECT_EQ(Count(KeeperEvent::kLeftInPlace), 1);

  auto next = MakeKeeper();
  ASSERT_NE(next, nullptr);
  ASSERT_TRUE(next->Apply(plan_));
  EXPECT_EQ(Count(KeeperEvent::kTookOver), 1);
  auto owned = Table();
  ASSERT_TRUE(owned);
  EXPECT_TRUE(owned->Owned());
  auto counters = next->ReadCounters();
  ASSERT_TRUE(counters);
  EXPECT_EQ((*counters)[DropReason::kCarpSource].packets, 1U);
}

TEST_F(TableKeeperTest, AnOwnedTableSurvivesTheUsersFlushRuleset) {
  auto keeper = MakeKeeper();
  ASSERT_NE(keeper, nullptr);
  ASSERT_TRUE(keeper->Apply(plan_));
  const std::string ours = ListOurs();
  ASSERT_EQ(NftFile(lab_.ns_b, kUserRuleset), 0);
  // Their delete is refused outright.
  EXPECT_NE(Nft(lab_.ns_b, {"delete", "table", "inet", "hafw"}), 0);
  io_.restart();
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ListOurs(), ours);
  EXPECT_NE(ListRuleset(lab_.ns_b).find("table inet filter"), std::string::npos);
  EXPECT_EQ(keeper->Status().restores, 0U);
}

TEST_F(TableKeeperTest, APlainTableIsRestoredAfterTheUsersFlushRuleset) {
  auto keeper = MakeKeeper({.owner_flag = false});
  ASSERT_NE(keeper, nullptr);
  ASSERT_TRUE(keeper->Apply(plan_));
  ASSERT_TRUE(SendCarp(lab_.ns_a, lab_.if_a, *IpAddress::Parse(kStrangerV4),
                       *IpAddress::Parse(kFirewallV4), 255));
  ASSERT_TRUE(RunUntil(io_, [&] {
    auto c = keeper->ReadCounters();
    return c && (*c)[DropReason::kCarpSource].packets == 1;
  }));
  const std::string ours = ListOurs();
  const auto flushed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(NftFile(lab_.ns_b, kUserRuleset), 0);
  ASSERT_TRUE(RunUntil(
      io_, [&] { return keeper->Status().restores == 1; }, std::chrono::seconds(2)));
  const auto healed_in = std::chrono::steady_clock::now() - flushed_at;
  EXPECT_LT(healed_in, std::chrono::seconds(1));
  std::printf("healed %.1f ms after the user's nft -f\n",
              std::chrono::duration<double, std::milli>(healed_in).count());
  EXPECT_EQ(ListOurs(), ours);  // same rules, same counts
  EXPECT_EQ(Count(KeeperEvent::kRestored), 1);
  // Their ruleset is in place beside ours.
  const std::string user = RemoveTableFromListing(ListRuleset(lab_.ns_b), "hafw");
  EXPECT_NE(user.find("table inet filter"), std::string::npos);
  // Our own restore caused no second one.
  io_.restart();
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(keeper->Status().restores, 1U);
}

TEST_F(TableKeeperTest, APlainTableReplacesASavedCopyTheUserLoadsBack) {
  auto keeper = MakeKeeper({.owner_flag = false});
  ASSERT_NE(keeper, nullptr);
  ASSERT_TRUE(keeper->Apply(plan_));
  // `nft list ruleset > f`, an edit that drops our sync chain, `nft -f f`.
  std::string saved = "flush ruleset\n" + ListRuleset(lab_.ns_b);
  const size_t sync = saved.find("\tchain sync {");
  ASSERT_NE(sync, std::string::npos);
  saved.erase(sync, saved.find("\t}\n", sync) + 3 - sync);
  saved.replace(saved.find("jump sync"), 9, "accept");
  ASSERT_EQ(NftFile(lab_.ns_b, saved), 0);
  ASSERT_TRUE(RunUntil(
      io_, [&] { return keeper->Status().restores == 1; }, std::chrono::seconds(2)));
  EXPECT_NE(ListOurs().find("chain sync {"), std::string::npos);
}

TEST_F(TableKeeperTest, ARestoreLeavesATableOfItsNameThatIsNotOursAlone) {
  auto keeper = MakeKeeper({.owner_flag = false});
  ASSERT_NE(keeper, nullptr);
  ASSERT_TRUE(keeper->Apply(plan_));
  ASSERT_EQ(NftFile(lab_.ns_b, "flush ruleset\ntable inet hafw {\n\tchain theirs {\n\t}\n}\n"), 0);
  ASSERT_TRUE(RunUntil(
      io_, [&] { return keeper->Status().restore_failures == 1; }, std::chrono::seconds(2)));
  EXPECT_EQ(Count(KeeperEvent::kRestoreFailed), 1);
  EXPECT_NE(ListOurs().find("chain theirs"), std::string::npos);
  // Not retried on its own: it waits for the table's owner to act.
  io_.restart();
  io_.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(keeper->Status().restore_failures, 1U);
  // Stop does not remove it either.
  EXPECT_TRUE(keeper->Stop());
  EXPECT_NE(ListOurs().find("chain theirs"), std::string::npos);
}

}  // namespace
}  // namespace hafw::firewall::nft
