// Replays the UCARP lab capture (shared/reference/captures/ucarp-failover.pcap)
// through the codec and the authenticator: every advertisement in it must
// decode, carry a valid checksum and verify under passphrase "secret".

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "carp/core/carp_auth.h"
#include "carp/core/codec.h"
#include "testing/pcap_reader.h"

namespace hafw::carp {
namespace {

using testkit::ParseEthernetIpv4;
using testkit::ParsePcap;
using testkit::PcapFile;
using testkit::ReadPcapFile;

// `tcpdump -r ucarp-failover.pcap 'ip proto 112' | wc -l` prints 9 (13 frames in
// all; the other 4 are gratuitous ARPs).
constexpr size_t kExpectedAdvertisements = 9;
constexpr size_t kExpectedFrames = 13;

std::filesystem::path CapturePath() {
  const char* source_dir = std::getenv("HAFW_SOURCE_DIR");
  const std::filesystem::path root = source_dir != nullptr ? source_dir : ".";
  return root / ".." / "shared" / "reference" / "captures" / "ucarp-failover.pcap";
}

PcapFile LoadCapture() {
  const std::filesystem::path path = CapturePath();
  auto file = ReadPcapFile(path.string());
  if (!file.has_value()) {
    ADD_FAILURE() << "cannot load the lab capture " << path
                  << " (set HAFW_SOURCE_DIR to the repository root; shared/ must sit beside "
                     "it): "
                  << file.error().ToString();
    return {};
  }
  return std::move(*file);
}

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

TEST(PcapCaptureTest, EveryAdvertisementHasValidChecksumAndHmac) {
  const PcapFile file = LoadCapture();
  ASSERT_FALSE(file.records.empty()) << "capture missing or empty: " << CapturePath();
  EXPECT_EQ(file.link_type, testkit::kLinkTypeEthernet);
  EXPECT_EQ(file.records.size(), kExpectedFrames);

  const IpAddress vip = IpAddress::V4({192, 0, 2, 100});
  const IpAddress group = IpAddress::V4({224, 0, 0, 18});
  const CarpAuthenticator auth(Bytes("secret"), 10, std::vector<IpAddress>{vip});
  const CarpAuthenticator wrong(Bytes("Secret"), 10, std::vector<IpAddress>{vip});

  size_t advertisements = 0;
  for (size_t i = 0; i < file.records.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i + 1));
    auto packet = ParseEthernetIpv4(file.records[i].data);
    if (!packet.has_value() || packet->protocol != kIpProtocolCarp) continue;
    ++advertisements;
    EXPECT_EQ(packet->ttl, kRequiredTtl);
    EXPECT_EQ(packet->destination, group);
    EXPECT_EQ(packet->payload.size(), kAdvertisementSize);

    const auto ad = DecodeAdvertisement(packet->payload);  // checks the checksum
    ASSERT_TRUE(ad.has_value()) << DropReasonName(ad.error());
    EXPECT_EQ(ad->vhid, 10);
    EXPECT_EQ(ad->advbase, 1);
    EXPECT_EQ(ad->authlen, kAuthLen);
    EXPECT_EQ(InternetChecksum(packet->payload.first(kAdvertisementSize)), 0);
    EXPECT_TRUE(auth.Verify(ad->counter, ad->hmac)) << "counter " << std::hex << ad->counter;
    EXPECT_FALSE(wrong.Verify(ad->counter, ad->hmac));
    // Our signer and encoder reproduce the captured bytes exactly.
    Advertisement ours = *ad;
    ours.hmac = auth.Sign(ad->counter);
    const AdvertisementBytes encoded = EncodeAdvertisement(ours);
    EXPECT_TRUE(std::equal(encoded.begin(), encoded.end(), packet->payload.begin()));
  }
  EXPECT_GT(advertisements, 0u);
  EXPECT_EQ(advertisements, kExpectedAdvertisements);
}

TEST(PcapReaderTest, TruncatedFilesAreErrorsNotCrashes) {
  const PcapFile file = LoadCapture();
  ASSERT_FALSE(file.records.empty());
  std::ifstream in(CapturePath(), std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 24u);
  size_t complete = 0;
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::vector<uint8_t> prefix(bytes.begin(),
                                      bytes.begin() + static_cast<std::ptrdiff_t>(len));
    const auto parsed = ParsePcap(prefix);
    if (parsed.has_value()) ++complete;  // cut exactly at a record boundary
  }
  // Only the global-header-only prefix and the cuts at each record end parse.
  EXPECT_EQ(complete, file.records.size());
}

TEST(PcapReaderTest, RejectsBadMagicAndHugeRecords) {
  std::vector<uint8_t> bytes(24, 0);
  EXPECT_FALSE(ParsePcap(bytes).has_value());
  // Valid big-endian header, link type 1, one record claiming 0xffffffff bytes.
  bytes = {0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0,    4,    0, 0, 0, 0,
           0,    0,    0,    0,    0, 0, 0xff, 0xff, 0, 0, 0, 1};
  auto empty = ParsePcap(bytes);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->link_type, 1u);
  bytes.insert(bytes.end(), {0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 60});
  EXPECT_FALSE(ParsePcap(bytes).has_value());
}

TEST(PcapReaderTest, EthernetParserChecksLengths) {
  // Ethernet + IPv4 header claiming 56 bytes but only 20 present.
  std::vector<uint8_t> frame(12, 0);
  frame.insert(frame.end(), {0x08, 0x00, 0x45, 0,   0, 56, 0, 0,   0x40, 0, 255,
                             112,  0,    0,    192, 0, 2,  1, 224, 0,    0, 18});
  EXPECT_FALSE(ParseEthernetIpv4(frame).has_value());
  frame[16] = 0;
  frame[17] = 20;  // total length = header only
  auto packet = ParseEthernetIpv4(frame);
  ASSERT_TRUE(packet.has_value());
  EXPECT_EQ(packet->payload.size(), 0u);
  EXPECT_EQ(packet->ttl, 255);
  EXPECT_EQ(packet->protocol, 112);
  frame[14] = 0x44;  // IHL 4 < 5
  EXPECT_FALSE(ParseEthernetIpv4(frame).has_value());
  EXPECT_FALSE(ParseEthernetIpv4(std::span<const uint8_t>(frame).first(13)).has_value());
}

}  // namespace
}  // namespace hafw::carp
