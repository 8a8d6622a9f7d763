// Round trips through FrameEncoder and FrameDecoder: every field of every
// message, the frame layout against the generated protobuf code, streams split
// at every byte boundary and several frames in one read, and what the encoder
// refuses to send.

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "hafw/sync/v1/sync.pb.h"
#include "statesync/wire/frame_encoder.h"
#include "statesync/wire/wire_samples.h"
#include "statesync/wire/wire_test_util.h"

namespace hafw::statesync {
namespace {

namespace pb = ::hafw::sync::v1;

constexpr BatchHeader kLive{1, BatchKind::kLive, 0, 1500};

std::vector<uint8_t> EncodeBatch(const BatchHeader& header, std::span<const FlowEntry> flows,
                                 std::span<const ExpectEntry> expectations = {}) {
  FrameEncoder encoder;
  std::vector<uint8_t> out;
  const auto size = encoder.Encode(header, flows, expectations, out);
  EXPECT_TRUE(size.has_value()) << (size ? "" : size.error().ToString());
  EXPECT_EQ(size.value_or(0), out.size());
  return out;
}

template <typename Message>
std::vector<uint8_t> EncodeOne(const Message& message) {
  FrameEncoder encoder;
  std::vector<uint8_t> out;
  const auto size = encoder.Encode(message, out);
  EXPECT_TRUE(size.has_value()) << (size ? "" : size.error().ToString());
  return out;
}

OwnedBatch RoundTripBatch(const BatchHeader& header, std::span<const FlowEntry> flows,
                          std::span<const ExpectEntry> expectations = {}) {
  const DecodeRun run = DecodeStream(EncodeBatch(header, flows, expectations));
  EXPECT_FALSE(run.failure.has_value()) << WireDropReasonName(*run.failure);
  EXPECT_EQ(run.messages.size(), 1U);
  if (run.messages.size() != 1 || !std::holds_alternative<OwnedBatch>(run.messages[0])) {
    return {};
  }
  return std::get<OwnedBatch>(run.messages[0]);
}

void ExpectFlowRoundTrip(const FlowEntry& flow) {
  const OwnedBatch batch = RoundTripBatch(kLive, std::span(&flow, 1));
  ASSERT_EQ(batch.flows.size(), 1U);
  EXPECT_TRUE(Same(batch.flows[0], flow));
}

void ExpectExpectationRoundTrip(const ExpectEntry& expect) {
  const OwnedBatch batch = RoundTripBatch(kLive, {}, std::span(&expect, 1));
  ASSERT_EQ(batch.expectations.size(), 1U);
  EXPECT_TRUE(Same(batch.expectations[0], expect));
}

template <typename Message>
OwnedMessage RoundTripOne(const Message& message) {
  const DecodeRun run = DecodeStream(EncodeOne(message));
  EXPECT_FALSE(run.failure.has_value()) << WireDropReasonName(*run.failure);
  EXPECT_EQ(run.messages.size(), 1U);
  return run.messages.empty() ? OwnedMessage{} : run.messages[0];
}

TEST(FrameCodecTest, EverySampleFlowRoundTrips) {
  for (const FlowEntry& flow : SampleFlows()) {
    SCOPED_TRACE(static_cast<int>(flow.flow.original.l4proto));
    ExpectFlowRoundTrip(flow);
  }
  ExpectFlowRoundTrip(SampleLargestFlow());
  ExpectFlowRoundTrip(FlowEntry{});  // all zero: IPv4 0.0.0.0, no ports
}

TEST(FrameCodecTest, EverySampleExpectationRoundTrips) {
  for (const ExpectEntry& expect : SampleExpectations()) ExpectExpectationRoundTrip(expect);
  ExpectExpectationRoundTrip(SampleLargestExpectation());
  ExpectExpectationRoundTrip(ExpectEntry{});
  ExpectEntry original_dir = SampleFtpExpectationV4Nat();
  original_dir.expect.nat_dir = 0;
  ExpectExpectationRoundTrip(original_dir);
}

TEST(FrameCodecTest, MixedBatchRoundTripsInOrder) {
  const std::vector<FlowEntry> flows = SampleFlowBatch(64, 7);
  const std::vector<ExpectEntry> expectations = SampleExpectations();
  const OwnedBatch batch = RoundTripBatch(kLive, flows, expectations);
  EXPECT_TRUE(Same(batch, OwnedBatch{kLive, flows, expectations}));
}

TEST(FrameCodecTest, EveryEnumValueRoundTrips) {
  for (const FlowEvent event :
       {FlowEvent::kNew, FlowEvent::kUpdate, FlowEvent::kDestroy, FlowEvent::kRefresh}) {
    FlowEntry flow = SampleTcpV4Masqueraded();
    flow.event = event;
    ExpectFlowRoundTrip(flow);
  }
  for (int state = 0; state <= static_cast<int>(TcpState::kSynSent2); ++state) {
    FlowEntry flow = SampleRefreshV6();
    flow.flow.tcp.state = static_cast<TcpState>(state);
    ExpectFlowRoundTrip(flow);
  }
  for (const BulkState state :
       {BulkState::kNone, BulkState::kReceiving, BulkState::kDone, BulkState::kGivenUp}) {
    Hello hello = SampleHello();
    hello.bulk_state = state;
    EXPECT_TRUE(Same(RoundTripOne(hello), OwnedMessage{hello}));
    Heartbeat heartbeat = SampleHeartbeat();
    heartbeat.bulk_state = state;
    EXPECT_TRUE(Same(RoundTripOne(heartbeat), OwnedMessage{heartbeat}));
  }
  const FlowEntry flow = SampleUdpV6();
  for (const BatchHeader& header :
       {BatchHeader{9, BatchKind::kLive, 0, 0}, BatchHeader{10, BatchKind::kRefresh, 0, 77},
        BatchHeader{0, BatchKind::kBulk, 3, 12345678901ULL}}) {
    const OwnedBatch batch = RoundTripBatch(header, std::span(&flow, 1));
    EXPECT_TRUE(Same(batch, OwnedBatch{header, {flow}, {}}));
  }
}

TEST(FrameCodecTest, EveryOwnerLabelAndHelperLengthRoundTrips) {
  for (uint8_t owner = 0; owner <= 15; ++owner) {
    FlowEntry flow = SampleTcpV4Masqueraded();
    flow.owner = owner;
    ExpectFlowRoundTrip(flow);
  }
  for (size_t bit = 0; bit < 128; bit += 9) {
    FlowEntry flow = SampleUdpV6();
    flow.flow.labels = {};
    flow.flow.labels[bit / 8] = static_cast<uint8_t>(1U << (bit % 8));
    ExpectFlowRoundTrip(flow);
  }
  for (size_t length = 0; length < kHelperNameMax; ++length) {
    FlowEntry flow = SampleTcpV4Masqueraded();
    flow.flow.helper.fill('\0');
    std::memset(flow.flow.helper.data(), 'h', length);
    ExpectFlowRoundTrip(flow);
    ExpectEntry expect = SampleExpectationV6();
    expect.expect.helper = flow.flow.helper;
    ExpectExpectationRoundTrip(expect);
  }
}

TEST(FrameCodecTest, ControlMessagesRoundTrip) {
  EXPECT_TRUE(Same(RoundTripOne(SampleHello()), OwnedMessage{SampleHello()}));
  EXPECT_TRUE(Same(RoundTripOne(SampleHeartbeat()), OwnedMessage{SampleHeartbeat()}));
  EXPECT_TRUE(Same(RoundTripOne(SampleAck()), OwnedMessage{SampleAck()}));
  EXPECT_TRUE(Same(RoundTripOne(SampleBulkRequest()), OwnedMessage{SampleBulkRequest()}));
  EXPECT_TRUE(Same(RoundTripOne(SampleBulkStart()), OwnedMessage{SampleBulkStart()}));
  EXPECT_TRUE(Same(RoundTripOne(SampleBulkEnd()), OwnedMessage{SampleBulkEnd()}));
  // Zero values are not sent (proto3) and still come back as zero.
  EXPECT_TRUE(Same(RoundTripOne(Ack{}), OwnedMessage{Ack{}}));
  EXPECT_TRUE(Same(RoundTripOne(BulkEnd{}), OwnedMessage{BulkEnd{}}));
  Hello longest = SampleHello();
  longest.node.fill('n');
  longest.node.back() = '\0';  // 63 bytes: the longest with its NUL
  longest.node_index = 15;
  longest.major = 7;
  longest.minor = 99;
  EXPECT_TRUE(Same(RoundTripOne(longest), OwnedMessage{longest}));
}

// The hand-written Frame envelope is exactly what the generated code writes and reads.
TEST(FrameCodecTest, FramesAreGeneratedProtobufFrames) {
  const std::vector<FlowEntry> flows = SampleFlows();
  const std::vector<uint8_t> bytes = EncodeBatch(kLive, flows, SampleExpectations());
  ASSERT_GT(bytes.size(), kFrameHeaderBytes);
  const uint32_t length = (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
                          (uint32_t{bytes[2]} << 8) | bytes[3];
  ASSERT_EQ(length, bytes.size() - kFrameHeaderBytes);
  pb::Frame frame;
  ASSERT_TRUE(frame.ParseFromArray(bytes.data() + kFrameHeaderBytes, static_cast<int>(length)));
  ASSERT_EQ(frame.body_case(), pb::Frame::kBatch);
  EXPECT_EQ(frame.batch().seq(), 1U);
  EXPECT_EQ(frame.batch().kind(), pb::BATCH_KIND_LIVE);
  EXPECT_EQ(frame.batch().first_event_age_us(), 1500U);
  ASSERT_EQ(frame.batch().flows_size(), static_cast<int>(flows.size()));
  const pb::Flow& tcp = frame.batch().flows(0);
  EXPECT_EQ(tcp.event(), pb::FLOW_EVENT_UPDATE);
  EXPECT_EQ(tcp.family(), pb::IP_FAMILY_IPV4);
  EXPECT_EQ(tcp.original().src(), std::string("\xc0\x00\x02\x0a", 4));
  EXPECT_EQ(tcp.reply().dst(), std::string("\xc6\x33\x64\x01", 4));  // the masquerade address
  EXPECT_EQ(tcp.tcp().state(), pb::TCP_STATE_ESTABLISHED);
  EXPECT_EQ(tcp.helper(), "ftp");
  EXPECT_EQ(tcp.labels().size(), 16U);
  EXPECT_EQ(tcp.seq_adjust_reply().offset_after(), -5);
  EXPECT_EQ(frame.batch().flows(2).original().src().size(), 16U);  // IPv6
  EXPECT_FALSE(frame.batch().flows(3).has_tcp());                  // ICMP: no TCP info
  EXPECT_TRUE(frame.batch().flows(3).labels().empty());            // all-zero labels: not sent
  EXPECT_EQ(frame.batch().expectations(0).nat().dir(), pb::DIRECTION_REPLY);
  EXPECT_FALSE(frame.batch().expectations(1).has_nat());

  // And the other way: a Frame serialized by the generated code decodes.
  pb::Frame hello;
  hello.mutable_hello()->set_node("fw2");
  hello.mutable_hello()->set_node_index(2);
  hello.mutable_hello()->set_config_digest(std::string(kConfigDigestBytes, 'd'));
  hello.mutable_hello()->set_bulk_state(pb::BULK_STATE_DONE);
  const DecodeRun run = DecodeStream(Prefix(hello.SerializeAsString()));
  ASSERT_EQ(run.messages.size(), 1U);
  const Hello& decoded = std::get<Hello>(run.messages[0]);
  EXPECT_EQ(std::string(decoded.node.data()), "fw2");
  EXPECT_EQ(decoded.node_index, 2U);
  EXPECT_EQ(decoded.bulk_state, BulkState::kDone);
}

std::vector<uint8_t> SessionStream() {
  for (const auto& [name, bytes] : SampleCorpus()) {
    if (name == "stream_session") return bytes;
  }
  ADD_FAILURE() << "no stream_session in the corpus";
  return {};
}

TEST(FrameCodecTest, SeveralFramesInOneRead) {
  const std::vector<uint8_t> stream = SessionStream();
  FrameDecoder decoder;
  std::span<const uint8_t> input(stream);
  std::vector<size_t> left;
  while (decoder.Decode(input) == DecodeStatus::kFrame) left.push_back(input.size());
  EXPECT_TRUE(input.empty());
  EXPECT_FALSE(decoder.Failure().has_value());
  ASSERT_EQ(left.size(), 9U);  // one per frame, each leaving the rest of the read
  EXPECT_EQ(left.back(), 0U);
  for (size_t i = 1; i < left.size(); ++i) EXPECT_LT(left[i], left[i - 1]);
  EXPECT_EQ(decoder.FramesDecoded(), 9U);
  EXPECT_EQ(decoder.Buffered(), 0U);
}

TEST(FrameCodecTest, SplitAtEveryByteBoundaryDecodesTheSame) {
  const std::vector<uint8_t> stream = SessionStream();
  const DecodeRun whole = DecodeStream(stream);
  ASSERT_FALSE(whole.failure.has_value());
  ASSERT_EQ(whole.messages.size(), 9U);
  for (size_t split = 0; split <= stream.size(); ++split) {
    FrameDecoder decoder;
    DecodeRun run = DecodeStream(decoder, std::span(stream).first(split));
    const DecodeRun rest = DecodeStream(decoder, std::span(stream).subspan(split));
    run.messages.insert(run.messages.end(), rest.messages.begin(), rest.messages.end());
    ASSERT_FALSE(run.failure || rest.failure) << "split at " << split;
    ASSERT_TRUE(Same(run.messages, whole.messages)) << "split at " << split;
    EXPECT_EQ(rest.buffered, 0U);
  }
  for (const size_t chunk : {1, 2, 3, 4, 5, 7, 64, 1000}) {
    const DecodeRun run = DecodeStream(stream, chunk);
    EXPECT_FALSE(run.failure.has_value()) << "chunk " << chunk;
    EXPECT_TRUE(Same(run.messages, whole.messages)) << "chunk " << chunk;
  }
}

TEST(FrameCodecTest, PartialFrameIsBuffered) {
  const std::vector<uint8_t> stream = EncodeOne(SampleHello());
  FrameDecoder decoder;
  std::span<const uint8_t> input = std::span(stream).first(2);
  EXPECT_EQ(decoder.Decode(input), DecodeStatus::kNeedMore);
  EXPECT_EQ(decoder.Buffered(), 2U);
  input = std::span(stream).subspan(2, 5);
  EXPECT_EQ(decoder.Decode(input), DecodeStatus::kNeedMore);
  EXPECT_EQ(decoder.Buffered(), 7U);
  std::span<const uint8_t> none;
  EXPECT_EQ(decoder.Decode(none), DecodeStatus::kNeedMore);
  input = std::span(stream).subspan(7);
  EXPECT_EQ(decoder.Decode(input), DecodeStatus::kFrame);
  EXPECT_EQ(decoder.Buffered(), 0U);
  EXPECT_TRUE(std::holds_alternative<Hello>(decoder.Message()));
}

TEST(FrameCodecTest, EncoderAppendsFramesToTheCallersBuffer) {
  FrameEncoder encoder;
  std::vector<uint8_t> out = {0xee};
  const auto ack = encoder.Encode(SampleAck(), out);
  ASSERT_TRUE(ack.has_value());
  const auto hello = encoder.Encode(SampleHello(), out);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(out.size(), 1 + *ack + *hello);
  const DecodeRun run = DecodeStream(std::span(out).subspan(1));
  ASSERT_EQ(run.messages.size(), 2U);
  EXPECT_TRUE(std::holds_alternative<Ack>(run.messages[0]));
  EXPECT_TRUE(std::holds_alternative<Hello>(run.messages[1]));
}

// 4096 records of the largest kind fit a frame: a batch of kMaxRecordsPerBatch
// flows can always be sent.
TEST(FrameCodecTest, FullBatchOfLargestFlowsFitsAFrame) {
  const std::vector<FlowEntry> flows(kMaxRecordsPerBatch, SampleLargestFlow());
  const std::vector<uint8_t> bytes = EncodeBatch(kLive, flows);
  EXPECT_LE(bytes.size(), kFrameHeaderBytes + kMaxFrameBytes);
  const DecodeRun run = DecodeStream(bytes, 4096);
  ASSERT_EQ(run.messages.size(), 1U);
  EXPECT_TRUE(Same(std::get<OwnedBatch>(run.messages[0]), OwnedBatch{kLive, flows, {}}));
}

void ExpectEncodeError(const FlowEntry& flow) {
  FrameEncoder encoder;
  std::vector<uint8_t> out = {1, 2, 3};
  const auto result = encoder.Encode(kLive, std::span(&flow, 1), {}, out);
  EXPECT_FALSE(result.has_value());
  if (!result) {
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 2, 3}));
}

TEST(FrameCodecTest, EncoderRefusesWhatAPeerWouldReject) {
  FlowEntry flow = SampleTcpV4Masqueraded();
  flow.flow.reply.dst = IpAddress::V6({});
  ExpectEncodeError(flow);  // an IPv6 address in an IPv4 flow
  flow = SampleTcpV4Masqueraded();
  flow.owner = 16;
  ExpectEncodeError(flow);
  flow = SampleTcpV4Masqueraded();
  flow.flow.helper.fill('x');  // no room for the NUL
  ExpectEncodeError(flow);
  flow = SampleTcpV4Masqueraded();
  flow.event = static_cast<FlowEvent>(9);
  ExpectEncodeError(flow);
  flow = SampleTcpV4Masqueraded();
  flow.flow.tcp.state = static_cast<TcpState>(10);
  ExpectEncodeError(flow);
  flow = SampleTcpV4Masqueraded();
  flow.flow.family = static_cast<IpFamily>(5);
  ExpectEncodeError(flow);

  FrameEncoder encoder;
  std::vector<uint8_t> out;
  ExpectEntry expect = SampleFtpExpectationV4Nat();
  expect.expect.nat_dir = 2;
  EXPECT_FALSE(encoder.Encode(kLive, {}, std::span(&expect, 1), out).has_value());
  expect = SampleExpectationV6();
  expect.expect.nat_dir = 0;  // NAT to an IPv4 tuple in an IPv6 expectation
  EXPECT_FALSE(encoder.Encode(kLive, {}, std::span(&expect, 1), out).has_value());
  const FlowEntry ok = SampleUdpV6();
  EXPECT_FALSE(encoder.Encode(BatchHeader{0, BatchKind::kLive, 0, 0}, std::span(&ok, 1), {}, out)
                   .has_value());
  EXPECT_FALSE(encoder.Encode(BatchHeader{4, BatchKind::kLive, 2, 0}, std::span(&ok, 1), {}, out)
                   .has_value());
  EXPECT_FALSE(encoder.Encode(BatchHeader{4, BatchKind::kBulk, 2, 0}, std::span(&ok, 1), {}, out)
                   .has_value());
  const std::vector<FlowEntry> too_many(kMaxRecordsPerBatch + 1, ok);
  EXPECT_FALSE(encoder.Encode(kLive, too_many, {}, out).has_value());
  const std::vector<ExpectEntry> largest(kMaxRecordsPerBatch, SampleLargestExpectation());
  EXPECT_FALSE(encoder.Encode(kLive, {}, largest, out).has_value());  // above kMaxFrameBytes
  Hello hello = SampleHello();
  hello.node.fill('\0');
  EXPECT_FALSE(encoder.Encode(hello, out).has_value());
  hello = SampleHello();
  hello.node.fill('n');
  EXPECT_FALSE(encoder.Encode(hello, out).has_value());
  hello = SampleHello();
  hello.node_index = 0;
  EXPECT_FALSE(encoder.Encode(hello, out).has_value());
  Heartbeat heartbeat;
  heartbeat.bulk_state = static_cast<BulkState>(4);
  EXPECT_FALSE(encoder.Encode(heartbeat, out).has_value());
  EXPECT_TRUE(out.empty());
  // The encoder is still usable after refusing.
  EXPECT_TRUE(encoder.Encode(kLive, std::span(&ok, 1), {}, out).has_value());
}

}  // namespace
}  // namespace hafw::statesync
