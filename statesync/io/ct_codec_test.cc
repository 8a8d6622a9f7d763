// Unit tests of the ctnetlink codec without a kernel: messages built by the
// codec are parsed back (a create carries every field a kernel dump carries)
// and their attributes are inspected. The kernel round trip is in
// ct_kernel_test.cc.

#include "statesync/io/ct_codec.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <vector>

#include "statesync/io/ct_codec_internal.h"
#include "statesync/io/ct_test_records.h"

namespace hafw::statesync::io {
namespace {

using testing::MakeIcmp;
using testing::MakeTcp;
using testing::MakeUdp;

class CtCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto codec = CtCodec::Create();
    ASSERT_TRUE(codec) << codec.error().ToString();
    codec_.emplace(std::move(*codec));
    buffer_.assign(kMaxCtMessageBytes, 0);
  }
  const nlmsghdr& Build(CtWrite write, const FlowRecord& flow, const LabelWrite* labels = nullptr) {
    auto len = codec_->BuildFlow(write, flow, labels, 7, buffer_);
    EXPECT_TRUE(len) << len.error().ToString();
    return *reinterpret_cast<const nlmsghdr*>(buffer_.data());
  }
  FlowRecord RoundTrip(CtWrite write, const FlowRecord& flow, const LabelWrite* labels = nullptr) {
    const nlmsghdr& msg = Build(write, flow, labels);
    FlowRecord parsed;
    EXPECT_EQ(codec_->ParseFlow(msg, parsed), CtParseStatus::kOk);
    return parsed;
  }
  bool HasAttr(uint16_t type) const {
    bool found = false;
    internal::ForEachTopAttr(*reinterpret_cast<const nlmsghdr*>(buffer_.data()),
                             [&](const nlattr& attr) {
                               if (mnl_attr_get_type(&attr) == type) found = true;
                             });
    return found;
  }
  const nlattr* FindAttr(uint16_t type) const {
    const nlattr* found = nullptr;
    internal::ForEachTopAttr(*reinterpret_cast<const nlmsghdr*>(buffer_.data()),
                             [&](const nlattr& attr) {
                               if (mnl_attr_get_type(&attr) == type) found = &attr;
                             });
    return found;
  }

  std::optional<CtCodec> codec_;
  std::vector<uint8_t> buffer_;
};

TEST_F(CtCodecTest, CreateCarriesEveryFieldOfATcpFlow) {
  FlowRecord flow = MakeTcp(IpFamily::kV4, 1);
  flow.mark = 0x1234;
  flow.zone = 3;
  flow.labels[0] = 0x81;   // user bits 0 and 7
  flow.labels[15] = 0x12;  // hafw bits 121 and 124
  std::memcpy(flow.helper.data(), "ftp", 3);
  flow.status |= kStatusSeqAdjust;
  flow.seq_adjust_original = {1000, 0, -1};
  flow.seq_adjust_reply = {2000, 3, 4};
  LabelWrite labels;
  labels.bits = flow.labels;
  const nlmsghdr& msg = Build(CtWrite::kCreate, flow, &labels);
  EXPECT_EQ(msg.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  EXPECT_EQ(msg.nlmsg_seq, 7U);
  EXPECT_EQ(NFNL_MSG_TYPE(msg.nlmsg_type), IPCTNL_MSG_CT_NEW);
  EXPECT_FALSE(HasAttr(CTA_LABELS_MASK));  // a create writes the whole label set
  EXPECT_FALSE(HasAttr(CTA_NAT_SRC));
  FlowRecord parsed;
  ASSERT_EQ(codec_->ParseFlow(msg, parsed), CtParseStatus::kOk);
  FlowRecord expected = flow;
  expected.status |= kStatusConfirmed;
  EXPECT_EQ(parsed, expected);
}

TEST_F(CtCodecTest, WindowTrackingFlagsAreNeverWritten) {
  FlowRecord flow = MakeTcp(IpFamily::kV4, 2);
  flow.tcp.flags_original = 0x23;  // WINDOW_SCALE | SACK_PERM | MAXACK_SET
  flow.tcp.flags_reply = 0x33;     // ... | DATA_UNACKNOWLEDGED
  const FlowRecord parsed = RoundTrip(CtWrite::kCreate, flow);
  EXPECT_EQ(parsed.tcp.flags_original, 0x03);
  EXPECT_EQ(parsed.tcp.flags_reply, 0x03);
  EXPECT_EQ(parsed.tcp.wscale_original, flow.tcp.wscale_original);
}

TEST_F(CtCodecTest, StatusBitsTheKernelRefusesAreStripped) {
  FlowRecord flow = MakeTcp(IpFamily::kV6, 3);
  flow.status |= kStatusExpected | kStatusDying | kStatusOffload | kStatusHwOffload |
                 kStatusTemplate | kStatusUntracked;
  const FlowRecord parsed = RoundTrip(CtWrite::kCreate, flow);
  EXPECT_EQ(parsed.status, kStatusSeenReply | kStatusAssured | kStatusConfirmed);
}

TEST_F(CtCodecTest, ParseStripsOffloadBits) {
  FlowRecord flow = MakeTcp(IpFamily::kV4, 4);
  Build(CtWrite::kCreate, flow);
  // Patch the status attribute as a kernel with a flowtable would report it.
  auto* status = const_cast<nlattr*>(FindAttr(CTA_STATUS));
  ASSERT_NE(status, nullptr);
  const uint32_t with_offload =
      htonl(kStatusSeenReply | kStatusAssured | kStatusConfirmed | kStatusOffload);
  std::memcpy(mnl_attr_get_payload(status), &with_offload, 4);
  FlowRecord parsed;
  ASSERT_EQ(codec_->ParseFlow(*reinterpret_cast<nlmsghdr*>(buffer_.data()), parsed),
            CtParseStatus::kOk);
  EXPECT_EQ(parsed.status & kStatusOffloadMask, 0U);
  EXPECT_NE(parsed.status & kStatusAssured, 0U);
}

TEST_F(CtCodecTest, IcmpKeepsIdTypeAndCodeOfBothTuples) {
  for (IpFamily family : {IpFamily::kV4, IpFamily::kV6}) {
    const FlowRecord flow = MakeIcmp(family, 77);
    EXPECT_EQ(RoundTrip(CtWrite::kCreate, flow).reply, flow.reply) << IpFamilyName(family);
    EXPECT_EQ(RoundTrip(CtWrite::kCreate, flow).original, flow.original);
  }
}

TEST_F(CtCodecTest, UdpAndSctpRoundTrip) {
  for (IpFamily family : {IpFamily::kV4, IpFamily::kV6}) {
    FlowRecord udp = MakeUdp(family, 5);
    FlowRecord parsed = RoundTrip(CtWrite::kCreate, udp);
    udp.status |= kStatusConfirmed;
    EXPECT_EQ(parsed, udp);
    FlowRecord sctp = MakeUdp(family, 6);
    sctp.original.l4proto = sctp.reply.l4proto = kProtoSctp;
    parsed = RoundTrip(CtWrite::kCreate, sctp);
    sctp.status |= kStatusConfirmed;
    EXPECT_EQ(parsed, sctp);
  }
}

TEST_F(CtCodecTest, SourceNatIsSentAsARangeWithTheUnNattedReply) {
  FlowRecord flow = MakeTcp(IpFamily::kV4, 8);
  const IpAddress vip = *IpAddress::Parse("203.0.113.100");
  flow.reply.dst = vip;
  flow.reply.dst_port = 40000;
  Build(CtWrite::kCreate, flow);
  const nlattr* nat = FindAttr(CTA_NAT_SRC);
  ASSERT_NE(nat, nullptr);
  EXPECT_FALSE(HasAttr(CTA_NAT_DST));
  int seen = 0;
  internal::ForEachNestedAttr(*nat, [&](const nlattr& a) {
    if (mnl_attr_get_type(&a) == CTA_NAT_V4_MINIP || mnl_attr_get_type(&a) == CTA_NAT_V4_MAXIP) {
      EXPECT_EQ(std::memcmp(mnl_attr_get_payload(&a), vip.Bytes().data(), 4), 0);
      ++seen;
    }
    if (mnl_attr_get_type(&a) == CTA_NAT_PROTO) {
      internal::ForEachNestedAttr(a, [&](const nlattr& p) {
        EXPECT_EQ(ntohs(mnl_attr_get_u16(&p)), 40000);
        ++seen;
      });
    }
  });
  EXPECT_EQ(seen, 4);
  // The reply tuple in the message is the original turned around.
  FlowRecord parsed;
  ASSERT_EQ(codec_->ParseFlow(*reinterpret_cast<nlmsghdr*>(buffer_.data()), parsed),
            CtParseStatus::kOk);
  EXPECT_EQ(parsed.reply.dst, flow.original.src);
  EXPECT_EQ(parsed.reply.dst_port, flow.original.src_port);
}

TEST_F(CtCodecTest, NatDerivation) {
  FlowRecord flow = MakeTcp(IpFamily::kV4, 9);
  EXPECT_FALSE(SourceNat(flow).present);
  EXPECT_FALSE(DestinationNat(flow).present);
  FlowRecord dnat = flow;
  dnat.reply.src = *IpAddress::Parse("192.0.2.10");
  dnat.reply.src_port = 8080;
  EXPECT_FALSE(SourceNat(dnat).present);
  ASSERT_TRUE(DestinationNat(dnat).present);
  EXPECT_EQ(DestinationNat(dnat).address, dnat.reply.src);
  EXPECT_EQ(DestinationNat(dnat).port, 8080);
  FlowRecord ports_only = flow;  // masquerade that only remapped the port
  ports_only.reply.dst_port = 55555;
  EXPECT_TRUE(SourceNat(ports_only).present);
  FlowRecord icmp = MakeIcmp(IpFamily::kV4, 10);
  icmp.reply.dst = *IpAddress::Parse("203.0.113.100");
  icmp.reply.icmp_id = 999;
  ASSERT_TRUE(SourceNat(icmp).present);
  EXPECT_EQ(SourceNat(icmp).port, 999);
  EXPECT_FALSE(DestinationNat(icmp).present);
}

TEST_F(CtCodecTest, UpdateCarriesOnlyWhatCtnetlinkLetsChange) {
  FlowRecord flow = MakeTcp(IpFamily::kV4, 11);
  flow.reply.dst = *IpAddress::Parse("203.0.113.100");  // NAT'ed
  std::memcpy(flow.helper.data(), "ftp", 3);
  LabelWrite labels;
  labels.bits[15] = 0x10;
  labels.mask[15] = 0xff;
  const nlmsghdr& msg = Build(CtWrite::kUpdate, flow, &labels);
  EXPECT_EQ(msg.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_TRUE(HasAttr(CTA_TUPLE_ORIG));
  EXPECT_FALSE(HasAttr(CTA_TUPLE_REPLY));
  EXPECT_FALSE(HasAttr(CTA_NAT_SRC));
  EXPECT_FALSE(HasAttr(CTA_HELP));
  EXPECT_TRUE(HasAttr(CTA_TIMEOUT));
  EXPECT_TRUE(HasAttr(CTA_STATUS));
  EXPECT_TRUE(HasAttr(CTA_PROTOINFO));
  EXPECT_TRUE(HasAttr(CTA_MARK));
  EXPECT_TRUE(HasAttr(CTA_LABELS));
  EXPECT_TRUE(HasAttr(CTA_LABELS_MASK));
  flow.status |= kStatusFixedTimeout;
  Build(CtWrite::kUpdate, flow, &labels);
  EXPECT_FALSE(HasAttr(CTA_TIMEOUT));  // EPERM otherwise
}

TEST_F(CtCodecTest, LabelsOnlyDeleteAndGetCarryTheKeyOnly) {
  const FlowRecord flow = MakeTcp(IpFamily::kV6, 12);
  LabelWrite labels;
  labels.bits[15] = 0x80;
  labels.mask[15] = 0x80;
  Build(CtWrite::kLabelsOnly, flow, &labels);
  EXPECT_TRUE(HasAttr(CTA_LABELS));
  EXPECT_TRUE(HasAttr(CTA_LABELS_MASK));
  EXPECT_TRUE(HasAttr(CTA_ZONE));
  EXPECT_FALSE(HasAttr(CTA_STATUS));
  EXPECT_FALSE(HasAttr(CTA_TIMEOUT));
  EXPECT_FALSE(HasAttr(CTA_PROTOINFO));
  for (CtWrite write : {CtWrite::kDelete, CtWrite::kGet}) {
    const nlmsghdr& msg = Build(write, flow);
    EXPECT_EQ(NFNL_MSG_TYPE(msg.nlmsg_type),
              write == CtWrite::kDelete ? IPCTNL_MSG_CT_DELETE : IPCTNL_MSG_CT_GET);
    EXPECT_TRUE(HasAttr(CTA_TUPLE_ORIG));
    EXPECT_FALSE(HasAttr(CTA_TUPLE_REPLY));
    EXPECT_FALSE(HasAttr(CTA_STATUS));
    EXPECT_FALSE(HasAttr(CTA_LABELS));
  }
}

TEST_F(CtCodecTest, BuildErrors) {
  const FlowRecord flow = MakeTcp(IpFamily::kV4, 13);
  std::vector<uint8_t> small(100);
  EXPECT_FALSE(codec_->BuildFlow(CtWrite::kCreate, flow, nullptr, 1, small));
  EXPECT_FALSE(codec_->BuildFlow(CtWrite::kLabelsOnly, flow, nullptr, 1, buffer_));
  FlowRecord mixed = flow;
  mixed.family = IpFamily::kV6;
  EXPECT_FALSE(codec_->BuildFlow(CtWrite::kCreate, mixed, nullptr, 1, buffer_));
}

TEST_F(CtCodecTest, ParseErrorsAndClassification) {
  const nlmsghdr& msg = Build(CtWrite::kCreate, MakeTcp(IpFamily::kV4, 14));
  EXPECT_EQ(ClassifyCtMessage(msg), CtMessageKind::kFlowNew);
  auto* header = reinterpret_cast<nlmsghdr*>(buffer_.data());
  header->nlmsg_flags = 0;
  EXPECT_EQ(ClassifyCtMessage(*header), CtMessageKind::kFlowUpdate);
  header->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
  EXPECT_EQ(ClassifyCtMessage(*header), CtMessageKind::kFlowDestroy);
  FlowRecord parsed;
  EXPECT_EQ(codec_->ParseFlow(*header, parsed), CtParseStatus::kOk);

  header->nlmsg_type = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_NEW;
  EXPECT_EQ(ClassifyCtMessage(*header), CtMessageKind::kExpectNew);
  EXPECT_EQ(codec_->ParseFlow(*header, parsed), CtParseStatus::kNotConntrack);
  header->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_get_payload(header));
  nfg->nfgen_family = AF_UNIX;
  EXPECT_EQ(codec_->ParseFlow(*header, parsed), CtParseStatus::kUnsupportedFamily);
  nfg->nfgen_family = AF_INET;
  header->nlmsg_len = NLMSG_HDRLEN;
  EXPECT_EQ(codec_->ParseFlow(*header, parsed), CtParseStatus::kTruncated);
  header->nlmsg_len = NLMSG_HDRLEN + sizeof(nfgenmsg);  // no attributes at all
  EXPECT_EQ(codec_->ParseFlow(*header, parsed), CtParseStatus::kMissingTuple);
}

TEST_F(CtCodecTest, ParseOverwritesEverythingOfThePreviousRecord) {
  FlowRecord rich = MakeTcp(IpFamily::kV4, 15);
  rich.labels[15] = 0xf0;
  rich.mark = 9;
  std::memcpy(rich.helper.data(), "ftp", 3);
  LabelWrite labels;
  labels.bits = rich.labels;
  FlowRecord parsed = RoundTrip(CtWrite::kCreate, rich, &labels);
  ASSERT_EQ(parsed.mark, 9U);
  const FlowRecord plain = MakeUdp(IpFamily::kV6, 16);
  parsed = RoundTrip(CtWrite::kCreate, plain);
  EXPECT_EQ(parsed.labels, Labels{});
  EXPECT_EQ(parsed.mark, 0U);
  EXPECT_EQ(parsed.helper[0], '\0');
  EXPECT_EQ(parsed.tcp, TcpInfo{});
}

TEST_F(CtCodecTest, ExpectationRoundTripWithNatClassAndFunction) {
  ExpectRecord expect = testing::MakeFtpExpect(IpFamily::kV4);
  expect.expect_class = 1;
  expect.nat_dir = 1;
  expect.nat_tuple.src_port = 51210;
  expect.nat_tuple.l4proto = kProtoTcp;
  auto len = codec_->BuildExpect(ExpWrite::kCreate, expect, 3, buffer_);
  ASSERT_TRUE(len) << len.error().ToString();
  const nlattr* fn = FindAttr(CTA_EXPECT_FN);
  ASSERT_NE(fn, nullptr);
  EXPECT_STREQ(mnl_attr_get_str(fn), "nat-follow-master");
  ExpectRecord parsed;
  ASSERT_EQ(codec_->ParseExpect(*reinterpret_cast<nlmsghdr*>(buffer_.data()), parsed),
            CtParseStatus::kOk);
  EXPECT_EQ(parsed.master, expect.master);
  EXPECT_EQ(parsed.expected, expect.expected);
  EXPECT_EQ(parsed.mask, expect.mask);
  EXPECT_EQ(parsed.timeout_s, expect.timeout_s);
  EXPECT_EQ(parsed.expect_class, 1U);
  EXPECT_EQ(parsed.nat_dir, 1);
  EXPECT_EQ(parsed.nat_tuple.src_port, 51210);
  EXPECT_EQ(std::string_view(parsed.helper.data()), "ftp");

  expect.nat_dir = 0xff;  // no NAT: no function either
  ASSERT_TRUE(codec_->BuildExpect(ExpWrite::kCreate, expect, 4, buffer_));
  EXPECT_FALSE(HasAttr(CTA_EXPECT_FN));
  EXPECT_FALSE(HasAttr(CTA_EXPECT_NAT));
  ASSERT_TRUE(codec_->BuildExpect(ExpWrite::kDelete, expect, 5, buffer_));
  EXPECT_TRUE(HasAttr(CTA_EXPECT_TUPLE));
  EXPECT_FALSE(HasAttr(CTA_EXPECT_MASTER));
}

TEST_F(CtCodecTest, DumpAndStatsRequests) {
  size_t len = BuildFlowDumpRequest(5, buffer_);
  auto* msg = reinterpret_cast<nlmsghdr*>(buffer_.data());
  EXPECT_EQ(len, msg->nlmsg_len);
  EXPECT_EQ(msg->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(msg->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
  BuildExpectDumpRequest(6, buffer_);
  EXPECT_EQ(msg->nlmsg_type, (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET);
  BuildFlowStatsRequest(7, buffer_);
  EXPECT_EQ(msg->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS);
  EXPECT_EQ(ParseFlowStatsEntries(*msg), -1);  // a request has no entry count
  mnl_attr_put_u32(msg, CTA_STATS_GLOBAL_ENTRIES, htonl(4242));
  EXPECT_EQ(ParseFlowStatsEntries(*msg), 4242);
}

}  // namespace
}  // namespace hafw::statesync::io
