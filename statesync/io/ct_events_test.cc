// Capture against the real kernel in a namespace the test creates: event
// kinds and records, the echo filter by port id (in the kernel and in
// userspace), the Asio loop in slices, and ENOBUFS on a small buffer.

#include "statesync/io/ct_events.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <vector>

#include "statesync/io/ct_labels_table.h"
#include "statesync/io/ct_test_records.h"
#include "statesync/io/ct_writer.h"
#include "testing/netns_lab.h"

namespace hafw::statesync::io {
namespace {

using testing::MakeTcp;
using testing::MakeUdp;

class CtEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HAFW_REQUIRE_ROOT_OR_SKIP();
    auto ns = group_.Add("ev");
    ASSERT_TRUE(ns) << ns.error().ToString();
    inside_.emplace(*ns);
    ASSERT_TRUE(inside_->Ok());
    // Events exist only for entries created while a listener exists, unless
    // nf_conntrack_events is 1 (docs/statesync-kernel.md).
    ASSERT_TRUE(EnableConntrackEvents());
    std::string value;
    ASSERT_EQ(group_.Exec(*ns, {"sysctl", "-n", "net.netfilter.nf_conntrack_events"}, &value), 0);
    ASSERT_EQ(value, "1\n");
    ASSERT_TRUE(CtLabelsTable::Ensure());
    auto ours = CtWriter::Open();
    auto theirs = CtWriter::Open();
    ASSERT_TRUE(ours && theirs);
    ours_.emplace(std::move(*ours));
    theirs_.emplace(std::move(*theirs));
  }
  void TearDown() override {
    source_.reset();
    ours_.reset();
    theirs_.reset();
    inside_.reset();
    group_.Teardown();
  }
  void OpenSource(CtEventOptions options = {}) {
    CtEventHandlers handlers;
    handlers.on_flows = [this](std::span<const FlowEntry> flows) {
      seen_.insert(seen_.end(), flows.begin(), flows.end());
    };
    handlers.on_expectations = [this](std::span<const ExpectEntry> e) { expects_ += e.size(); };
    handlers.on_overrun = [this] { ++overruns_; };
    auto source = CtEventSource::Open(io_, options, std::move(handlers));
    ASSERT_TRUE(source) << source.error().ToString();
    source_ = std::move(*source);
    ASSERT_TRUE(source_->SetEchoPortId(ours_->PortId()));
  }
  static void WriteOne(CtWriter& writer, CtWrite write, const FlowRecord& flow) {
    std::vector<CtWriteResult> results(1);
    const CtFlowOp op{write, &flow, nullptr};
    ASSERT_TRUE(writer.WriteFlows({&op, 1}, results));
    ASSERT_EQ(results[0].outcome, CtOutcome::kOk) << results[0].sys_errno;
  }
  void Drain() {
    for (int i = 0; i < 1000; ++i) {
      auto status = source_->ReadSlice();
      ASSERT_TRUE(status) << status.error().ToString();
      if (*status == netlink::EventStatus::kDrained) return;
    }
  }

  testkit::NetnsGroup group_;
  std::optional<testkit::ScopedNetns> inside_;
  boost::asio::io_context io_;
  std::optional<CtWriter> ours_;
  std::optional<CtWriter> theirs_;
  std::unique_ptr<CtEventSource> source_;
  std::vector<FlowEntry> seen_;
  size_t expects_ = 0;
  int overruns_ = 0;
};

TEST_F(CtEventsTest, NewUpdateDestroyAndEchoFilter) {
  OpenSource();
  const FlowRecord mine = MakeTcp(IpFamily::kV4, 1);
  FlowRecord other = MakeUdp(IpFamily::kV6, 2);
  WriteOne(*ours_, CtWrite::kCreate, mine);     // an echo: never delivered
  WriteOne(*theirs_, CtWrite::kCreate, other);  // as if the kernel's own
  other.timeout_s = 60;
  WriteOne(*theirs_, CtWrite::kUpdate, other);
  WriteOne(*theirs_, CtWrite::kDelete, other);
  WriteOne(*ours_, CtWrite::kDelete, mine);
  Drain();
  ASSERT_EQ(seen_.size(), 3U);
  EXPECT_EQ(seen_[0].event, FlowEvent::kNew);
  EXPECT_EQ(seen_[0].flow.original, other.original);
  EXPECT_EQ(seen_[0].flow.reply, other.reply);
  EXPECT_EQ(seen_[0].owner, 0);
  EXPECT_EQ(seen_[1].event, FlowEvent::kUpdate);
  EXPECT_LE(seen_[1].flow.timeout_s, 60U);
  EXPECT_EQ(seen_[2].event, FlowEvent::kDestroy);
  EXPECT_EQ(seen_[2].flow.original, other.original);
  const CtEventCounters& counters = source_->Counters();
  EXPECT_EQ(counters.flow_new, 1U);
  EXPECT_EQ(counters.flow_update, 1U);
  EXPECT_EQ(counters.flow_destroy, 1U);
  // The kernel filter drops echoes before they are queued; none reach us.
  EXPECT_EQ(counters.echoes, 0U);
  EXPECT_EQ(overruns_, 0);
}

TEST_F(CtEventsTest, TheLoopReadsInSlices) {
  CtEventOptions options;
  options.max_datagrams_per_slice = 2;
  OpenSource(options);
  source_->Start();
  constexpr uint32_t kFlows = 500;
  std::vector<FlowRecord> flows;
  for (uint32_t i = 0; i < kFlows; ++i) {
    FlowRecord flow = MakeUdp(IpFamily::kV4, 0);
    flow.original.src_port = flow.reply.dst_port = static_cast<uint16_t>(20000 + i);
    flows.push_back(flow);
  }
  std::vector<CtFlowOp> ops;
  ops.reserve(flows.size());
  for (const FlowRecord& flow : flows) ops.push_back({CtWrite::kCreate, &flow, nullptr});
  std::vector<CtWriteResult> results(ops.size());
  ASSERT_TRUE(theirs_->WriteFlows(ops, results));
  EXPECT_TRUE(testkit::RunUntil(io_, [&] { return seen_.size() == kFlows; }));
  EXPECT_EQ(seen_.size(), kFlows);
  // Each handler run read at most two datagrams, so there were many runs.
  EXPECT_GE(source_->Counters().slices, kFlows / 2 / 64);
  source_->Stop();
}

TEST_F(CtEventsTest, OverrunIsReportedAndCounted) {
  CtEventOptions options;
  options.receive_buffer_bytes = 4096;  // the kernel doubles it; still tiny
  OpenSource(options);
  std::vector<FlowRecord> flows;
  for (uint32_t i = 0; i < 2000; ++i) {
    FlowRecord flow = MakeUdp(IpFamily::kV4, 0);
    flow.original.src_port = flow.reply.dst_port = static_cast<uint16_t>(30000 + i);
    flows.push_back(flow);
  }
  std::vector<CtFlowOp> ops;
  ops.reserve(flows.size());
  for (const FlowRecord& flow : flows) ops.push_back({CtWrite::kCreate, &flow, nullptr});
  std::vector<CtWriteResult> results(ops.size());
  ASSERT_TRUE(theirs_->WriteFlows(ops, results));  // nobody reads meanwhile
  Drain();
  EXPECT_EQ(overruns_, 1);
  EXPECT_EQ(source_->Counters().overruns, 1U);
  EXPECT_LT(seen_.size(), flows.size());
  // After the report the socket works again.
  seen_.clear();
  FlowRecord after = MakeTcp(IpFamily::kV4, 9);
  WriteOne(*theirs_, CtWrite::kCreate, after);
  Drain();
  ASSERT_EQ(seen_.size(), 1U);
  EXPECT_EQ(seen_[0].flow.original, after.original);
}

}  // namespace
}  // namespace hafw::statesync::io
