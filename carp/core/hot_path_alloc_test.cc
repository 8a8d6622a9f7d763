// The packet path allocates nothing: VhostSet::OnPacket (decode, lookup by
// interface and vhid, HMAC verification, the engine) for the packets a node
// sees all the time. Counts every malloc of the process through glibc
// interposition, only while a test's window is open. Not built with
// sanitizers (they own malloc).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "carp/core/carp_auth.h"
#include "carp/core/codec.h"
#include "carp/core/vhost_set.h"
#include "carp/testing/vhost_test_util.h"

// NOLINTBEGIN: glibc's allocator, under its own (reserved) names
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* ptr, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* ptr);
}

namespace {
std::atomic<bool> counting{false};
std::atomic<uint64_t> allocations{0};
void Count() {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" void* malloc(size_t size) {
  Count();
  return __libc_malloc(size);
}
extern "C" void* calloc(size_t count, size_t size) {
  Count();
  return __libc_calloc(count, size);
}
extern "C" void* realloc(void* ptr, size_t size) {
  Count();
  return __libc_realloc(ptr, size);
}
extern "C" void* aligned_alloc(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
extern "C" void* memalign(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
extern "C" int posix_memalign(void** out, size_t alignment, size_t size) {
  Count();
  *out = __libc_memalign(alignment, size);
  return *out != nullptr ? 0 : 12;  // ENOMEM
}
extern "C" void free(void* ptr) { __libc_free(ptr); }
// NOLINTEND

namespace hafw::carp {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace): test helpers only

const TimePoint kT0 = TimePoint{} + Seconds(1000);

// Allocations made by f(), which runs `n` times.
template <typename F>
uint64_t AllocationsOf(int n, F f) {
  f();  // warm-up: first-use initialisation is not the steady state
  allocations = 0;
  counting = true;
  for (int i = 0; i < n; ++i) f();
  counting = false;
  return allocations.load();
}

PacketInfo Info() {
  PacketInfo info;
  info.family = IpFamily::kV4;
  info.source = kPeerV4;
  info.destination = kGroupV4;
  info.ttl = 255;
  return info;
}

class HotPathAllocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Interface names longer than the small-string buffer: a key built per
    // packet would have to allocate.
    ASSERT_TRUE(set_.Add(kLan, MakeConfig(/*advskew=*/100), 1).has_value());
    ASSERT_TRUE(set_.Add(kLan, MakeConfig(100, {Ip("192.0.2.101")}, /*vhid=*/11), 2).has_value());
    ASSERT_TRUE(set_.Add(kWan, MakeConfig(0, {Ip("198.51.100.1")}, 20), 3).has_value());
    (void)set_.Start(kT0);
  }
  static constexpr const char* kLan = "lan-interface-0";
  static constexpr const char* kWan = "wan-interface-00";
  VhostSet set_{DemotionGroups()};
};

TEST_F(HotPathAllocTest, CountingWorks) {
  EXPECT_EQ(
      AllocationsOf(10,
                    [] {
                      auto* p = new int(1);
                      asm volatile("" : : "r"(p) : "memory");  // the compiler may not elide it
                      delete p;
                    }),
      10u);
}

TEST_F(HotPathAllocTest, BackupHearingItsMasterAllocatesNothing) {
  const auto master = EncodeAdvertisement(MakeRx(MakeConfig(100), PeerAd{}).ad);
  TimePoint now = kT0;
  const uint64_t n = AllocationsOf(1000, [&] {
    now += Millis(1);
    auto actions = set_.OnPacket(now, kLan, Info(), master);
    EXPECT_TRUE(actions.empty());
  });
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(set_.Find(kLan, 10)->State(), VhostState::kBackup);
  EXPECT_GE(set_.Find(kLan, 10)->Status().adverts_received, 1000u);
}

TEST_F(HotPathAllocTest, DroppedPacketsAllocateNothing) {
  VhostConfig other = MakeConfig(100);
  other.passphrase = Pass("wrong");
  const auto bad_auth = EncodeAdvertisement(MakeRx(other, PeerAd{}).ad);
  const auto unknown_vhid =
      EncodeAdvertisement(MakeRx(MakeConfig(0, {}, /*vhid=*/99), PeerAd{}).ad);
  const std::vector<uint8_t> short_packet(10, 0x21);
  PacketInfo low_ttl = Info();
  low_ttl.ttl = 64;
  const auto good = EncodeAdvertisement(MakeRx(MakeConfig(100), PeerAd{}).ad);
  const uint64_t n = AllocationsOf(200, [&] {
    (void)set_.OnPacket(kT0, kLan, Info(), bad_auth);
    (void)set_.OnPacket(kT0, kLan, Info(), unknown_vhid);
    (void)set_.OnPacket(kT0, kWan, Info(), short_packet);
    (void)set_.OnPacket(kT0, kLan, low_ttl, good);
  });
  EXPECT_EQ(n, 0u);
  const auto& drops = set_.Find(kLan, 10)->Status().drops;
  EXPECT_GE(drops.Get(DropReason::kBadAuth), 200u);
  EXPECT_GE(drops.Get(DropReason::kBadTtl), 200u);
  EXPECT_GE(set_.InterfaceDrops().at(kLan).Get(DropReason::kUnknownVhid), 200u);
  EXPECT_GE(set_.InterfaceDrops().at(kWan).Get(DropReason::kShort), 200u);
}

TEST_F(HotPathAllocTest, VerifyingAnHmacAllocatesNothing) {
  const VhostConfig config = MakeConfig(0, {Ip("192.0.2.100"), Ip("fe80::1"), Ip("2001:db8::1")});
  CarpAuthenticator auth(config.passphrase, config.vhid, config.vips);
  const auto digest = auth.Sign(42);
  bool ok = true;
  EXPECT_EQ(AllocationsOf(1000, [&] { ok = auth.Verify(42, digest) && ok; }), 0u);
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace hafw::carp
