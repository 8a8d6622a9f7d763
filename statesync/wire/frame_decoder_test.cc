// Every drop reason of the decoder, from frames made valid by the encoder and
// then broken one field at a time with the generated protobuf code; and what a
// rejection does to the stream (poisoned until Reset, counted once).

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "hafw/sync/v1/sync.pb.h"
#include "statesync/wire/frame_encoder.h"
#include "statesync/wire/wire_samples.h"
#include "statesync/wire/wire_test_util.h"

namespace hafw::statesync {
namespace {

namespace pb = ::hafw::sync::v1;

pb::Frame Unframe(const std::vector<uint8_t>& bytes) {
  pb::Frame frame;
  EXPECT_TRUE(frame.ParseFromArray(bytes.data() + kFrameHeaderBytes,
                                   static_cast<int>(bytes.size() - kFrameHeaderBytes)));
  return frame;
}

// A valid live batch (seq 5) with every sample flow and expectation.
pb::Frame BatchFrame() {
  FrameEncoder encoder;
  std::vector<uint8_t> out;
  EXPECT_TRUE(
      encoder
          .Encode(BatchHeader{5, BatchKind::kLive, 0, 0}, SampleFlows(), SampleExpectations(), out)
          .has_value());
  return Unframe(out);
}

pb::Frame HelloFrame() {
  FrameEncoder encoder;
  std::vector<uint8_t> out;
  EXPECT_TRUE(encoder.Encode(SampleHello(), out).has_value());
  return Unframe(out);
}

std::vector<uint8_t> Framed(const pb::Frame& frame) { return Prefix(frame.SerializeAsString()); }

// Decodes `bytes` (all at once and byte by byte) and checks that the stream is
// rejected for `reason`, counted once.
void ExpectDrop(const std::vector<uint8_t>& bytes, WireDropReason reason) {
  for (const size_t chunk : {size_t{0}, size_t{1}}) {
    FrameDecoder decoder;
    const DecodeRun run = DecodeStream(decoder, bytes, chunk);
    ASSERT_TRUE(run.failure.has_value())
        << "accepted, expected " << WireDropReasonName(reason) << " (chunk " << chunk << ")";
    EXPECT_EQ(*run.failure, reason)
        << WireDropReasonName(*run.failure) << " instead of " << WireDropReasonName(reason);
    EXPECT_EQ(decoder.Drops().Get(reason), 1U);
    EXPECT_EQ(decoder.Drops().Total(), 1U);
  }
}

void ExpectDrop(const pb::Frame& frame, WireDropReason reason) {
  ExpectDrop(Framed(frame), reason);
}

struct Mutation {
  const char* name;
  std::function<void(pb::Frame&)> mutate;
  WireDropReason reason;
};

void RunMutations(const pb::Frame& valid, const std::vector<Mutation>& mutations) {
  ASSERT_FALSE(DecodeStream(Framed(valid)).failure.has_value());
  for (const Mutation& m : mutations) {
    SCOPED_TRACE(m.name);
    pb::Frame frame = valid;
    m.mutate(frame);
    ExpectDrop(frame, m.reason);
  }
}

pb::Flow& Flow0(pb::Frame& f) { return *f.mutable_batch()->mutable_flows(0); }
pb::Expectation& Expect0(pb::Frame& f) { return *f.mutable_batch()->mutable_expectations(0); }

TEST(FrameDecoderTest, FramingDrops) {
  ExpectDrop(std::vector<uint8_t>{0, 0, 0, 0}, WireDropReason::kZeroLength);
  const auto over = static_cast<uint32_t>(kMaxFrameBytes + 1);
  ExpectDrop(
      std::vector<uint8_t>{static_cast<uint8_t>(over >> 24), static_cast<uint8_t>(over >> 16),
                           static_cast<uint8_t>(over >> 8), static_cast<uint8_t>(over)},
      WireDropReason::kOversizeFrame);
  ExpectDrop(std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff, 1, 2, 3}, WireDropReason::kOversizeFrame);
}

// A frame of exactly kMaxFrameBytes is fine: an Ack padded with an unknown field.
TEST(FrameDecoderTest, FrameOfExactlyTheMaximumIsAccepted) {
  pb::Frame frame;
  frame.mutable_ack()->set_applied_seq(3);
  const std::string ack = frame.SerializeAsString();
  // Unknown field 100, length-delimited: tag (2 bytes) + varint length (3 bytes) + padding.
  const size_t padding = kMaxFrameBytes - ack.size() - 5;
  std::string bytes = ack;
  bytes += std::string("\xa2\x06", 2);
  const auto len = static_cast<uint32_t>(padding);
  bytes += static_cast<char>(0x80 | (len & 0x7f));
  bytes += static_cast<char>(0x80 | ((len >> 7) & 0x7f));
  bytes += static_cast<char>(len >> 14);
  bytes += std::string(padding, 'p');
  ASSERT_EQ(bytes.size(), kMaxFrameBytes);
  const DecodeRun run = DecodeStream(Prefix(bytes), 65536);
  ASSERT_FALSE(run.failure.has_value()) << WireDropReasonName(*run.failure);
  ASSERT_EQ(run.messages.size(), 1U);
  EXPECT_EQ(std::get<Ack>(run.messages[0]).applied_seq, 3U);
}

TEST(FrameDecoderTest, EnvelopeDrops) {
  // Not protobuf: a truncated length-delimited field, a bad varint, a bad tag.
  ExpectDrop(Prefix(std::string("\x1a\x05\x08", 3)), WireDropReason::kParseError);
  ExpectDrop(Prefix(std::string("\x20\xff\xff", 3)), WireDropReason::kParseError);
  ExpectDrop(Prefix(std::string("\x00", 1)), WireDropReason::kParseError);
  ExpectDrop(Prefix(std::string("\x0f", 1)), WireDropReason::kParseError);  // wire type 7
  // A known body field that is not length-delimited.
  ExpectDrop(Prefix(std::string("\x08\x01", 2)), WireDropReason::kParseError);
  // Inside a body: a truncated field.
  ExpectDrop(Prefix(std::string("\x22\x02\x08\x80", 4)), WireDropReason::kParseError);
  // No body, or one this version does not know (field 8).
  ExpectDrop(Prefix(std::string("\xa0\x06\x01", 3)), WireDropReason::kNoBody);
  ExpectDrop(Prefix(std::string("\x42\x00", 2)), WireDropReason::kNoBody);
  // Two bodies (a conforming encoder sets one), same or different fields.
  ExpectDrop(Prefix(std::string("\x22\x00\x2a\x00", 4)), WireDropReason::kMultipleBodies);
  ExpectDrop(Prefix(std::string("\x22\x00\x22\x00", 4)), WireDropReason::kMultipleBodies);
}

TEST(FrameDecoderTest, HelloDrops) {
  RunMutations(
      HelloFrame(),
      {
          {"bulk state unspecified",
           [](pb::Frame& f) { f.mutable_hello()->set_bulk_state(pb::BULK_STATE_UNSPECIFIED); },
           WireDropReason::kBadEnum},
          {"bulk state unknown",
           [](pb::Frame& f) { f.mutable_hello()->set_bulk_state(static_cast<pb::BulkState>(9)); },
           WireDropReason::kBadEnum},
          {"empty node", [](pb::Frame& f) { f.mutable_hello()->clear_node(); },
           WireDropReason::kBadName},
          {"NUL in node",
           [](pb::Frame& f) { f.mutable_hello()->set_node(std::string("fw\0x", 4)); },
           WireDropReason::kBadName},
          {"node too long",
           [](pb::Frame& f) { f.mutable_hello()->set_node(std::string(kNodeNameMax, 'n')); },
           WireDropReason::kNodeNameTooLong},
          {"node not UTF-8", [](pb::Frame& f) { f.mutable_hello()->set_node("\xff\xfe"); },
           WireDropReason::kParseError},
          {"node index 0", [](pb::Frame& f) { f.mutable_hello()->set_node_index(0); },
           WireDropReason::kValueOutOfRange},
          {"node index 16", [](pb::Frame& f) { f.mutable_hello()->set_node_index(16); },
           WireDropReason::kValueOutOfRange},
          {"digest short",
           [](pb::Frame& f) { f.mutable_hello()->set_config_digest(std::string(31, 'd')); },
           WireDropReason::kBadDigestLength},
          {"digest missing", [](pb::Frame& f) { f.mutable_hello()->clear_config_digest(); },
           WireDropReason::kBadDigestLength},
      });
}

TEST(FrameDecoderTest, HeartbeatDrops) {
  pb::Frame frame;
  frame.mutable_heartbeat()->set_applied_seq(1);
  ExpectDrop(frame, WireDropReason::kBadEnum);  // bulk_state missing
  frame.mutable_heartbeat()->set_bulk_state(pb::BULK_STATE_NONE);
  EXPECT_FALSE(DecodeStream(Framed(frame)).failure.has_value());
}

TEST(FrameDecoderTest, BatchDrops) {
  RunMutations(
      BatchFrame(),
      {
          {"kind unspecified", [](pb::Frame& f) { f.mutable_batch()->clear_kind(); },
           WireDropReason::kBadEnum},
          {"kind unknown",
           [](pb::Frame& f) { f.mutable_batch()->set_kind(static_cast<pb::BatchKind>(4)); },
           WireDropReason::kBadEnum},
          {"live seq 0", [](pb::Frame& f) { f.mutable_batch()->set_seq(0); },
           WireDropReason::kBadBatchHeader},
          {"live with bulk id", [](pb::Frame& f) { f.mutable_batch()->set_bulk_id(3); },
           WireDropReason::kBadBatchHeader},
          {"bulk with seq", [](pb::Frame& f) { f.mutable_batch()->set_kind(pb::BATCH_KIND_BULK); },
           WireDropReason::kBadBatchHeader},
          {"too many records",
           [](pb::Frame& f) {
             const auto present = static_cast<size_t>(f.batch().flows_size()) +
                                  static_cast<size_t>(f.batch().expectations_size());
             for (size_t i = present; i <= kMaxRecordsPerBatch; ++i) {
               f.mutable_batch()->add_flows();  // empty ones: 2 bytes each
             }
           },
           WireDropReason::kTooManyRecords},
      });
}

TEST(FrameDecoderTest, FlowDrops) {
  RunMutations(
      BatchFrame(),
      {
          {"event unspecified", [](pb::Frame& f) { Flow0(f).clear_event(); },
           WireDropReason::kBadEnum},
          {"event unknown", [](pb::Frame& f) { Flow0(f).set_event(static_cast<pb::FlowEvent>(5)); },
           WireDropReason::kBadEnum},
          {"family unspecified", [](pb::Frame& f) { Flow0(f).clear_family(); },
           WireDropReason::kBadEnum},
          {"family unknown",
           [](pb::Frame& f) { Flow0(f).set_family(static_cast<pb::IpFamily>(3)); },
           WireDropReason::kBadEnum},
          {"TCP state unspecified", [](pb::Frame& f) { Flow0(f).mutable_tcp()->clear_state(); },
           WireDropReason::kBadEnum},
          {"TCP state unknown",
           [](pb::Frame& f) { Flow0(f).mutable_tcp()->set_state(static_cast<pb::TcpState>(11)); },
           WireDropReason::kBadEnum},
          {"no original tuple", [](pb::Frame& f) { Flow0(f).clear_original(); },
           WireDropReason::kBadAddressLength},
          {"5-byte address",
           [](pb::Frame& f) { Flow0(f).mutable_reply()->set_dst(std::string(5, 'a')); },
           WireDropReason::kBadAddressLength},
          {"empty address", [](pb::Frame& f) { Flow0(f).mutable_original()->clear_src(); },
           WireDropReason::kBadAddressLength},
          {"IPv6 address in an IPv4 flow",
           [](pb::Frame& f) { Flow0(f).mutable_reply()->set_dst(std::string(16, 'a')); },
           WireDropReason::kMixedFamilies},
          {"IPv4 address in an IPv6 flow",
           [](pb::Frame& f) {
             f.mutable_batch()->mutable_flows(2)->mutable_original()->set_src("abcd");
           },
           WireDropReason::kMixedFamilies},
          {"family flipped", [](pb::Frame& f) { Flow0(f).set_family(pb::IP_FAMILY_IPV6); },
           WireDropReason::kMixedFamilies},
          {"port 65536", [](pb::Frame& f) { Flow0(f).mutable_original()->set_src_port(65536); },
           WireDropReason::kValueOutOfRange},
          {"protocol 256", [](pb::Frame& f) { Flow0(f).mutable_reply()->set_l4proto(256); },
           WireDropReason::kValueOutOfRange},
          {"ICMP id 65536", [](pb::Frame& f) { Flow0(f).mutable_reply()->set_icmp_id(65536); },
           WireDropReason::kValueOutOfRange},
          {"ICMP type 256", [](pb::Frame& f) { Flow0(f).mutable_reply()->set_icmp_type(256); },
           WireDropReason::kValueOutOfRange},
          {"ICMP code 256", [](pb::Frame& f) { Flow0(f).mutable_reply()->set_icmp_code(256); },
           WireDropReason::kValueOutOfRange},
          {"zone 65536", [](pb::Frame& f) { Flow0(f).set_zone(65536); },
           WireDropReason::kValueOutOfRange},
          {"owner 16", [](pb::Frame& f) { Flow0(f).set_owner(16); },
           WireDropReason::kValueOutOfRange},
          {"wscale 256", [](pb::Frame& f) { Flow0(f).mutable_tcp()->set_wscale_reply(256); },
           WireDropReason::kValueOutOfRange},
          {"TCP flags 256", [](pb::Frame& f) { Flow0(f).mutable_tcp()->set_flags_original(256); },
           WireDropReason::kValueOutOfRange},
          {"labels 15 bytes", [](pb::Frame& f) { Flow0(f).set_labels(std::string(15, 'l')); },
           WireDropReason::kBadLabelsLength},
          {"labels 17 bytes", [](pb::Frame& f) { Flow0(f).set_labels(std::string(17, 'l')); },
           WireDropReason::kBadLabelsLength},
          {"helper 16 bytes",
           [](pb::Frame& f) { Flow0(f).set_helper(std::string(kHelperNameMax, 'h')); },
           WireDropReason::kHelperNameTooLong},
          {"NUL in helper", [](pb::Frame& f) { Flow0(f).set_helper(std::string("f\0p", 3)); },
           WireDropReason::kBadName},
          {"helper not UTF-8", [](pb::Frame& f) { Flow0(f).set_helper("\xc3"); },
           WireDropReason::kParseError},
          {"last flow broken",
           [](pb::Frame& f) {
             f.mutable_batch()->mutable_flows(f.batch().flows_size() - 1)->set_owner(99);
           },
           WireDropReason::kValueOutOfRange},
      });
}

TEST(FrameDecoderTest, ExpectationDrops) {
  RunMutations(
      BatchFrame(),
      {
          {"family unspecified", [](pb::Frame& f) { Expect0(f).clear_family(); },
           WireDropReason::kBadEnum},
          {"NAT direction unspecified", [](pb::Frame& f) { Expect0(f).mutable_nat()->clear_dir(); },
           WireDropReason::kBadEnum},
          {"NAT direction unknown",
           [](pb::Frame& f) { Expect0(f).mutable_nat()->set_dir(static_cast<pb::Direction>(3)); },
           WireDropReason::kBadEnum},
          {"NAT tuple of the other family",
           [](pb::Frame& f) {
             Expect0(f).mutable_nat()->mutable_tuple()->set_dst(std::string(16, 'a'));
           },
           WireDropReason::kMixedFamilies},
          {"NAT without a tuple", [](pb::Frame& f) { Expect0(f).mutable_nat()->clear_tuple(); },
           WireDropReason::kBadAddressLength},
          {"no mask", [](pb::Frame& f) { Expect0(f).clear_mask(); },
           WireDropReason::kBadAddressLength},
          {"expected port 65536",
           [](pb::Frame& f) { Expect0(f).mutable_expected()->set_dst_port(65536); },
           WireDropReason::kValueOutOfRange},
          {"zone 65536", [](pb::Frame& f) { Expect0(f).set_zone(65536); },
           WireDropReason::kValueOutOfRange},
          {"helper 16 bytes",
           [](pb::Frame& f) { Expect0(f).set_helper(std::string(kHelperNameMax, 'h')); },
           WireDropReason::kHelperNameTooLong},
          {"NUL in helper", [](pb::Frame& f) { Expect0(f).set_helper(std::string("\0", 1)); },
           WireDropReason::kBadName},
      });
}

std::vector<uint8_t> LiveBatch(uint64_t seq, BatchKind kind = BatchKind::kLive,
                               uint64_t bulk_id = 0) {
  FrameEncoder encoder;
  std::vector<uint8_t> out;
  const FlowEntry flow = SampleUdpV6();
  EXPECT_TRUE(
      encoder.Encode(BatchHeader{seq, kind, bulk_id, 0}, std::span(&flow, 1), {}, out).has_value());
  return out;
}

std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

TEST(FrameDecoderTest, StreamSeqsIncreaseWithinAConnection) {
  // Gaps are the core's business; bulk batches are outside the stream.
  const DecodeRun ok = DecodeStream(Concat({LiveBatch(5), LiveBatch(0, BatchKind::kBulk, 1),
                                            LiveBatch(6, BatchKind::kRefresh), LiveBatch(9)}));
  EXPECT_FALSE(ok.failure.has_value());
  EXPECT_EQ(ok.messages.size(), 4U);
  ExpectDrop(Concat({LiveBatch(5), LiveBatch(5)}), WireDropReason::kDuplicateSeq);
  ExpectDrop(Concat({LiveBatch(5), LiveBatch(0, BatchKind::kBulk, 1), LiveBatch(5)}),
             WireDropReason::kDuplicateSeq);
  ExpectDrop(Concat({LiveBatch(5), LiveBatch(4, BatchKind::kRefresh)}),
             WireDropReason::kSeqRegression);
}

TEST(FrameDecoderTest, RejectionPoisonsTheStreamUntilReset) {
  const std::vector<uint8_t> good = LiveBatch(1);
  const std::vector<uint8_t> stream = Concat({good, {0, 0, 0, 0}, LiveBatch(2)});
  FrameDecoder decoder;
  std::span<const uint8_t> input(stream);
  EXPECT_EQ(decoder.Decode(input), DecodeStatus::kFrame);
  EXPECT_EQ(decoder.Decode(input), DecodeStatus::kError);
  EXPECT_TRUE(input.empty());  // the rest of the read is dropped with the stream
  EXPECT_EQ(decoder.Failure(), WireDropReason::kZeroLength);
  std::span<const uint8_t> more(good);
  EXPECT_EQ(decoder.Decode(more), DecodeStatus::kError);
  EXPECT_TRUE(more.empty());
  EXPECT_EQ(decoder.Drops().Total(), 1U);  // one stream, one count

  // A new connection: seq history gone too (seq 1 again is fine), counters kept.
  decoder.Reset();
  EXPECT_FALSE(decoder.Failure().has_value());
  EXPECT_EQ(decoder.Buffered(), 0U);
  const DecodeRun run = DecodeStream(decoder, good);
  EXPECT_FALSE(run.failure.has_value());
  EXPECT_EQ(run.messages.size(), 1U);
  EXPECT_EQ(decoder.Drops().Get(WireDropReason::kZeroLength), 1U);
}

TEST(FrameDecoderTest, ResetDropsAPartialFrame) {
  const std::vector<uint8_t> good = LiveBatch(1);
  FrameDecoder decoder;
  std::span<const uint8_t> half = std::span(good).first(good.size() / 2);
  EXPECT_EQ(decoder.Decode(half), DecodeStatus::kNeedMore);
  EXPECT_GT(decoder.Buffered(), 0U);
  decoder.Reset();
  EXPECT_EQ(decoder.Buffered(), 0U);
  EXPECT_EQ(DecodeStream(decoder, good).messages.size(), 1U);
}

TEST(FrameDecoderTest, EveryReasonHasADistinctName) {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < kWireDropReasonCount; ++i) {
    const std::string_view name = WireDropReasonName(static_cast<WireDropReason>(i));
    EXPECT_NE(name, "unknown");
    for (const std::string_view other : names) EXPECT_NE(name, other);
    names.push_back(name);
  }
}

}  // namespace
}  // namespace hafw::statesync
