// Real-kernel tests of the ctnetlink side in a namespace each test creates:
// codec round trips (create -> dump -> parse -> equal), the writer's error
// mapping, labels and their mask, expectations, the dump in slices. Capture is
// in ct_events_test.cc.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "statesync/io/ct_codec.h"
#include "statesync/io/ct_dump.h"
#include "statesync/io/ct_labels_table.h"
#include "statesync/io/ct_test_records.h"
#include "statesync/io/ct_timeouts.h"
#include "statesync/io/ct_writer.h"
#include "testing/netns_lab.h"

namespace hafw::statesync::io {
namespace {

using testing::MakeFtpExpect;
using testing::MakeIcmp;
using testing::MakeTcp;
using testing::MakeUdp;

// A namespace of its own with the labels table loaded, entered by the test thread.
class CtKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HAFW_REQUIRE_ROOT_OR_SKIP();
    auto ns = group_.Add("ct");
    ASSERT_TRUE(ns) << ns.error().ToString();
    ns_ = *ns;
    inside_.emplace(ns_);
    ASSERT_TRUE(inside_->Ok());
    ASSERT_TRUE(CtLabelsTable::Ensure());
    auto writer = CtWriter::Open();
    ASSERT_TRUE(writer) << writer.error().ToString();
    writer_.emplace(std::move(*writer));
    auto reader = CtDumpReader::Open();
    ASSERT_TRUE(reader) << reader.error().ToString();
    reader_.emplace(std::move(*reader));
  }
  void TearDown() override {
    reader_.reset();
    writer_.reset();
    inside_.reset();
    group_.Teardown();
  }

  std::vector<CtWriteResult> Write(const std::vector<CtFlowOp>& ops) {
    std::vector<CtWriteResult> results(ops.size());
    auto written = writer_->WriteFlows(ops, results);
    EXPECT_TRUE(written) << written.error().ToString();
    return results;
  }
  CtOutcome WriteOne(CtWrite write, const FlowRecord& flow, const LabelWrite* labels = nullptr) {
    return Write({{write, &flow, labels}})[0].outcome;
  }
  std::vector<FlowRecord> DumpAll(size_t datagrams_per_slice = 4, size_t* slices = nullptr) {
    std::vector<FlowRecord> all;
    EXPECT_TRUE(reader_->Start(CtTable::kFlows));
    for (size_t i = 0; i < 100000; ++i) {
      auto slice = reader_->Next(
          [&](std::span<const FlowRecord> records) {
            all.insert(all.end(), records.begin(), records.end());
          },
          nullptr, datagrams_per_slice);
      EXPECT_TRUE(slice) << slice.error().ToString();
      if (slices != nullptr) ++*slices;
      if (!slice || slice->done) break;
    }
    return all;
  }
  std::optional<FlowRecord> Find(const FlowTuple& original) {
    for (const FlowRecord& flow : DumpAll()) {
      if (flow.original == original) return flow;
    }
    return std::nullopt;
  }

  testkit::NetnsGroup group_;
  std::string ns_;
  std::optional<testkit::ScopedNetns> inside_;
  std::optional<CtWriter> writer_;
  std::optional<CtDumpReader> reader_;
};

// What the kernel reports for a record it was given: CONFIRMED added, the
// NAT bits it derives itself, and one second of timeout possibly gone.
void ExpectInstalled(const FlowRecord& written, const FlowRecord& dumped) {
  FlowRecord expected = written;
  expected.status |= kStatusConfirmed;
  if (SourceNat(written).present) expected.status |= kStatusSrcNat;
  if (DestinationNat(written).present) expected.status |= kStatusDstNat;
  if (SourceNat(written).present || DestinationNat(written).present) {
    expected.status |= kStatusSrcNatDone | kStatusDstNatDone;
  }
  EXPECT_LE(dumped.timeout_s, written.timeout_s);
  EXPECT_GE(dumped.timeout_s + 2, written.timeout_s);
  expected.timeout_s = dumped.timeout_s;
  EXPECT_EQ(dumped, expected) << "reply " << dumped.reply.dst.ToString() << ":"
                              << dumped.reply.dst_port << " status " << std::hex << dumped.status;
}

TEST_F(CtKernelTest, RoundTripEveryProtocolAndFamily) {
  std::vector<FlowRecord> flows;
  for (IpFamily family : {IpFamily::kV4, IpFamily::kV6}) {
    FlowRecord tcp = MakeTcp(family, 1);
    tcp.mark = 0x42;
    tcp.labels[0] = 0x01;   // a user bit
    tcp.labels[15] = 0x21;  // hafw's owner 1, generation 2
    // An FTP control connection with NAT sequence adjustment, as after a
    // rewritten PORT command.
    std::memcpy(tcp.helper.data(), "ftp", 3);
    tcp.status |= kStatusHelper | kStatusSeqAdjust;
    tcp.seq_adjust_original = {123456, 0, -1};
    tcp.seq_adjust_reply = {654321, 0, 0};
    flows.push_back(tcp);
    flows.push_back(MakeUdp(family, 2));
    flows.push_back(MakeIcmp(family, 3));
    FlowRecord sctp = MakeUdp(family, 4);
    sctp.original.l4proto = sctp.reply.l4proto = kProtoSctp;
    flows.push_back(sctp);
    FlowRecord masq = MakeTcp(family, 5);  // masqueraded to a VIP, port remapped
    masq.reply.dst = family == IpFamily::kV4 ? *IpAddress::Parse("203.0.113.100")
                                             : *IpAddress::Parse("2001:db8:2::100");
    masq.reply.dst_port = 61000;
    flows.push_back(masq);
    FlowRecord dnat = MakeUdp(family, 6);  // port forward to an inside server
    dnat.reply.src = family == IpFamily::kV4 ? *IpAddress::Parse("198.51.100.50")
                                             : *IpAddress::Parse("2001:db8:1::50");
    dnat.reply.src_port = 5353;
    flows.push_back(dnat);
    FlowRecord icmp_nat = MakeIcmp(family, 7);  // masqueraded ping, id remapped
    icmp_nat.reply.dst = masq.reply.dst;
    icmp_nat.reply.icmp_id = 4711;
    flows.push_back(icmp_nat);
  }
  std::vector<CtFlowOp> ops;
  std::vector<LabelWrite> labels(flows.size());
  for (size_t i = 0; i < flows.size(); ++i) {
    labels[i].bits = flows[i].labels;
    ops.push_back({CtWrite::kCreate, &flows[i], &labels[i]});
  }
  const auto results = Write(ops);
  for (size_t i = 0; i < flows.size(); ++i) {
    EXPECT_EQ(results[i].outcome, CtOutcome::kOk) << i << ": " << results[i].sys_errno;
  }
  const auto dumped = DumpAll();
  ASSERT_EQ(dumped.size(), flows.size());
  for (const FlowRecord& flow : flows) {
    auto it = std::find_if(dumped.begin(), dumped.end(),
                           [&](const FlowRecord& d) { return d.original == flow.original; });
    ASSERT_NE(it, dumped.end()) << flow.original.src.ToString() << " proto "
                                << int{flow.original.l4proto};
    ExpectInstalled(flow, *it);
  }
}

TEST_F(CtKernelTest, EachErrorMapsBackToItsRecord) {
  const FlowRecord a = MakeTcp(IpFamily::kV4, 10);
  const FlowRecord b = MakeTcp(IpFamily::kV4, 11);
  const FlowRecord missing = MakeTcp(IpFamily::kV4, 12);
  FlowRecord not_assured = a;
  not_assured.status &= ~kStatusAssured;  // ASSURED can only be set
  auto results = Write({{CtWrite::kCreate, &a, nullptr},
                        {CtWrite::kCreate, &a, nullptr},
                        {CtWrite::kCreate, &b, nullptr},
                        {CtWrite::kUpdate, &missing, nullptr},
                        {CtWrite::kDelete, &missing, nullptr},
                        {CtWrite::kUpdate, &not_assured, nullptr},
                        {CtWrite::kGet, &a, nullptr},
                        {CtWrite::kGet, &missing, nullptr}});
  EXPECT_EQ(results[0].outcome, CtOutcome::kOk);
  EXPECT_EQ(results[1].outcome, CtOutcome::kExists);
  EXPECT_EQ(results[2].outcome, CtOutcome::kOk);
  EXPECT_EQ(results[3].outcome, CtOutcome::kNotFound);
  EXPECT_EQ(results[4].outcome, CtOutcome::kNotFound);
  EXPECT_EQ(results[5].outcome, CtOutcome::kBusy);
  EXPECT_EQ(results[6].outcome, CtOutcome::kOk);
  ASSERT_TRUE(results[6].found);
  EXPECT_EQ(results[6].current.original, a.original);
  EXPECT_EQ(results[6].current.tcp.state, TcpState::kEstablished);
  EXPECT_EQ(results[7].outcome, CtOutcome::kNotFound);
  EXPECT_FALSE(results[7].found);
  const CtWriterCounters& counters = writer_->Counters();
  EXPECT_EQ(counters.Count(CtWrite::kCreate, CtOutcome::kOk), 2U);
  EXPECT_EQ(counters.Count(CtWrite::kCreate, CtOutcome::kExists), 1U);
  EXPECT_EQ(counters.Count(CtWrite::kUpdate, CtOutcome::kBusy), 1U);
  EXPECT_EQ(counters.datagrams, 1U);  // eight messages, one send

  FlowRecord fixed = MakeTcp(IpFamily::kV4, 13);
  fixed.status |= kStatusFixedTimeout;
  ASSERT_EQ(WriteOne(CtWrite::kCreate, fixed), CtOutcome::kOk);
  fixed.timeout_s = 100;
  EXPECT_EQ(WriteOne(CtWrite::kUpdate, fixed), CtOutcome::kOk);  // timeout left out
}

TEST_F(CtKernelTest, UpdateChangesTimeoutStateMarkAndLabels) {
  FlowRecord flow = MakeTcp(IpFamily::kV6, 20);
  flow.labels[0] = 0x02;  // a user bit
  LabelWrite create_labels;
  create_labels.bits = flow.labels;
  ASSERT_EQ(WriteOne(CtWrite::kCreate, flow, &create_labels), CtOutcome::kOk);
  flow.timeout_s = 120;
  flow.mark = 7;
  flow.tcp.state = TcpState::kFinWait;
  LabelWrite mine;  // hafw's bits only: the user bit must survive
  mine.bits[15] = 0x83;
  mine.mask[15] = 0xff;
  ASSERT_EQ(WriteOne(CtWrite::kUpdate, flow, &mine), CtOutcome::kOk);
  auto got = Find(flow.original);
  ASSERT_TRUE(got);
  EXPECT_LE(got->timeout_s, 120U);
  EXPECT_GE(got->timeout_s, 118U);
  EXPECT_EQ(got->mark, 7U);
  EXPECT_EQ(got->tcp.state, TcpState::kFinWait);
  EXPECT_EQ(got->labels[0], 0x02);
  EXPECT_EQ(got->labels[15], 0x83);

  LabelWrite clear_stale;  // labels-only: clear bit 127, nothing else
  clear_stale.mask[15] = 0x80;
  ASSERT_EQ(WriteOne(CtWrite::kLabelsOnly, flow, &clear_stale), CtOutcome::kOk);
  got = Find(flow.original);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->labels[15], 0x03);
  EXPECT_EQ(got->labels[0], 0x02);
}

TEST_F(CtKernelTest, EntriesFromBeforeTheLabelsTableCannotBeLabelled) {
  ASSERT_TRUE(CtLabelsTable::Remove());
  auto present = CtLabelsTable::Present();
  ASSERT_TRUE(present);
  EXPECT_FALSE(*present);
  const FlowRecord early = MakeTcp(IpFamily::kV4, 30);
  ASSERT_EQ(WriteOne(CtWrite::kCreate, early), CtOutcome::kOk);
  ASSERT_TRUE(CtLabelsTable::Ensure());
  const FlowRecord late = MakeTcp(IpFamily::kV4, 31);
  ASSERT_EQ(WriteOne(CtWrite::kCreate, late), CtOutcome::kOk);
  LabelWrite stale;
  stale.bits[15] = 0x80;
  stale.mask[15] = 0x80;
  EXPECT_EQ(WriteOne(CtWrite::kLabelsOnly, early, &stale), CtOutcome::kNoLabels);
  EXPECT_EQ(WriteOne(CtWrite::kLabelsOnly, late, &stale), CtOutcome::kOk);
  ASSERT_TRUE(CtLabelsTable::Ensure());  // idempotent
}

TEST_F(CtKernelTest, DumpComesInSlices) {
  constexpr size_t kFlows = 3000;
  std::vector<FlowRecord> flows;
  flows.reserve(kFlows);
  for (uint32_t i = 0; i < kFlows; ++i) {
    FlowRecord flow = MakeUdp(IpFamily::kV4, 0);
    flow.original.src_port = flow.reply.dst_port = static_cast<uint16_t>(10000 + i);
    flows.push_back(flow);
  }
  std::vector<CtFlowOp> ops;
  ops.reserve(flows.size());
  for (const FlowRecord& flow : flows) ops.push_back({CtWrite::kCreate, &flow, nullptr});
  const auto results = Write(ops);
  EXPECT_EQ(std::count_if(results.begin(), results.end(),
                          [](const CtWriteResult& r) { return r.outcome == CtOutcome::kOk; }),
            static_cast<long>(kFlows));
  EXPECT_EQ(writer_->Counters().datagrams, (kFlows + 63) / 64);
  size_t slices = 0;
  EXPECT_EQ(DumpAll(1, &slices).size(), kFlows);
  EXPECT_GT(slices, 5U);  // one datagram per slice holds about a hundred entries
  EXPECT_EQ(reader_->Counters().completed, 1U);
  auto count = writer_->TableCount();
  ASSERT_TRUE(count) << count.error().ToString();
  EXPECT_EQ(*count, kFlows);
  // Deleting in the same batched way empties the table.
  for (CtFlowOp& op : ops) op.write = CtWrite::kDelete;
  Write(ops);
  EXPECT_TRUE(DumpAll().empty());
}

TEST_F(CtKernelTest, RestartDuringADumpReadsTheOldOneAway) {
  std::vector<FlowRecord> flows;
  for (uint32_t i = 0; i < 1000; ++i) {
    FlowRecord flow = MakeUdp(IpFamily::kV6, 0);
    flow.original.src_port = flow.reply.dst_port = static_cast<uint16_t>(40000 + i);
    flows.push_back(flow);
  }
  std::vector<CtFlowOp> ops;
  ops.reserve(flows.size());
  for (const FlowRecord& flow : flows) ops.push_back({CtWrite::kCreate, &flow, nullptr});
  Write(ops);
  ASSERT_TRUE(reader_->Start(CtTable::kFlows));
  size_t first = 0;
  auto slice = reader_->Next([&](std::span<const FlowRecord> r) { first += r.size(); }, nullptr, 1);
  ASSERT_TRUE(slice);
  ASSERT_FALSE(slice->done);
  EXPECT_LT(first, flows.size());
  // A new dump while the first is unfinished: the kernel allows one per socket.
  EXPECT_EQ(DumpAll().size(), flows.size());
  EXPECT_EQ(reader_->Counters().abandoned, 1U);
  EXPECT_EQ(reader_->Counters().completed, 2U);
}

TEST_F(CtKernelTest, ExpectationNeedsAMasterWithItsHelper) {
  FlowRecord master = MakeTcp(IpFamily::kV4, 1);
  master.original.dst_port = master.reply.src_port = 21;
  std::memcpy(master.helper.data(), "ftp", 3);
  master.status |= kStatusHelper;
  ASSERT_EQ(WriteOne(CtWrite::kCreate, master), CtOutcome::kOk);
  auto got = Find(master.original);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string_view(got->helper.data()), "ftp");

  ExpectRecord expect = MakeFtpExpect(IpFamily::kV4);
  std::vector<CtWriteResult> results(1);
  const CtExpectOp create{ExpWrite::kCreate, &expect};
  ASSERT_TRUE(writer_->WriteExpectations({&create, 1}, results));
  EXPECT_EQ(results[0].outcome, CtOutcome::kOk) << results[0].sys_errno;

  std::vector<ExpectRecord> dumped;
  ASSERT_TRUE(reader_->Start(CtTable::kExpectations));
  for (int i = 0; i < 10; ++i) {
    auto slice = reader_->Next(nullptr, [&](std::span<const ExpectRecord> records) {
      dumped.insert(dumped.end(), records.begin(), records.end());
    });
    ASSERT_TRUE(slice);
    if (slice->done) break;
  }
  ASSERT_EQ(dumped.size(), 1U);
  EXPECT_EQ(dumped[0].master, expect.master);
  EXPECT_EQ(dumped[0].expected, expect.expected);
  EXPECT_EQ(dumped[0].mask, expect.mask);
  EXPECT_EQ(std::string_view(dumped[0].helper.data()), "ftp");

  // The same expectation on a master without its helper.
  ASSERT_EQ(WriteOne(CtWrite::kDelete, master), CtOutcome::kOk);
  master.helper.fill('\0');
  master.status &= ~kStatusHelper;
  ASSERT_EQ(WriteOne(CtWrite::kCreate, master), CtOutcome::kOk);
  ASSERT_TRUE(writer_->WriteExpectations({&create, 1}, results));
  EXPECT_EQ(results[0].outcome, CtOutcome::kNotSupported);
  // No master at all.
  ASSERT_EQ(WriteOne(CtWrite::kDelete, master), CtOutcome::kOk);
  ASSERT_TRUE(writer_->WriteExpectations({&create, 1}, results));
  EXPECT_EQ(results[0].outcome, CtOutcome::kNotFound);
}

TEST_F(CtKernelTest, FullTableAnswersTableFull) {
  // The namespace's limit (read-only inside it; 262,144 on the lab machine).
  auto table_max = ReadConntrackMax();
  ASSERT_TRUE(table_max) << table_max.error().ToString();
  const uint64_t max = *table_max;
  ASSERT_GT(max, 0U);
  if (max > 300000) GTEST_SKIP() << "nf_conntrack_max " << max << ": too large to fill here";
  std::vector<FlowRecord> flows(4096);
  std::vector<CtFlowOp> ops(flows.size());
  std::vector<CtWriteResult> results(flows.size());
  uint64_t created = 0;
  uint64_t full = 0;
  for (uint32_t round = 0; full == 0 && round < 100; ++round) {
    for (uint32_t i = 0; i < flows.size(); ++i) {
      const uint32_t n = round * static_cast<uint32_t>(flows.size()) + i;
      FlowRecord& flow = flows[i];
      // ASSURED entries: at the limit the kernel early-drops unassured ones
      // to make room, so only a table of assured entries answers ENOMEM.
      flow = MakeTcp(IpFamily::kV4, 0);
      flow.original.src = IpAddress::V4({198, 51, 100, static_cast<uint8_t>(1 + n / 60000)});
      flow.original.src_port = static_cast<uint16_t>(1024 + n % 60000);
      flow.reply.dst = flow.original.src;
      flow.reply.dst_port = flow.original.src_port;
      ops[i] = {CtWrite::kCreate, &flow, nullptr};
    }
    ASSERT_TRUE(writer_->WriteFlows(ops, results));
    for (const CtWriteResult& r : results) {
      if (r.outcome == CtOutcome::kOk) ++created;
      if (r.outcome == CtOutcome::kTableFull) ++full;
    }
    if (full > 0) break;
  }
  EXPECT_EQ(created, max);
  EXPECT_GT(full, 0U);
  EXPECT_EQ(writer_->Counters().Count(CtWrite::kCreate, CtOutcome::kTableFull), full);
  auto count = writer_->TableCount();
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, max);
}

TEST_F(CtKernelTest, TimeoutsComeFromTheNamespace) {
  ASSERT_EQ(group_.Sysctl(ns_, "net.netfilter.nf_conntrack_udp_timeout=17"), 0);
  ASSERT_EQ(group_.Sysctl(ns_, "net.netfilter.nf_conntrack_tcp_timeout_established=4321"), 0);
  auto timeouts = ReadCtTimeouts();
  ASSERT_TRUE(timeouts) << timeouts.error().ToString();
  EXPECT_EQ(timeouts->udp, 17U);
  EXPECT_EQ(timeouts->tcp[static_cast<size_t>(TcpState::kEstablished)], 4321U);
  EXPECT_GT(timeouts->udp_stream, 0U);
  EXPECT_GT(timeouts->icmp, 0U);
  EXPECT_EQ(timeouts->tcp[static_cast<size_t>(TcpState::kNone)], 0U);
  EXPECT_EQ(timeouts->tcp[static_cast<size_t>(TcpState::kSynSent2)],
            timeouts->tcp[static_cast<size_t>(TcpState::kSynSent)]);
}

}  // namespace
}  // namespace hafw::statesync::io
