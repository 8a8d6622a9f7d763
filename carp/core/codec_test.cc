#include "carp/core/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "carp/core/drop_reason.h"

namespace hafw::carp {
namespace {

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  auto nibble = [](char c) -> uint8_t {
    if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
    return static_cast<uint8_t>(c - 'a' + 10);
  };
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits.push_back(c);
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(nibble(digits[i]) << 4 | nibble(digits[i + 1])));
  }
  return out;
}

// carp-protocol.md §2.7, vector V1 (advbase 1, advskew 0, demote 0).
constexpr std::string_view kV1Header =
    "210a0007000164610123456789abcdef900a9cd02b9c4ebef1f4fae64dfde69e53c8bff0";

Advertisement V1Advertisement() {
  Advertisement ad;
  ad.vhid = 10;
  ad.advskew = 0;
  ad.advbase = 1;
  ad.counter = 0x0123456789abcdefULL;
  const auto hmac = FromHex("900a9cd02b9c4ebef1f4fae64dfde69e53c8bff0");
  std::copy(hmac.begin(), hmac.end(), ad.hmac.begin());
  return ad;
}

// A straightforward reference: 64-bit sum of big-endian words, folded at the end.
uint16_t ReferenceChecksum(const std::vector<uint8_t>& bytes) {
  uint64_t sum = 0;
  for (size_t i = 0; i < bytes.size(); i += 2) {
    const uint64_t hi = bytes[i];
    const uint64_t lo = i + 1 < bytes.size() ? bytes[i + 1] : 0;
    sum += hi << 8 | lo;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

TEST(CodecTest, EncodesVectorV1ByteForByte) {
  const AdvertisementBytes bytes = EncodeAdvertisement(V1Advertisement());
  const auto expected = FromHex(kV1Header);
  ASSERT_EQ(expected.size(), kAdvertisementSize);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), expected);
}

TEST(CodecTest, DecodesVectorV1) {
  const auto bytes = FromHex(kV1Header);
  const auto ad = DecodeAdvertisement(bytes);
  ASSERT_TRUE(ad.has_value()) << DropReasonName(ad.error());
  EXPECT_EQ(ad->version, 2);
  EXPECT_EQ(ad->type, 1);
  EXPECT_EQ(ad->vhid, 10);
  EXPECT_EQ(ad->advskew, 0);
  EXPECT_EQ(ad->authlen, 7);
  EXPECT_EQ(ad->demote, 0);
  EXPECT_EQ(ad->advbase, 1);
  EXPECT_EQ(ad->checksum, 0x6461);
  EXPECT_EQ(ad->counter, 0x0123456789abcdefULL);
  Advertisement expected = V1Advertisement();
  expected.checksum = 0x6461;
  EXPECT_EQ(*ad, expected);
}

TEST(CodecTest, DecodesCapturedUcarpHeader) {
  // The UCARP frame of carp-protocol.md §1.1 (CARP part only).
  const auto bytes =
      FromHex("210a00070001b9044e6c0dcf7b7624359b9ed6c969e8688f76ffc260e2a19d8552b4d8e5");
  const auto ad = DecodeAdvertisement(bytes);
  ASSERT_TRUE(ad.has_value());
  EXPECT_EQ(ad->checksum, 0xb904);
  EXPECT_EQ(ad->counter, 0x4e6c0dcf7b762435ULL);
  EXPECT_EQ(ad->hmac[0], 0x9b);
  EXPECT_EQ(ad->hmac[19], 0xe5);
  // Re-encoding reproduces the captured bytes exactly.
  const AdvertisementBytes again = EncodeAdvertisement(*ad);
  EXPECT_EQ(std::vector<uint8_t>(again.begin(), again.end()), bytes);
}

TEST(CodecTest, RejectsEveryShortLengthAsShort) {
  const auto full = FromHex(kV1Header);
  for (size_t len = 0; len < kAdvertisementSize; ++len) {
    // An exact-size heap copy so that ASan would flag any read past the end.
    const std::vector<uint8_t> prefix(full.begin(),
                                      full.begin() + static_cast<std::ptrdiff_t>(len));
    const auto ad = DecodeAdvertisement(prefix);
    ASSERT_FALSE(ad.has_value()) << "length " << len;
    EXPECT_EQ(ad.error(), DropReason::kShort) << "length " << len;
  }
}

TEST(CodecTest, RejectsWrongVersionEvenWithValidChecksum) {
  for (uint8_t version : {0, 1, 3, 15}) {
    Advertisement ad = V1Advertisement();
    ad.version = version;
    const AdvertisementBytes bytes = EncodeAdvertisement(ad);  // checksum is correct
    ASSERT_EQ(InternetChecksum(bytes), 0);
    const auto decoded = DecodeAdvertisement(bytes);
    ASSERT_FALSE(decoded.has_value()) << "version " << int{version};
    EXPECT_EQ(decoded.error(), DropReason::kBadVersion);
  }
}

TEST(CodecTest, VersionIsCheckedBeforeChecksum) {
  auto bytes = FromHex(kV1Header);
  bytes[0] = 0x31;  // version 3 and a now-wrong checksum
  const auto decoded = DecodeAdvertisement(bytes);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error(), DropReason::kBadVersion);
}

TEST(CodecTest, RejectsAnySingleBitFlipAsBadChecksum) {
  const auto good = FromHex(kV1Header);
  for (size_t byte = 0; byte < kAdvertisementSize; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bytes = good;
      bytes[byte] ^= static_cast<uint8_t>(1 << bit);
      if (byte == 0 && bit >= 4) continue;  // version nibble: kBadVersion instead
      const auto decoded = DecodeAdvertisement(bytes);
      ASSERT_FALSE(decoded.has_value()) << "byte " << byte << " bit " << bit;
      EXPECT_EQ(decoded.error(), DropReason::kBadChecksum) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(CodecTest, IgnoresTrailingBytesAndDoesNotChecksumThem) {
  auto bytes = FromHex(kV1Header);
  bytes.insert(bytes.end(), {0xde, 0xad, 0xbe, 0xef, 0x01});
  const auto decoded = DecodeAdvertisement(bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->counter, 0x0123456789abcdefULL);
}

TEST(CodecTest, DoesNotCheckTypeOrAuthlen) {
  Advertisement ad = V1Advertisement();
  ad.type = 2;
  ad.authlen = 3;
  const auto decoded = DecodeAdvertisement(EncodeAdvertisement(ad));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->type, 2);
  EXPECT_EQ(decoded->authlen, 3);
}

TEST(CodecTest, RoundTripsRandomAdvertisements) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    Advertisement ad;
    ad.vhid = static_cast<uint8_t>(rng());
    ad.advskew = static_cast<uint8_t>(rng());
    ad.demote = static_cast<uint8_t>(rng());
    ad.advbase = static_cast<uint8_t>(rng());
    ad.type = static_cast<uint8_t>(rng() & 0x0f);
    ad.authlen = static_cast<uint8_t>(rng());
    ad.counter = rng();
    for (auto& b : ad.hmac) b = static_cast<uint8_t>(rng());
    ad.checksum = 0xabcd;  // ignored on encode
    const AdvertisementBytes bytes = EncodeAdvertisement(ad);
    EXPECT_EQ(bytes[0] >> 4, 2);
    const auto decoded = DecodeAdvertisement(bytes);
    ASSERT_TRUE(decoded.has_value());
    Advertisement expected = ad;
    expected.checksum = static_cast<uint16_t>(bytes[6] << 8 | bytes[7]);
    EXPECT_EQ(*decoded, expected);
  }
}

TEST(CodecTest, CounterIsBigEndianOnTheWire) {
  Advertisement ad = V1Advertisement();
  ad.counter = 0x0102030405060708ULL;
  const AdvertisementBytes bytes = EncodeAdvertisement(ad);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(bytes[8 + i], i + 1);
}

TEST(InternetChecksumTest, KnownValues) {
  EXPECT_EQ(InternetChecksum({}), 0xffff);
  // RFC 1071 §3 example: sum ddf2, checksum 220d.
  EXPECT_EQ(InternetChecksum(FromHex("0001f203f4f5f6f7")), 0x220d);
  // The IPv4 header of the captured UCARP frame (§1.1) verifies to zero.
  EXPECT_EQ(InternetChecksum(FromHex("451000386ed34000ff706a5ec0000201e0000012")), 0);
  // End-around carry.
  EXPECT_EQ(InternetChecksum(FromHex("ffffffff")), 0x0000);
  EXPECT_EQ(InternetChecksum(FromHex("ff01ff01")), ReferenceChecksum(FromHex("ff01ff01")));
}

TEST(InternetChecksumTest, OddLengthsArePaddedWithZero) {
  EXPECT_EQ(InternetChecksum(FromHex("01")), 0xfeff);      // 0x0100
  EXPECT_EQ(InternetChecksum(FromHex("010203")), 0xfbfd);  // 0x0102 + 0x0300
  EXPECT_EQ(InternetChecksum(FromHex("0102ff")), 0xfffc);  // 0x0102 + 0xff00 folds to 3
  EXPECT_EQ(InternetChecksum(FromHex("010203")), InternetChecksum(FromHex("01020300")));
}

TEST(InternetChecksumTest, MatchesReferenceOnRandomInputOfEveryLength) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 300; ++len) {
    std::vector<uint8_t> bytes(len);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    EXPECT_EQ(InternetChecksum(bytes), ReferenceChecksum(bytes)) << "length " << len;
  }
  // Long input of 0xff exercises many carries.
  const std::vector<uint8_t> ones(100001, 0xff);
  EXPECT_EQ(InternetChecksum(ones), ReferenceChecksum(ones));
}

TEST(DropReasonTest, NamesAreStableSnakeCase) {
  const std::vector<std::pair<DropReason, std::string_view>> expected = {
      {DropReason::kShort, "short"},
      {DropReason::kBadVersion, "bad_version"},
      {DropReason::kBadChecksum, "bad_checksum"},
      {DropReason::kBadTtl, "bad_ttl"},
      {DropReason::kUnknownVhid, "unknown_vhid"},
      {DropReason::kBadAuth, "bad_auth"},
      {DropReason::kOwnPacket, "own_packet"},
      {DropReason::kNotRunning, "not_running"},
      {DropReason::kWrongFamily, "wrong_family"},
      {DropReason::kBadDestination, "bad_destination"},
  };
  ASSERT_EQ(expected.size(), kDropReasonCount);
  std::set<std::string_view> seen;
  for (const auto& [reason, name] : expected) {
    EXPECT_EQ(DropReasonName(reason), name);
    seen.insert(DropReasonName(reason));
  }
  EXPECT_EQ(seen.size(), kDropReasonCount);
}

TEST(DropReasonTest, CountersCountAndTotal) {
  DropCounters counters;
  EXPECT_EQ(counters.Total(), 0u);
  counters.Count(DropReason::kShort);
  counters.Count(DropReason::kBadAuth);
  counters.Count(DropReason::kBadAuth);
  counters.Count(DropReason::kBadDestination);
  EXPECT_EQ(counters.Get(DropReason::kShort), 1u);
  EXPECT_EQ(counters.Get(DropReason::kBadAuth), 2u);
  EXPECT_EQ(counters.Get(DropReason::kBadTtl), 0u);
  EXPECT_EQ(counters.Total(), 4u);
}

}  // namespace
}  // namespace hafw::carp
