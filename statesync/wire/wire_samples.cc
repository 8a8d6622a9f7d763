#include "statesync/wire/wire_samples.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "statesync/wire/frame_encoder.h"

namespace hafw::statesync {
namespace {

IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return IpAddress::V4({a, b, c, d}); }

// 2001:db8:<net>::<host>
IpAddress V6(uint8_t net, uint8_t host) {
  return IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, net, 0, 0, 0, 0, 0, 0, 0, 0, 0, host});
}

FlowTuple Ports(IpAddress src, IpAddress dst, uint8_t proto, uint16_t sport, uint16_t dport) {
  FlowTuple tuple;
  tuple.src = src;
  tuple.dst = dst;
  tuple.l4proto = proto;
  tuple.src_port = sport;
  tuple.dst_port = dport;
  return tuple;
}

FlowTuple Icmp(IpAddress src, IpAddress dst, uint8_t proto, uint16_t id, uint8_t type) {
  FlowTuple tuple;
  tuple.src = src;
  tuple.dst = dst;
  tuple.l4proto = proto;
  tuple.icmp_id = id;
  tuple.icmp_type = type;
  return tuple;
}

template <size_t N>
void SetName(std::array<char, N>& out, const char* name) {
  out.fill('\0');
  std::memcpy(out.data(), name, std::strlen(name));
}

constexpr uint32_t kEstablishedStatus = kStatusSeenReply | kStatusAssured | kStatusConfirmed;

void Check(const Result<size_t>& encoded) {
  if (!encoded) {
    std::fprintf(stderr, "wire_samples: %s\n", encoded.error().ToString().c_str());
    std::abort();
  }
}

}  // namespace

FlowEntry SampleTcpV4Masqueraded() {
  FlowEntry entry;
  entry.event = FlowEvent::kUpdate;
  FlowRecord& f = entry.flow;
  f.family = IpFamily::kV4;
  f.original = Ports(V4(192, 0, 2, 10), V4(198, 51, 100, 10), kProtoTcp, 40000, 21);
  f.reply = Ports(V4(198, 51, 100, 10), V4(198, 51, 100, 1), kProtoTcp, 21, 61000);
  f.status =
      kEstablishedStatus | kStatusSrcNat | kStatusSrcNatDone | kStatusSeqAdjust | kStatusHelper;
  f.timeout_s = 431999;
  f.mark = 0x2a;
  f.zone = 0;
  f.tcp = TcpInfo{TcpState::kEstablished, 7, 9, 0x33, 0x23};
  f.labels[0] = 0x81;
  f.labels[15] = 0x21;  // hafw's bits: owner 1, generation 1
  SetName(f.helper, "ftp");
  f.seq_adjust_original = SeqAdjust{0x8a3b1c00U, 0, 3};
  f.seq_adjust_reply = SeqAdjust{0x11223344U, -2, -5};
  return entry;
}

FlowEntry SampleTcpV4DestinationNat() {
  FlowEntry entry;
  entry.event = FlowEvent::kNew;
  entry.owner = 3;
  FlowRecord& f = entry.flow;
  f.original = Ports(V4(203, 0, 113, 50), V4(198, 51, 100, 1), kProtoTcp, 50123, 443);
  f.reply = Ports(V4(192, 0, 2, 20), V4(203, 0, 113, 50), kProtoTcp, 8443, 50123);
  f.status = kStatusConfirmed | kStatusDstNat | kStatusDstNatDone;
  f.timeout_s = 120;
  f.zone = 9;
  f.tcp = TcpInfo{TcpState::kSynSent, 7, 0, 0x03, 0};
  return entry;
}

FlowEntry SampleUdpV6() {
  FlowEntry entry;
  FlowRecord& f = entry.flow;
  f.family = IpFamily::kV6;
  f.original = Ports(V6(1, 0x10), V6(2, 0x10), kProtoUdp, 5353, 53);
  f.reply = Ports(V6(2, 0x10), V6(1, 0x10), kProtoUdp, 53, 5353);
  f.status = kEstablishedStatus;
  f.timeout_s = 179;
  f.mark = 0xdeadbeef;
  f.zone = 65535;
  f.labels[3] = 0x10;
  return entry;
}

FlowEntry SampleIcmpV4() {
  FlowEntry entry;
  FlowRecord& f = entry.flow;
  f.original = Icmp(V4(192, 0, 2, 10), V4(198, 51, 100, 10), kProtoIcmp, 0x1234, 8);
  f.reply = Icmp(V4(198, 51, 100, 10), V4(198, 51, 100, 1), kProtoIcmp, 0x1234, 0);
  f.status = kStatusSeenReply | kStatusConfirmed | kStatusSrcNat | kStatusSrcNatDone;
  f.timeout_s = 29;
  return entry;
}

FlowEntry SampleIcmpV6() {
  FlowEntry entry;
  FlowRecord& f = entry.flow;
  f.family = IpFamily::kV6;
  f.original = Icmp(V6(1, 0x10), V6(2, 0x10), kProtoIcmpV6, 0xbeef, 128);
  f.reply = Icmp(V6(2, 0x10), V6(1, 0x10), kProtoIcmpV6, 0xbeef, 129);
  f.original.icmp_code = 0;
  f.status = kStatusConfirmed;
  f.timeout_s = 30;
  return entry;
}

FlowEntry SampleSctpV4() {
  FlowEntry entry;
  entry.owner = 2;
  FlowRecord& f = entry.flow;
  f.original = Ports(V4(192, 0, 2, 30), V4(198, 51, 100, 30), kProtoSctp, 5000, 38412);
  f.reply = Ports(V4(198, 51, 100, 30), V4(192, 0, 2, 30), kProtoSctp, 38412, 5000);
  f.status = kEstablishedStatus;
  f.timeout_s = 210;
  return entry;
}

FlowEntry SampleGreV6() {
  FlowEntry entry;
  FlowRecord& f = entry.flow;
  f.family = IpFamily::kV6;
  f.original = Ports(V6(1, 0x40), V6(2, 0x40), 47, 0, 0);
  f.reply = Ports(V6(2, 0x40), V6(1, 0x40), 47, 0, 0);
  f.status = kStatusConfirmed | kStatusOffload;  // offload bits are the receiver's to strip
  f.timeout_s = 600;
  return entry;
}

FlowEntry SampleDestroyV4() {
  FlowEntry entry;
  entry.event = FlowEvent::kDestroy;
  FlowRecord& f = entry.flow;
  f.original = Ports(V4(192, 0, 2, 11), V4(198, 51, 100, 10), kProtoUdp, 33000, 5001);
  f.reply = Ports(V4(198, 51, 100, 10), V4(198, 51, 100, 1), kProtoUdp, 5001, 33000);
  f.zone = 7;
  return entry;
}

FlowEntry SampleRefreshV6() {
  FlowEntry entry;
  entry.event = FlowEvent::kRefresh;
  entry.owner = 15;
  FlowRecord& f = entry.flow;
  f.family = IpFamily::kV6;
  f.original = Ports(V6(1, 0x11), V6(2, 0x10), kProtoTcp, 45678, 5001);
  f.reply = Ports(V6(2, 0x10), V6(1, 0x11), kProtoTcp, 5001, 45678);
  f.status = kEstablishedStatus;
  f.timeout_s = 432000;
  f.tcp = TcpInfo{TcpState::kTimeWait, 14, 14, 0x3f, 0x3f};
  return entry;
}

FlowEntry SampleLargestFlow() {
  constexpr uint32_t kMax32 = std::numeric_limits<uint32_t>::max();
  constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min();
  FlowEntry entry;
  entry.event = FlowEvent::kRefresh;
  entry.owner = 15;
  FlowRecord& f = entry.flow;
  f.family = IpFamily::kV6;
  FlowTuple tuple;
  std::array<uint8_t, 16> ones{};
  ones.fill(0xff);
  tuple.src = IpAddress::V6(ones);
  tuple.dst = IpAddress::V6(ones);
  tuple.l4proto = 255;
  tuple.src_port = tuple.dst_port = tuple.icmp_id = 65535;
  tuple.icmp_type = tuple.icmp_code = 255;
  f.original = f.reply = tuple;
  f.status = f.timeout_s = f.mark = kMax32;
  f.zone = 65535;
  f.tcp = TcpInfo{TcpState::kSynSent2, 255, 255, 255, 255};
  f.labels.fill(0xff);
  SetName(f.helper, "abcdefghijklmno");  // 15 bytes: the longest with its NUL
  f.seq_adjust_original = f.seq_adjust_reply = SeqAdjust{kMax32, kMin32, kMin32};
  return entry;
}

ExpectEntry SampleFtpExpectationV4Nat() {
  ExpectEntry entry;
  ExpectRecord& e = entry.expect;
  e.master = Ports(V4(192, 0, 2, 10), V4(198, 51, 100, 10), kProtoTcp, 40000, 21);
  e.expected = Ports(V4(198, 51, 100, 10), V4(198, 51, 100, 1), kProtoTcp, 0, 50000);
  e.mask = Ports(V4(255, 255, 255, 255), V4(255, 255, 255, 255), 255, 0, 0xffff);
  e.timeout_s = 300;
  e.flags = 0;
  e.expect_class = 0;
  SetName(e.helper, "ftp");
  e.nat_dir = 1;
  e.nat_tuple = Ports(V4(0, 0, 0, 0), V4(192, 0, 2, 10), kProtoTcp, 0, 50000);
  return entry;
}

ExpectEntry SampleExpectationV6() {
  ExpectEntry entry;
  ExpectRecord& e = entry.expect;
  e.family = IpFamily::kV6;
  e.master = Ports(V6(1, 0x10), V6(2, 0x10), kProtoTcp, 40001, 21);
  e.expected = Ports(V6(2, 0x10), V6(1, 0x10), kProtoTcp, 0, 50001);
  std::array<uint8_t, 16> ones{};
  ones.fill(0xff);
  e.mask = Ports(IpAddress::V6(ones), IpAddress::V6(ones), 255, 0, 0xffff);
  e.timeout_s = 299;
  e.flags = 0x4;  // NF_CT_EXPECT_USERSPACE
  e.expect_class = 1;
  e.zone = 12;
  SetName(e.helper, "ftp");
  return entry;
}

ExpectEntry SampleExpectationDestroyed() {
  ExpectEntry entry = SampleFtpExpectationV4Nat();
  entry.destroyed = true;
  return entry;
}

ExpectEntry SampleLargestExpectation() {
  constexpr uint32_t kMax32 = std::numeric_limits<uint32_t>::max();
  const FlowEntry largest = SampleLargestFlow();
  ExpectEntry entry;
  entry.destroyed = true;
  ExpectRecord& e = entry.expect;
  e.family = IpFamily::kV6;
  e.master = e.expected = e.mask = e.nat_tuple = largest.flow.original;
  e.timeout_s = e.flags = e.expect_class = kMax32;
  e.zone = 65535;
  e.helper = largest.flow.helper;
  e.nat_dir = 1;
  return entry;
}

std::vector<FlowEntry> SampleFlows() {
  return {SampleTcpV4Masqueraded(),
          SampleTcpV4DestinationNat(),
          SampleUdpV6(),
          SampleIcmpV4(),
          SampleIcmpV6(),
          SampleSctpV4(),
          SampleGreV6(),
          SampleDestroyV4(),
          SampleRefreshV6()};
}

std::vector<ExpectEntry> SampleExpectations() {
  return {SampleFtpExpectationV4Nat(), SampleExpectationV6(), SampleExpectationDestroyed()};
}

std::vector<FlowEntry> SampleFlowBatch(size_t count, uint32_t salt) {
  const std::vector<FlowEntry> kinds = SampleFlows();
  std::vector<FlowEntry> batch;
  batch.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    FlowEntry entry = kinds[i % kinds.size()];
    const auto index = static_cast<uint32_t>(i);
    FlowRecord& f = entry.flow;
    if (f.original.src_port != 0) {
      f.original.src_port = static_cast<uint16_t>(1024 + (index * 7919 + salt) % 60000);
      f.reply.dst_port = f.original.src_port;
    } else if (f.original.icmp_id != 0) {
      f.original.icmp_id = f.reply.icmp_id = static_cast<uint16_t>(index + salt);
    }
    if (entry.event != FlowEvent::kDestroy) {
      f.mark = salt + index;
      f.timeout_s += index;
    }
    batch.push_back(entry);
  }
  return batch;
}

Hello SampleHello() {
  Hello hello;
  SetName(hello.node, "fw1");
  hello.node_index = 1;
  hello.epoch = 0x1f2e3d4c5b6a7988ULL;
  hello.your_stream = StreamPosition{0x0123456789abcdefULL, 4242};
  for (size_t i = 0; i < hello.config_digest.size(); ++i) {
    hello.config_digest[i] = static_cast<uint8_t>(0xa0 + i);
  }
  hello.bulk_state = BulkState::kReceiving;
  hello.heartbeat_interval_ms = 25;
  hello.table_count = 10000;
  hello.table_max = 262144;
  return hello;
}

Heartbeat SampleHeartbeat() { return Heartbeat{4242, 3, 10001, BulkState::kDone}; }
Ack SampleAck() { return Ack{4243}; }
BulkRequest SampleBulkRequest() { return BulkRequest{5}; }
BulkStart SampleBulkStart() { return BulkStart{5, 250000}; }
BulkEnd SampleBulkEnd() { return BulkEnd{5, 249998}; }

std::vector<std::pair<std::string, std::vector<uint8_t>>> SampleCorpus() {
  FrameEncoder encoder;
  const std::vector<FlowEntry> flows = SampleFlows();
  const std::vector<ExpectEntry> expectations = SampleExpectations();
  const std::vector<FlowEntry> largest_flows = {SampleLargestFlow()};
  const std::vector<ExpectEntry> largest_expectations = {SampleLargestExpectation()};
  const BatchHeader live{1, BatchKind::kLive, 0, 1500};
  const BatchHeader refresh{2, BatchKind::kRefresh, 0, 0};
  const BatchHeader bulk{0, BatchKind::kBulk, 5, 0};

  std::vector<std::pair<std::string, std::vector<uint8_t>>> corpus;
  const auto add = [&](const char* name, const auto& encode) {
    std::vector<uint8_t> bytes;
    encode(bytes);
    corpus.emplace_back(name, std::move(bytes));
  };
  add("hello", [&](auto& out) { Check(encoder.Encode(SampleHello(), out)); });
  add("heartbeat", [&](auto& out) { Check(encoder.Encode(SampleHeartbeat(), out)); });
  add("ack", [&](auto& out) { Check(encoder.Encode(SampleAck(), out)); });
  add("bulk_request", [&](auto& out) { Check(encoder.Encode(SampleBulkRequest(), out)); });
  add("bulk_start", [&](auto& out) { Check(encoder.Encode(SampleBulkStart(), out)); });
  add("bulk_end", [&](auto& out) { Check(encoder.Encode(SampleBulkEnd(), out)); });
  add("batch_live", [&](auto& out) { Check(encoder.Encode(live, flows, {}, out)); });
  add("batch_refresh", [&](auto& out) { Check(encoder.Encode(refresh, flows, {}, out)); });
  add("batch_expectations", [&](auto& out) { Check(encoder.Encode(live, {}, expectations, out)); });
  add("batch_bulk", [&](auto& out) { Check(encoder.Encode(bulk, flows, expectations, out)); });
  add("batch_largest",
      [&](auto& out) { Check(encoder.Encode(live, largest_flows, largest_expectations, out)); });
  add("stream_session", [&](auto& out) {
    Check(encoder.Encode(SampleHello(), out));
    Check(encoder.Encode(SampleBulkRequest(), out));
    Check(encoder.Encode(SampleBulkStart(), out));
    Check(encoder.Encode(bulk, flows, expectations, out));
    Check(encoder.Encode(SampleBulkEnd(), out));
    Check(encoder.Encode(live, flows, {}, out));
    Check(encoder.Encode(SampleHeartbeat(), out));
    Check(encoder.Encode(SampleAck(), out));
    Check(encoder.Encode(refresh, {}, expectations, out));
  });
  return corpus;
}

}  // namespace hafw::statesync
