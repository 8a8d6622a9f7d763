// Forward compatibility: a peer of a newer minor version adds fields this
// version does not know, at any level of any message. They are skipped and
// the frame decodes to the same values. (A newer minor's new enum values or
// Frame bodies are only sent to peers that negotiated that minor; here they
// are a protocol error, covered by frame_decoder_test.cc.)

#include <gtest/gtest.h>

#include <google/protobuf/unknown_field_set.h>

#include <string>
#include <vector>

#include "hafw/sync/v1/sync.pb.h"
#include "statesync/wire/frame_encoder.h"
#include "statesync/wire/wire_samples.h"
#include "statesync/wire/wire_test_util.h"

namespace hafw::statesync {
namespace {

namespace pb = ::hafw::sync::v1;

// Fields a newer minor might have added: numbers above every field in use, of
// every wire type.
void AddNewerFields(google::protobuf::Message& message) {
  google::protobuf::UnknownFieldSet* unknown =
      message.GetReflection()->MutableUnknownFields(&message);
  unknown->AddVarint(100, 123456789);
  unknown->AddFixed32(101, 0xdeadbeef);
  unknown->AddFixed64(102, 0x0123456789abcdefULL);
  unknown->AddLengthDelimited(103, "a field of minor 1.1");
  google::protobuf::UnknownFieldSet* group = unknown->AddGroup(104);
  group->AddVarint(1, 1);
}

// The encoder's frame, re-serialized by the generated code with newer fields
// in every message of it.
template <typename Fill>
std::vector<uint8_t> FromNewerPeer(Fill fill) {
  FrameEncoder encoder;
  std::vector<uint8_t> out;
  fill(encoder, out);
  pb::Frame frame;
  EXPECT_TRUE(frame.ParseFromArray(out.data() + kFrameHeaderBytes,
                                   static_cast<int>(out.size() - kFrameHeaderBytes)));
  AddNewerFields(frame);
  switch (frame.body_case()) {
    case pb::Frame::kHello:
      AddNewerFields(*frame.mutable_hello());
      AddNewerFields(*frame.mutable_hello()->mutable_your_stream());
      frame.mutable_hello()->set_minor(kProtocolMinor + 1);
      break;
    case pb::Frame::kBatch:
      AddNewerFields(*frame.mutable_batch());
      for (pb::Flow& flow : *frame.mutable_batch()->mutable_flows()) {
        AddNewerFields(flow);
        AddNewerFields(*flow.mutable_original());
        AddNewerFields(*flow.mutable_reply());
        if (flow.has_tcp()) AddNewerFields(*flow.mutable_tcp());
        if (flow.has_seq_adjust_original()) AddNewerFields(*flow.mutable_seq_adjust_original());
        if (flow.has_seq_adjust_reply()) AddNewerFields(*flow.mutable_seq_adjust_reply());
      }
      for (pb::Expectation& expect : *frame.mutable_batch()->mutable_expectations()) {
        AddNewerFields(expect);
        AddNewerFields(*expect.mutable_master());
        AddNewerFields(*expect.mutable_expected());
        AddNewerFields(*expect.mutable_mask());
        if (expect.has_nat()) {
          AddNewerFields(*expect.mutable_nat());
          AddNewerFields(*expect.mutable_nat()->mutable_tuple());
        }
      }
      break;
    case pb::Frame::kHeartbeat:
      AddNewerFields(*frame.mutable_heartbeat());
      break;
    case pb::Frame::kAck:
      AddNewerFields(*frame.mutable_ack());
      break;
    case pb::Frame::kBulkRequest:
      AddNewerFields(*frame.mutable_bulk_request());
      break;
    case pb::Frame::kBulkStart:
      AddNewerFields(*frame.mutable_bulk_start());
      break;
    case pb::Frame::kBulkEnd:
      AddNewerFields(*frame.mutable_bulk_end());
      break;
    case pb::Frame::BODY_NOT_SET:
      ADD_FAILURE() << "no body";
      break;
  }
  const std::string serialized = frame.SerializeAsString();
  EXPECT_GT(serialized.size(), out.size() - kFrameHeaderBytes);  // the new fields are there
  return Prefix(serialized);
}

TEST(WireVersionTest, HelloOfANewerMinorDecodes) {
  const std::vector<uint8_t> bytes = FromNewerPeer([](FrameEncoder& e, std::vector<uint8_t>& out) {
    ASSERT_TRUE(e.Encode(SampleHello(), out).has_value());
  });
  const DecodeRun run = DecodeStream(bytes, 3);
  ASSERT_FALSE(run.failure.has_value()) << WireDropReasonName(*run.failure);
  ASSERT_EQ(run.messages.size(), 1U);
  Hello expected = SampleHello();
  expected.minor = kProtocolMinor + 1;  // reported as is: the core picks the lower one
  EXPECT_TRUE(Same(run.messages[0], OwnedMessage{expected}));
}

TEST(WireVersionTest, BatchOfANewerMinorDecodes) {
  const BatchHeader header{3, BatchKind::kLive, 0, 99};
  const std::vector<FlowEntry> flows = SampleFlows();
  const std::vector<ExpectEntry> expectations = SampleExpectations();
  const std::vector<uint8_t> bytes = FromNewerPeer([&](FrameEncoder& e, std::vector<uint8_t>& out) {
    ASSERT_TRUE(e.Encode(header, flows, expectations, out).has_value());
  });
  for (const size_t chunk : {size_t{0}, size_t{1}, size_t{100}}) {
    const DecodeRun run = DecodeStream(bytes, chunk);
    ASSERT_FALSE(run.failure.has_value()) << WireDropReasonName(*run.failure);
    ASSERT_EQ(run.messages.size(), 1U);
    EXPECT_TRUE(Same(run.messages[0], OwnedMessage{OwnedBatch{header, flows, expectations}}));
  }
}

TEST(WireVersionTest, ControlFramesOfANewerMinorDecode) {
  std::vector<uint8_t> stream;
  const auto append = [&](const auto& message) {
    const std::vector<uint8_t> bytes =
        FromNewerPeer([&](FrameEncoder& e, std::vector<uint8_t>& out) {
          ASSERT_TRUE(e.Encode(message, out).has_value());
        });
    stream.insert(stream.end(), bytes.begin(), bytes.end());
  };
  append(SampleHeartbeat());
  append(SampleAck());
  append(SampleBulkRequest());
  append(SampleBulkStart());
  append(SampleBulkEnd());
  const DecodeRun run = DecodeStream(stream);
  ASSERT_FALSE(run.failure.has_value()) << WireDropReasonName(*run.failure);
  EXPECT_TRUE(Same(run.messages, {OwnedMessage{SampleHeartbeat()}, OwnedMessage{SampleAck()},
                                  OwnedMessage{SampleBulkRequest()},
                                  OwnedMessage{SampleBulkStart()}, OwnedMessage{SampleBulkEnd()}}));
}

// The same decoder goes on to decode frames without them: nothing left over.
TEST(WireVersionTest, UnknownFieldsDoNotLeakIntoLaterFrames) {
  const std::vector<FlowEntry> flows = SampleFlows();
  const std::vector<uint8_t> newer = FromNewerPeer([&](FrameEncoder& e, std::vector<uint8_t>& out) {
    ASSERT_TRUE(e.Encode(BatchHeader{1, BatchKind::kLive, 0, 0}, flows, {}, out).has_value());
  });
  FrameEncoder encoder;
  std::vector<uint8_t> current;
  ASSERT_TRUE(
      encoder.Encode(BatchHeader{2, BatchKind::kLive, 0, 0}, flows, {}, current).has_value());
  FrameDecoder decoder;
  const DecodeRun first = DecodeStream(decoder, newer);
  const DecodeRun second = DecodeStream(decoder, current);
  ASSERT_EQ(first.messages.size(), 1U);
  ASSERT_EQ(second.messages.size(), 1U);
  EXPECT_TRUE(Same(std::get<OwnedBatch>(second.messages[0]),
                   OwnedBatch{BatchHeader{2, BatchKind::kLive, 0, 0}, flows, {}}));
}

}  // namespace
}  // namespace hafw::statesync
