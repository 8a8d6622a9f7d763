// Notifications as the kernel sends them (built here with libmnl), fed
// through HandleNotification into a TableWatch.

#include "firewall/nft/nft_notifications.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <array>
#include <string>

#include <gtest/gtest.h>

namespace hafw::firewall::nft {
namespace {

constexpr uint32_t kOwnPort = 777;
constexpr uint32_t kUserPort = 31337;

class Message {
 public:
  // An nftables notification of `msg_type` from `port`, for `table` when given.
  Message(uint16_t msg_type, uint8_t family, uint32_t port, const char* table) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg_type);
    nlh_->nlmsg_pid = port;
    auto* gen = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(nfgenmsg)));
    gen->nfgen_family = family;
    gen->version = NFNETLINK_V0;
    if (table != nullptr) mnl_attr_put_strz(nlh_, 1, table);
  }
  const nlmsghdr& Get() const { return *nlh_; }

 private:
  std::array<char, 256> buf_{};
  nlmsghdr* nlh_;
};

TEST(NftNotifications, UserFlushOfOurTableEndsInARestore) {
  TableWatch watch("hafw", kOwnPort);
  EXPECT_FALSE(
      HandleNotification(Message(NFT_MSG_DELRULE, NFPROTO_INET, kUserPort, "hafw").Get(), watch));
  EXPECT_FALSE(
      HandleNotification(Message(NFT_MSG_DELTABLE, NFPROTO_INET, kUserPort, "hafw").Get(), watch));
  EXPECT_TRUE(
      HandleNotification(Message(NFT_MSG_NEWGEN, NFPROTO_UNSPEC, kUserPort, nullptr).Get(), watch));
}

TEST(NftNotifications, EveryObjectKindCounts) {
  for (uint16_t type : {NFT_MSG_NEWTABLE, NFT_MSG_DELCHAIN, NFT_MSG_NEWRULE, NFT_MSG_DELSET,
                        NFT_MSG_NEWSETELEM, NFT_MSG_DELOBJ, NFT_MSG_DELFLOWTABLE}) {
    TableWatch watch("hafw", kOwnPort);
    HandleNotification(Message(type, NFPROTO_INET, kUserPort, "hafw").Get(), watch);
    EXPECT_TRUE(HandleNotification(Message(NFT_MSG_NEWGEN, 0, kUserPort, nullptr).Get(), watch))
        << type;
  }
}

TEST(NftNotifications, OurOwnTransactionIsIgnored) {
  TableWatch watch("hafw", kOwnPort);
  HandleNotification(Message(NFT_MSG_DELTABLE, NFPROTO_INET, kOwnPort, "hafw").Get(), watch);
  HandleNotification(Message(NFT_MSG_NEWTABLE, NFPROTO_INET, kOwnPort, "hafw").Get(), watch);
  EXPECT_FALSE(HandleNotification(Message(NFT_MSG_NEWGEN, 0, kOwnPort, nullptr).Get(), watch));
}

TEST(NftNotifications, OtherTablesAndFamiliesAreIgnored) {
  TableWatch watch("hafw", kOwnPort);
  HandleNotification(Message(NFT_MSG_DELTABLE, NFPROTO_INET, kUserPort, "filter").Get(), watch);
  HandleNotification(Message(NFT_MSG_DELTABLE, NFPROTO_IPV4, kUserPort, "hafw").Get(), watch);
  EXPECT_FALSE(HandleNotification(Message(NFT_MSG_NEWGEN, 0, kUserPort, nullptr).Get(), watch));
}

TEST(NftNotifications, ForeignAndMalformedMessagesAreIgnored) {
  TableWatch watch("hafw", kOwnPort);
  // A conntrack message (another subsystem) and a message too short for its header.
  Message ct(NFT_MSG_DELTABLE, NFPROTO_INET, kUserPort, "hafw");
  nlmsghdr other = ct.Get();
  other.nlmsg_type = static_cast<uint16_t>(NFNL_SUBSYS_CTNETLINK << 8);
  other.nlmsg_len = NLMSG_HDRLEN;
  EXPECT_FALSE(HandleNotification(other, watch));
  nlmsghdr short_msg = ct.Get();
  short_msg.nlmsg_len = NLMSG_HDRLEN;
  EXPECT_FALSE(HandleNotification(short_msg, watch));
  // A rule without a table attribute.
  HandleNotification(Message(NFT_MSG_DELRULE, NFPROTO_INET, kUserPort, nullptr).Get(), watch);
  EXPECT_FALSE(HandleNotification(Message(NFT_MSG_NEWGEN, 0, kUserPort, nullptr).Get(), watch));
}

}  // namespace
}  // namespace hafw::firewall::nft
