#include "carp/core/carp_auth.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "carp/core/crypto.h"

namespace hafw::carp {
namespace {

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits.push_back(c);
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

template <typename Container>
std::vector<uint8_t> Vec(const Container& c) {
  return {c.begin(), c.end()};
}

std::vector<uint8_t> Concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

IpAddress Ip(std::string_view text) {
  auto parsed = IpAddress::Parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(IpAddress{});
}

// --- crypto.h --------------------------------------------------------------

TEST(HmacSha1Test, Rfc2202Vectors) {
  EXPECT_EQ(Vec(HmacSha1(std::vector<uint8_t>(20, 0x0b), Bytes("Hi There"))),
            FromHex("b617318655057264e28bc0b6fb378c8ef146be00"));
  EXPECT_EQ(Vec(HmacSha1(Bytes("Jefe"), Bytes("what do ya want for nothing?"))),
            FromHex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"));
  EXPECT_EQ(Vec(HmacSha1(std::vector<uint8_t>(80, 0xaa),
                         Bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            FromHex("aa4ae5e15272d00e95705637ce8a3b55ed402112"));
}

TEST(PrefixedHmacSha1Test, Rfc2202VectorsSplitAtEveryPoint) {
  const std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> cases = {
      {std::vector<uint8_t>(20, 0x0b), Bytes("Hi There")},
      {Bytes("Jefe"), Bytes("what do ya want for nothing?")},
      {std::vector<uint8_t>(80, 0xaa),
       Bytes("Test Using Larger Than Block-Size Key - Hash Key First")},
  };
  const std::vector<std::string_view> expected = {
      "b617318655057264e28bc0b6fb378c8ef146be00",
      "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
      "aa4ae5e15272d00e95705637ce8a3b55ed402112",
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    const auto& [key, message] = cases[c];
    for (size_t split = 0; split <= message.size(); ++split) {
      const std::span<const uint8_t> all(message);
      const PrefixedHmacSha1 hmac(key, all.first(split));
      EXPECT_EQ(Vec(hmac.Finish(all.subspan(split))), FromHex(expected[c]))
          << "case " << c << " split " << split;
    }
  }
}

TEST(PrefixedHmacSha1Test, AgreesWithOneShotForManyKeysAndIsReusable) {
  for (size_t key_len : {0u, 1u, 19u, 20u, 63u, 64u, 65u, 200u}) {
    std::vector<uint8_t> key(key_len);
    for (size_t i = 0; i < key_len; ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
    const auto prefix = Bytes("prefix bytes");
    const PrefixedHmacSha1 hmac(key, prefix);
    for (uint8_t s = 0; s < 5; ++s) {
      const std::vector<uint8_t> suffix(s, s);
      EXPECT_EQ(hmac.Finish(suffix), HmacSha1(key, Concat(prefix, suffix)))
          << "key length " << key_len << " suffix " << int{s};
    }
  }
}

TEST(PrefixedHmacSha1Test, SurvivesMove) {
  PrefixedHmacSha1 a(Bytes("secret"), Bytes("abc"));
  const Sha1Digest before = a.Finish(Bytes("d"));
  PrefixedHmacSha1 b(std::move(a));
  EXPECT_EQ(b.Finish(Bytes("d")), before);
  PrefixedHmacSha1 c(Bytes("other"), Bytes(""));
  c = std::move(b);
  EXPECT_EQ(c.Finish(Bytes("d")), before);
  EXPECT_EQ(before, HmacSha1(Bytes("secret"), Bytes("abcd")));
}

TEST(ConstantTimeEqualTest, ComparesContentAndSize) {
  const auto a = FromHex("0102030405");
  EXPECT_TRUE(ConstantTimeEqual(a, FromHex("0102030405")));
  EXPECT_FALSE(ConstantTimeEqual(a, FromHex("0102030406")));
  EXPECT_FALSE(ConstantTimeEqual(a, FromHex("8102030405")));
  EXPECT_FALSE(ConstantTimeEqual(a, FromHex("01020304")));
  EXPECT_FALSE(ConstantTimeEqual(a, FromHex("010203040500")));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
}

// --- carp-protocol.md §2.7 vectors ----------------------------------------

TEST(CarpAuthTest, VectorV1) {
  const std::vector<IpAddress> vips = {Ip("192.0.2.100")};
  const auto message = CarpHmacMessage(10, vips, false);
  EXPECT_EQ(message, FromHex("02010ac0000264"));
  EXPECT_EQ(CarpHmacMessage(10, vips, true), message);

  const auto counter = FromHex("0123456789abcdef");
  const auto expected = FromHex("900a9cd02b9c4ebef1f4fae64dfde69e53c8bff0");
  EXPECT_EQ(Vec(HmacSha1(Bytes("secret"), Concat(message, counter))), expected);
  // The BSD key is the passphrase zero-padded to 20 bytes: same digest.
  EXPECT_EQ(
      Vec(HmacSha1(FromHex("7365637265740000000000000000000000000000"), Concat(message, counter))),
      expected);

  const CarpAuthenticator auth(Bytes("secret"), 10, vips);
  EXPECT_EQ(Vec(auth.Sign(0x0123456789abcdefULL)), expected);
  EXPECT_TRUE(auth.Verify(0x0123456789abcdefULL, expected));
}

std::vector<IpAddress> V2Vips() {
  return {Ip("198.51.100.20"), Ip("2001:db8::100"), Ip("192.0.2.100"),
          Ip("fe80::200:5eff:fe00:101"), Ip("192.0.2.7")};
}

TEST(CarpAuthTest, VectorV2a) {
  const auto message = CarpHmacMessage(1, V2Vips(), /*include_scope_embedded=*/false);
  EXPECT_EQ(message, FromHex("020101 c0000207 c0000264 c6336414 20010db8000000000000000000000100"));
  const auto expected = FromHex("7799672af1427e01f3b82290ce9c685185333e60");
  EXPECT_EQ(Vec(HmacSha1(Bytes("mekmitasdigoat"), Concat(message, FromHex("1122334455667788")))),
            expected);
  const CarpAuthenticator auth(Bytes("mekmitasdigoat"), 1, V2Vips());
  EXPECT_EQ(Vec(auth.Sign(0x1122334455667788ULL)), expected);  // sent like OpenBSD
  EXPECT_TRUE(auth.Verify(0x1122334455667788ULL, expected));
}

TEST(CarpAuthTest, VectorV2b) {
  const auto message = CarpHmacMessage(1, V2Vips(), /*include_scope_embedded=*/true);
  EXPECT_EQ(message, FromHex("020101 c0000207 c0000264 c6336414 20010db8000000000000000000000100"
                             "fe8000000000000002005efffe000101"));
  const auto expected = FromHex("c456444e22c789a665a6265493b73b026465cc54");
  EXPECT_EQ(Vec(HmacSha1(Bytes("mekmitasdigoat"), Concat(message, FromHex("1122334455667788")))),
            expected);
  // Accepted on receipt (HMAC_ORIG / FreeBSD), never sent.
  const CarpAuthenticator auth(Bytes("mekmitasdigoat"), 1, V2Vips());
  EXPECT_TRUE(auth.Verify(0x1122334455667788ULL, expected));
  EXPECT_NE(Vec(auth.Sign(0x1122334455667788ULL)), expected);
}

TEST(CarpAuthTest, VectorV3HandSetLladdr) {
  const std::vector<IpAddress> vips = {Ip("192.0.2.100")};
  const auto message =
      CarpHmacMessage(10, vips, false, std::array<uint8_t, 6>{0x02, 0, 0, 0, 0, 0x01});
  EXPECT_EQ(message, FromHex("0201 020000000001 0a c0000264"));
  EXPECT_EQ(Vec(HmacSha1(Bytes("secret"), Concat(message, FromHex("0123456789abcdef")))),
            FromHex("6f46dc3d6cbc1f1c0a88d1799baeddb7b475872e"));
}

TEST(CarpAuthTest, CapturedUcarpAdvertisement) {
  const CarpAuthenticator auth(Bytes("secret"), 10, std::vector<IpAddress>{Ip("192.0.2.100")});
  const auto expected = FromHex("fdd4b11e653caba675c304690901cad2f9eaea0a");
  EXPECT_EQ(Vec(auth.Sign(0xc388321ad7cb9f3cULL)), expected);
  EXPECT_TRUE(auth.Verify(0xc388321ad7cb9f3cULL, expected));
}

// --- rejections and details ------------------------------------------------

TEST(CarpAuthTest, RejectsWrongCounterPassphraseVipsAndDigests) {
  const std::vector<IpAddress> vips = {Ip("192.0.2.100")};
  const CarpAuthenticator auth(Bytes("secret"), 10, vips);
  const HmacDigest good = auth.Sign(42);
  EXPECT_TRUE(auth.Verify(42, good));
  EXPECT_FALSE(auth.Verify(43, good));
  for (size_t i = 0; i < good.size(); ++i) {
    HmacDigest bad = good;
    bad[i] ^= 0x01;
    EXPECT_FALSE(auth.Verify(42, bad)) << "byte " << i;
  }
  EXPECT_FALSE(auth.Verify(42, std::span<const uint8_t>(good).first(19)));
  EXPECT_FALSE(auth.Verify(42, {}));

  EXPECT_FALSE(CarpAuthenticator(Bytes("secreT"), 10, vips).Verify(42, good));
  EXPECT_FALSE(CarpAuthenticator(Bytes("secret"), 11, vips).Verify(42, good));
  const std::vector<IpAddress> two = {Ip("192.0.2.100"), Ip("192.0.2.101")};
  EXPECT_FALSE(CarpAuthenticator(Bytes("secret"), 10, two).Verify(42, good));
}

TEST(CarpAuthTest, WithoutScopeEmbeddedVipOnlyOneVariantIsAccepted) {
  // Same VIPs as V2 minus the link-local: the V2a digest matches, V2b does not.
  const std::vector<IpAddress> vips = {Ip("192.0.2.7"), Ip("198.51.100.20"), Ip("192.0.2.100"),
                                       Ip("2001:db8::100")};
  const CarpAuthenticator auth(Bytes("mekmitasdigoat"), 1, vips);
  EXPECT_TRUE(
      auth.Verify(0x1122334455667788ULL, FromHex("7799672af1427e01f3b82290ce9c685185333e60")));
  EXPECT_FALSE(
      auth.Verify(0x1122334455667788ULL, FromHex("c456444e22c789a665a6265493b73b026465cc54")));
}

TEST(CarpAuthTest, SortsNumericallyAndHashesDuplicatesOnce) {
  // 10.0.0.9 < 10.0.0.10 numerically (a string sort would disagree).
  const std::vector<IpAddress> vips = {Ip("10.0.0.10"), Ip("2001:db8::2"), Ip("10.0.0.9"),
                                       Ip("10.0.0.10"), Ip("2001:db8::1"), Ip("2001:db8::2")};
  EXPECT_EQ(CarpHmacMessage(7, vips, false),
            FromHex("020107 0a000009 0a00000a"
                    "20010db8000000000000000000000001 20010db8000000000000000000000002"));
}

TEST(CarpAuthTest, ScopeEmbeddedBytesTwoAndThreeAreZeroed) {
  // Link-local multicast ff02::1 is scope-embedded too; a non-zero bytes 2-3 is
  // what a BSD kernel would hold internally and must not reach the hash.
  const std::vector<IpAddress> vips = {Ip("fe80:1234::1"), Ip("ff02::1")};
  EXPECT_EQ(CarpHmacMessage(3, vips, false), FromHex("020103"));
  EXPECT_EQ(CarpHmacMessage(3, vips, true),
            FromHex("020103 fe800000000000000000000000000001 ff020000000000000000000000000001"));
}

TEST(CarpAuthTest, PassphraseIsTruncatedToNineteenBytes) {
  const std::vector<IpAddress> vips = {Ip("192.0.2.100")};
  const CarpAuthenticator longer(Bytes("0123456789abcdefghiXYZ"), 10, vips);
  const CarpAuthenticator truncated(Bytes("0123456789abcdefghi"), 10, vips);
  EXPECT_EQ(longer.Sign(5), truncated.Sign(5));
  EXPECT_NE(CarpAuthenticator(Bytes("0123456789abcdefgh"), 10, vips).Sign(5), truncated.Sign(5));
}

TEST(CarpAuthTest, EmptyPassphraseIsAllowedLikeTheBsds) {
  const std::vector<IpAddress> vips = {Ip("192.0.2.100")};
  const CarpAuthenticator auth({}, 10, vips);
  const auto message = CarpHmacMessage(10, vips, false);
  EXPECT_EQ(auth.Sign(1),
            HmacSha1(std::vector<uint8_t>(20, 0), Concat(message, FromHex("0000000000000001"))));
}

}  // namespace
}  // namespace hafw::carp
