#include "statesync/io/tls_keys.h"

#include <gtest/gtest.h>

#include <string>

namespace hafw::statesync::io {
namespace {

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

constexpr std::string_view kKey = "0123456789abcdef0123456789abcdef-hafw-test-key";

// Expected values computed with Python's hashlib/hmac (RFC 5869 by hand), not
// with the code under test.
TEST(TlsKeysTest, KeyIdIsFirstEightHexDigitsOfSha256) {
  EXPECT_EQ(KeyIdOf(AsBytes(kKey)), "c3ce27b3");
}

TEST(TlsKeysTest, PskMatchesIndependentHkdf) {
  auto forward = DerivePsk(AsBytes(kKey), "fw1", "fw2");
  ASSERT_TRUE(forward) << forward.error().ToString();
  EXPECT_EQ(Hex(forward->Bytes()),
            "e66df9d91954119b86b128b60a1fd6f433836be6d64612d2c1204ff7b5179d6e");
  auto backward = DerivePsk(AsBytes(kKey), "fw2", "fw1");
  ASSERT_TRUE(backward);
  EXPECT_EQ(Hex(backward->Bytes()),
            "d8b416ed6d8f47e3ea3df8da414cdd5e90dddcbe6b170965f99407a11599e3ad");
}

TEST(TlsKeysTest, NameBoundaryIsUnambiguous) {
  // "fw1" || 0 || "2x" differs from "fw12" || 0 || "x".
  auto a = DerivePsk(AsBytes(kKey), "fw1", "2x");
  auto b = DerivePsk(AsBytes(kKey), "fw12", "x");
  ASSERT_TRUE(a && b);
  EXPECT_NE(Hex(a->Bytes()), Hex(b->Bytes()));
}

TEST(TlsKeysTest, SyncKeyRefusesEmptyAndCarriesItsId) {
  EXPECT_FALSE(SyncKey::FromBytes({}));
  auto key = SyncKey::FromBytes(AsBytes(kKey));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->Id(), "c3ce27b3");
  EXPECT_EQ(key->Bytes().size(), kKey.size());
}

TEST(TlsKeysTest, KeysFindCurrentAndPrevious) {
  SyncKeys keys{*SyncKey::FromBytes(AsBytes("new-key")), std::nullopt};
  EXPECT_EQ(keys.Count(), 1U);
  EXPECT_EQ(keys.FindById(KeyIdOf(AsBytes("new-key"))), 0U);
  EXPECT_FALSE(keys.FindById(KeyIdOf(AsBytes("old-key"))));
  keys.previous = *SyncKey::FromBytes(AsBytes("old-key"));
  EXPECT_EQ(keys.Count(), 2U);
  EXPECT_EQ(keys.FindById(KeyIdOf(AsBytes("old-key"))), 1U);
  EXPECT_EQ(keys.At(1).Id(), KeyIdOf(AsBytes("old-key")));
}

TEST(TlsKeysTest, IdentityRoundTrip) {
  EXPECT_EQ(PskIdentity("fw1", "c3ce27b3"), "fw1/c3ce27b3");
  auto parts = ParsePskIdentity("fw1/c3ce27b3");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->node, "fw1");
  EXPECT_EQ(parts->key_id, "c3ce27b3");
  // The last slash separates: names with a slash still parse.
  parts = ParsePskIdentity("a/b/0000abcd");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->node, "a/b");
}

TEST(TlsKeysTest, MalformedIdentitiesAreRefused) {
  for (std::string_view bad : {"", "fw1", "fw1/", "/c3ce27b3", "fw1/c3ce27b", "fw1/c3ce27b33",
                               "fw1/C3CE27B3", "fw1/c3ce27bz", "fw1 c3ce27b3"}) {
    EXPECT_FALSE(ParsePskIdentity(bad)) << bad;
  }
  EXPECT_FALSE(ParsePskIdentity(std::string(65, 'n') + "/c3ce27b3"));
  EXPECT_TRUE(ParsePskIdentity(std::string(64, 'n') + "/c3ce27b3"));
}

}  // namespace
}  // namespace hafw::statesync::io
