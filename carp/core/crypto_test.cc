// PrefixedHmacSha1 resumes saved SHA-1 states: it must equal the one-shot
// HMAC for every key length, prefix and suffix, call after call.

#include "carp/core/crypto.h"

#include <cstdint>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace hafw::carp {
namespace {

std::vector<uint8_t> Bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + 31 * i);
  return out;
}

std::vector<uint8_t> Concat(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  std::vector<uint8_t> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(PrefixedHmacSha1Test, EqualsOneShotHmacForEveryKeyLength) {
  // Empty, short, a full block, longer than a block (hashed first).
  for (size_t key_len : {0u, 19u, 64u, 100u}) {
    for (size_t prefix_len : {0u, 3u, 55u, 200u}) {
      SCOPED_TRACE(testing::Message() << "key " << key_len << " prefix " << prefix_len);
      const auto key = Bytes(key_len, 1);
      const auto prefix = Bytes(prefix_len, 2);
      PrefixedHmacSha1 hmac(key, prefix);
      for (size_t suffix_len : {0u, 8u, 70u}) {
        const auto suffix = Bytes(suffix_len, static_cast<uint8_t>(suffix_len));
        EXPECT_EQ(hmac.Finish(suffix), HmacSha1(key, Concat(prefix, suffix)));
      }
    }
  }
}

TEST(PrefixedHmacSha1Test, RepeatedAndInterleavedCallsDoNotDisturbTheSavedState) {
  const auto key = Bytes(19, 7);
  PrefixedHmacSha1 a(key, Bytes(11, 3));
  PrefixedHmacSha1 b(key, Bytes(27, 4));
  const auto first_a = a.Finish(Bytes(8, 1));
  const auto first_b = b.Finish(Bytes(8, 1));
  EXPECT_NE(first_a, first_b);
  for (int i = 0; i < 1000; ++i) {
    (void)a.Finish(Bytes(8, static_cast<uint8_t>(i)));
    (void)b.Finish(Bytes(8, static_cast<uint8_t>(i)));
  }
  EXPECT_EQ(a.Finish(Bytes(8, 1)), first_a);
  EXPECT_EQ(b.Finish(Bytes(8, 1)), first_b);
  PrefixedHmacSha1 moved = std::move(a);
  EXPECT_EQ(moved.Finish(Bytes(8, 1)), first_a);
  moved = std::move(b);
  EXPECT_EQ(moved.Finish(Bytes(8, 1)), first_b);
}

}  // namespace
}  // namespace hafw::carp
