// hafw_netlink against the real kernel, in namespaces this test creates
// (root): batched writes with a failure in the middle, ENOBUFS on a tiny
// receive buffer, a request the kernel never answers, groups above 31 and
// the netfilter family.

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "netlink/netlink_socket.h"
#include "testing/netns_lab.h"

namespace hafw::netlink {
namespace {

constexpr int kLoopback = 1;
constexpr int kNoSuchIfindex = 0x7ffffff0;

// RTM_NEWADDR / RTM_DELADDR of 198.51.100.<host>/32 on `ifindex`.
void AddAddressChange(NetlinkBatch& batch, uint16_t type, int ifindex, int host) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(batch.Begin());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = 32;
  ifa->ifa_index = static_cast<uint32_t>(ifindex);
  const uint32_t address = htonl((198u << 24) | (51u << 16) | (100u << 8) | unsigned(host));
  mnl_attr_put_u32(nlh, IFA_LOCAL, address);
  mnl_attr_put_u32(nlh, IFA_ADDRESS, address);
  ASSERT_TRUE(batch.Commit());
}

// The hosts of every 198.51.100.x address in the namespace.
std::vector<int> DocAddresses(NetlinkSocket& socket) {
  std::vector<char> buffer(kRequestBufferSize);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  std::vector<int> hosts;
  auto dumped = socket.Transact(
      nlh,
      [&](const nlmsghdr& msg) {
        if (msg.nlmsg_len < mnl_nlmsg_size(sizeof(ifaddrmsg))) return;
        mnl_attr_parse(
            &msg, sizeof(ifaddrmsg),
            [](const nlattr* attr, void* data) {
              if (mnl_attr_get_type(attr) == IFA_LOCAL &&
                  mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
                const uint32_t a = ntohl(mnl_attr_get_u32(attr));
                if ((a >> 8) == ((198u << 16) | (51u << 8) | 100u)) {
                  static_cast<std::vector<int>*>(data)->push_back(static_cast<int>(a & 0xff));
                }
              }
              return MNL_CB_OK;
            },
            &hosts);
      },
      "dump addresses");
  EXPECT_TRUE(dumped.has_value()) << dumped.error().ToString();
  return hosts;
}

class NetlinkNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HAFW_REQUIRE_ROOT_OR_SKIP();
    auto ns = group_.Add("nl");
    ASSERT_TRUE(ns.has_value()) << ns.error().ToString();
    ns_ = *ns;
    in_ = std::make_unique<testkit::ScopedNetns>(ns_);
    ASSERT_TRUE(in_->Ok());
  }
  void TearDown() override {
    in_.reset();  // leave before the namespace goes
    group_.Teardown();
  }

  testkit::NetnsGroup group_;
  std::string ns_;
  std::unique_ptr<testkit::ScopedNetns> in_;
};

TEST_F(NetlinkNetnsTest, BatchWithAFailingMessageInTheMiddle) {
  auto socket = NetlinkSocket::Open();
  ASSERT_TRUE(socket.has_value());
  NetlinkBatch batch;
  AddAddressChange(batch, RTM_NEWADDR, kLoopback, 1);
  AddAddressChange(batch, RTM_NEWADDR, kNoSuchIfindex, 2);
  AddAddressChange(batch, RTM_NEWADDR, kLoopback, 3);
  auto failed = socket->SendBatch(batch, AckMode::kLast);
  ASSERT_TRUE(failed.has_value()) << failed.error().ToString();
  EXPECT_EQ(*failed, 1u);
  EXPECT_EQ(batch.ErrorAt(0), 0);
  EXPECT_EQ(batch.ErrorAt(1), ENODEV);
  EXPECT_EQ(batch.ErrorAt(2), 0);
  // The kernel went on after the failure.
  EXPECT_EQ(DocAddresses(*socket), (std::vector<int>{1, 3}));

  // Removing 1, 2 (never added: EADDRNOTAVAIL) and 3, each acknowledged.
  batch.Clear();
  for (int host : {1, 2, 3}) AddAddressChange(batch, RTM_DELADDR, kLoopback, host);
  std::vector<std::pair<size_t, int>> errors;
  auto on_error = [&](size_t index, int err, std::string_view) { errors.emplace_back(index, err); };
  NetlinkSocket::BatchHandlers handlers;
  handlers.on_error = on_error;
  failed = socket->SendBatch(batch, AckMode::kEach, handlers);
  ASSERT_TRUE(failed.has_value()) << failed.error().ToString();
  EXPECT_EQ(*failed, 1u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], std::make_pair(size_t{1}, EADDRNOTAVAIL));
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(batch.Answered(i)) << i;
  EXPECT_TRUE(DocAddresses(*socket).empty());
}

TEST_F(NetlinkNetnsTest, SixtyFourMessagesPerSendReusingTheBatch) {
  auto socket = NetlinkSocket::Open();
  ASSERT_TRUE(socket.has_value());
  NetlinkBatch batch;
  for (uint16_t type : {RTM_NEWADDR, RTM_DELADDR}) {
    batch.Clear();
    for (int host = 1; host <= 64; ++host) AddAddressChange(batch, type, kLoopback, host);
    auto failed = socket->SendBatch(batch, AckMode::kLast);
    ASSERT_TRUE(failed.has_value()) << failed.error().ToString();
    EXPECT_EQ(*failed, 0u);
    EXPECT_EQ(DocAddresses(*socket).size(), type == RTM_NEWADDR ? 64u : 0u);
  }
}

TEST_F(NetlinkNetnsTest, OverrunOfATinyReceiveBufferIsReported) {
  SocketOptions options;
  options.groups = {RTNLGRP_IPV4_IFADDR};
  options.receive_buffer_bytes = 1;  // the kernel's minimum
  auto events = NetlinkSocket::Open(options);
  ASSERT_TRUE(events.has_value()) << events.error().ToString();
  auto socket = NetlinkSocket::Open();
  ASSERT_TRUE(socket.has_value());
  NetlinkBatch batch;
  for (int host = 1; host <= 64; ++host) AddAddressChange(batch, RTM_NEWADDR, kLoopback, host);
  ASSERT_EQ(socket->SendBatch(batch, AckMode::kLast).value_or(99), 0u);

  size_t messages = 0;
  auto read = events->ReadEvents([&](const nlmsghdr&) { ++messages; });
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(read->status, EventStatus::kOverrun);
  EXPECT_EQ(events->Counters().overruns, 1u);
  // What was queued is older than any re-dump: it goes, then all is quiet.
  EXPECT_GT(events->DiscardPending(), 0u);
  read = events->ReadEvents([&](const nlmsghdr&) { ++messages; });
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->status, EventStatus::kDrained);
  EXPECT_LT(messages, 64u);
}

TEST_F(NetlinkNetnsTest, RequestTheKernelNeverAnswersTimesOut) {
  // A socket whose queue is full drops the kernel's reply; with
  // NETLINK_NO_ENOBUFS not even an error says so. That is a kernel that never
  // answers: the wait must end at the receive timeout.
  SocketOptions options;
  options.groups = {RTNLGRP_IPV4_IFADDR};
  options.receive_buffer_bytes = 1;
  options.report_overruns = false;
  options.receive_timeout = std::chrono::milliseconds(300);
  auto silent = NetlinkSocket::Open(options);
  ASSERT_TRUE(silent.has_value()) << silent.error().ToString();
  auto writer = NetlinkSocket::Open();
  ASSERT_TRUE(writer.has_value());
  NetlinkBatch batch;
  for (int host = 1; host <= 64; ++host) AddAddressChange(batch, RTM_NEWADDR, kLoopback, host);
  ASSERT_EQ(writer->SendBatch(batch, AckMode::kLast).value_or(99), 0u);

  std::vector<char> buffer(kRequestBufferSize);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_index = kLoopback;
  const auto start = std::chrono::steady_clock::now();
  auto result = silent->Transact(nlh, nullptr, "get lo");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().sys_errno, ETIMEDOUT) << result.error().ToString();
  EXPECT_NE(result.error().context.find("no netlink reply within 300 ms"), std::string::npos);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_EQ(silent->Counters().timeouts, 1u);
  EXPECT_GT(silent->Counters().stale_replies, 0u) << "the queued events were read and skipped";
  // The queue was drained while waiting; with room for a reply and its ACK
  // the same socket works again (a late reply to the first request would be
  // skipped by its sequence number).
  ASSERT_TRUE(silent->SetReceiveBuffer(65536).has_value());
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto again = silent->Transact(nlh, nullptr, "get lo again");
  EXPECT_TRUE(again.has_value()) << again.error().ToString();
}

TEST_F(NetlinkNetnsTest, GroupAbove31DeliversEvents) {
  SocketOptions options;
  options.groups = {RTNLGRP_NEXTHOP};  // 32: beyond the bind() bit mask
  auto events = NetlinkSocket::Open(options);
  ASSERT_TRUE(events.has_value()) << events.error().ToString();
  ASSERT_EQ(group_.Ip(ns_, {"nexthop", "add", "id", "7", "blackhole"}), 0);
  std::vector<uint16_t> types;
  ASSERT_TRUE(testkit::WaitUntil(
      [&] {
        auto read =
            events->ReadEvents([&](const nlmsghdr& msg) { types.push_back(msg.nlmsg_type); });
        return read.has_value() && !types.empty();
      },
      std::chrono::seconds(2)));
  EXPECT_EQ(types[0], RTM_NEWNEXTHOP);
}

TEST_F(NetlinkNetnsTest, NetfilterConntrackDumpOfAnEmptyTable) {
  auto socket = NetlinkSocket::Open(Protocol::kNetfilter);
  ASSERT_TRUE(socket.has_value()) << socket.error().ToString();
  std::vector<char> buffer(kRequestBufferSize);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_INET;
  nfg->version = NFNETLINK_V0;
  size_t entries = 0;
  auto dumped = socket->Transact(
      nlh, [&](const nlmsghdr&) { ++entries; }, "conntrack dump");
  ASSERT_TRUE(dumped.has_value()) << dumped.error().ToString();
  EXPECT_EQ(entries, 0u);  // a fresh namespace has no connections
}

}  // namespace
}  // namespace hafw::netlink
