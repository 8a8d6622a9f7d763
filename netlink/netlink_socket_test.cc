// hafw_netlink without root: read-only rtnetlink requests in whatever
// namespace the test runs in (lo is ifindex 1 in every namespace), the batch
// buffer and the socket options. Writes, overruns and timeouts:
// netlink_socket_netns_test.cc.

#include "netlink/netlink_socket.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hafw::netlink {
namespace {

constexpr int kLoopback = 1;
constexpr int kNoSuchIfindex = 0x7ffffff0;

// An RTM_GETLINK for one ifindex (or a dump for 0) at `where`.
nlmsghdr* PutGetLink(void* where, int ifindex) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(where);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | (ifindex == 0 ? NLM_F_DUMP : 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  return nlh;
}

int IfindexOf(const nlmsghdr& msg) {
  return static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(&msg))->ifi_index;
}

void AddGetLink(NetlinkBatch& batch, int ifindex) {
  nlmsghdr* nlh = batch.Begin();
  ASSERT_NE(nlh, nullptr);
  PutGetLink(nlh, ifindex);
  ASSERT_TRUE(batch.Commit());
}

TEST(NetlinkSocketTest, DumpsLinksAndAnswersAGet) {
  auto socket = NetlinkSocket::Open();
  ASSERT_TRUE(socket.has_value()) << socket.error().ToString();
  EXPECT_GE(socket->Fd(), 0);
  EXPECT_NE(socket->PortId(), 0u);
  EXPECT_EQ(socket->GetProtocol(), Protocol::kRoute);
  std::vector<char> buffer(kRequestBufferSize);

  std::vector<int> dumped;
  auto dump = socket->Transact(
      PutGetLink(buffer.data(), 0),
      [&](const nlmsghdr& msg) {
        if (msg.nlmsg_type == RTM_NEWLINK) dumped.push_back(IfindexOf(msg));
      },
      "dump links");
  ASSERT_TRUE(dump.has_value()) << dump.error().ToString();
  EXPECT_NE(std::find(dumped.begin(), dumped.end(), kLoopback), dumped.end());

  int got = 0;
  auto get = socket->Transact(
      PutGetLink(buffer.data(), kLoopback), [&](const nlmsghdr& msg) { got = IfindexOf(msg); },
      "get lo");
  ASSERT_TRUE(get.has_value()) << get.error().ToString();
  EXPECT_EQ(got, kLoopback);
}

TEST(NetlinkSocketTest, KernelErrorsCarryTheirErrno) {
  auto socket = NetlinkSocket::Open();
  ASSERT_TRUE(socket.has_value());
  std::vector<char> buffer(kRequestBufferSize);
  auto missing = socket->Transact(PutGetLink(buffer.data(), kNoSuchIfindex), nullptr, "get link");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  EXPECT_EQ(missing.error().sys_errno, ENODEV);
  EXPECT_EQ(missing.error().context.rfind("get link: ", 0), 0u) << missing.error().context;
  // The socket goes on working after an error.
  EXPECT_TRUE(socket->Transact(PutGetLink(buffer.data(), kLoopback), nullptr, "get lo"));
}

TEST(NetlinkSocketTest, BatchAttributesEachErrorToItsMessage) {
  auto socket = NetlinkSocket::Open();
  ASSERT_TRUE(socket.has_value());
  NetlinkBatch batch;
  for (int ifindex : {kLoopback, kNoSuchIfindex, kLoopback}) AddGetLink(batch, ifindex);

  for (AckMode mode : {AckMode::kEach, AckMode::kLast}) {
    SCOPED_TRACE(mode == AckMode::kEach ? "each" : "last");
    std::vector<size_t> replies;
    std::vector<std::pair<size_t, int>> errors;
    NetlinkSocket::BatchHandlers handlers;
    auto on_reply = [&](size_t index, const nlmsghdr& msg) {
      EXPECT_EQ(IfindexOf(msg), kLoopback);
      replies.push_back(index);
    };
    auto on_error = [&](size_t index, int err, std::string_view) {
      errors.emplace_back(index, err);
    };
    handlers.on_reply = on_reply;
    handlers.on_error = on_error;
    auto failed = socket->SendBatch(batch, mode, handlers);
    ASSERT_TRUE(failed.has_value()) << failed.error().ToString();
    EXPECT_EQ(*failed, 1u);
    EXPECT_EQ(replies, (std::vector<size_t>{0, 2}));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], std::make_pair(size_t{1}, ENODEV));
    EXPECT_EQ(batch.ErrorAt(0), 0);
    EXPECT_EQ(batch.ErrorAt(1), ENODEV);
    EXPECT_EQ(batch.ErrorAt(2), 0);
    EXPECT_TRUE(batch.Answered(1));  // errors always come back
    EXPECT_TRUE(batch.Answered(2));  // the ACK of the last
    // Only with an ACK on each does a success before the last answer.
    EXPECT_EQ(batch.Answered(0), mode == AckMode::kEach);
    EXPECT_EQ((batch.Message(0).nlmsg_flags & NLM_F_ACK) != 0, mode == AckMode::kEach);
  }
}

TEST(NetlinkSocketTest, EmptyBatchSendsNothing) {
  auto socket = NetlinkSocket::Open();
  ASSERT_TRUE(socket.has_value());
  NetlinkBatch batch;
  auto failed = socket->SendBatch(batch, AckMode::kLast);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(*failed, 0u);
}

TEST(NetlinkBatchTest, CommitChecksTheMessageAndFullStopsBegin) {
  NetlinkBatch batch(/*capacity=*/256, /*max_message=*/128);
  EXPECT_FALSE(batch.Commit()) << "nothing begun";
  nlmsghdr* nlh = batch.Begin();
  ASSERT_NE(nlh, nullptr);
  EXPECT_GE(batch.Room(), 256u + 128u);
  nlh->nlmsg_len = 4;  // shorter than a header
  EXPECT_FALSE(batch.Commit());
  EXPECT_TRUE(batch.Empty());
  nlh = batch.Begin();
  nlh->nlmsg_len = static_cast<uint32_t>(batch.Room() + 1);  // would overflow the buffer
  EXPECT_FALSE(batch.Commit());
  EXPECT_TRUE(batch.Empty());

  // Unaligned lengths are padded: every message starts 4-byte aligned.
  size_t count = 0;
  while (nlmsghdr* next = batch.Begin()) {
    next = mnl_nlmsg_put_header(next);
    next->nlmsg_len = 17;
    ASSERT_TRUE(batch.Commit());
    ++count;
    ASSERT_LT(count, 100u) << "Full() never became true";
  }
  EXPECT_TRUE(batch.Full());
  EXPECT_EQ(batch.Count(), count);
  EXPECT_EQ(count, 256u / 20 + 1);  // 20 = 17 aligned; the last one crosses the capacity
  for (size_t i = 0; i < batch.Count(); ++i) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&batch.Message(i)) % 4, 0u);
  }
  EXPECT_EQ(batch.Bytes(), count * 20);
}

TEST(NetlinkBatchTest, ClearKeepsTheBuffer) {
  NetlinkBatch batch;
  const nlmsghdr* start = nullptr;
  for (int round = 0; round < 3; ++round) {
    const nlmsghdr* first = nullptr;
    for (int i = 0; i < 64; ++i) {
      nlmsghdr* nlh = batch.Begin();
      ASSERT_NE(nlh, nullptr);
      PutGetLink(nlh, kLoopback);
      ASSERT_TRUE(batch.Commit());
      if (i == 0) first = &batch.Message(0);
    }
    // The messages never move: the buffer is allocated once.
    EXPECT_EQ(first, &batch.Message(0));
    if (start == nullptr) start = first;
    EXPECT_EQ(first, start);
    EXPECT_EQ(batch.Count(), 64u);
    batch.Clear();
    EXPECT_TRUE(batch.Empty());
    EXPECT_EQ(batch.Bytes(), 0u);
  }
}

TEST(NetlinkSocketTest, GroupsBufferAndTimeoutOptions) {
  SocketOptions options;
  options.groups = {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR};
  options.receive_timeout = std::chrono::milliseconds(250);
  options.receive_buffer_bytes = 65536;
  auto socket = NetlinkSocket::Open(options);
  ASSERT_TRUE(socket.has_value()) << socket.error().ToString();
  EXPECT_EQ(socket->ReceiveTimeout(), std::chrono::milliseconds(250));
  socket->SetReceiveTimeout(std::chrono::milliseconds(1500));
  EXPECT_EQ(socket->ReceiveTimeout(), std::chrono::milliseconds(1500));
  auto size = socket->ReceiveBuffer();
  ASSERT_TRUE(size.has_value());
  EXPECT_GE(*size, 65536);  // the kernel doubles it
  // Group numbers above 31 need NETLINK_ADD_MEMBERSHIP (no bind() mask).
  EXPECT_TRUE(socket->JoinGroup(RTNLGRP_NEXTHOP).has_value());
  EXPECT_TRUE(socket->LeaveGroup(RTNLGRP_NEXTHOP).has_value());
  auto bogus = socket->JoinGroup(100000);
  ASSERT_FALSE(bogus.has_value());
  EXPECT_EQ(bogus.error().sys_errno, EINVAL);
  EXPECT_FALSE(socket->SetReceiveBuffer(0).has_value());
  // Nothing happened in the namespace that we could rely on: drained or some
  // event, never an error or an overrun.
  auto read = socket->ReadEvents([](const nlmsghdr&) {});
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_NE(read->status, EventStatus::kOverrun);
}

TEST(NetlinkSocketTest, NetfilterFamilyOpens) {
  auto socket = NetlinkSocket::Open(Protocol::kNetfilter);
  if (!socket && socket.error().sys_errno == EPROTONOSUPPORT) {
    GTEST_SKIP() << "no nfnetlink in this kernel";
  }
  ASSERT_TRUE(socket.has_value()) << socket.error().ToString();
  EXPECT_EQ(socket->GetProtocol(), Protocol::kNetfilter);
}

TEST(NetlinkSocketTest, MovedSocketKeepsWorking) {
  auto opened = NetlinkSocket::Open();
  ASSERT_TRUE(opened.has_value());
  NetlinkSocket moved = std::move(*opened);
  std::vector<char> buffer(kRequestBufferSize);
  EXPECT_TRUE(moved.Transact(PutGetLink(buffer.data(), kLoopback), nullptr, "get lo"));
  auto other = NetlinkSocket::Open();
  ASSERT_TRUE(other.has_value());
  moved = std::move(*other);
  EXPECT_TRUE(moved.Transact(PutGetLink(buffer.data(), kLoopback), nullptr, "get lo"));
}

}  // namespace
}  // namespace hafw::netlink
