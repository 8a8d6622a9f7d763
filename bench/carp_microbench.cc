// CARP codec microbenchmark: the per-advertisement cost of the receive path
// (decode + HMAC verify, optionally + election engine step) and of the send
// path (sign + encode). Figures and the command line: docs/benchmarks.md.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "carp/core/carp_auth.h"
#include "carp/core/codec.h"
#include "carp/core/crypto.h"
#include "carp/core/demotion_groups.h"
#include "carp/core/vhost_set.h"

namespace hafw::carp {
namespace {

constexpr size_t kPacketCount = 256;  // distinct counters, so nothing is cached

const std::vector<uint8_t>& Passphrase() {
  static const std::vector<uint8_t> passphrase = {'s', 'e', 'c', 'r', 'e', 't'};
  return passphrase;
}

std::vector<IpAddress> LabVips() { return {IpAddress::V4({192, 0, 2, 100})}; }

// OpenBSD-style dual-stack vhid: a link-local VIP means two HMAC contexts, and a
// digest made without it (what peers send) is checked against both.
std::vector<IpAddress> DualStackVips() {
  return {IpAddress::V4({192, 0, 2, 7}), IpAddress::V4({192, 0, 2, 100}),
          IpAddress::V4({198, 51, 100, 20}),
          IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0}),
          IpAddress::V6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0x5e, 0xff, 0xfe, 0, 1, 1})};
}

// Signed advertisements as a peer (advskew 0, advbase 1) would send them.
std::vector<AdvertisementBytes> SignedPackets(uint8_t vhid, const std::vector<IpAddress>& vips) {
  const CarpAuthenticator auth(Passphrase(), vhid, vips);
  std::vector<AdvertisementBytes> packets;
  for (size_t i = 0; i < kPacketCount; ++i) {
    Advertisement ad;
    ad.vhid = vhid;
    ad.advbase = 1;
    ad.counter = 0x9e3779b97f4a7c15ULL * (i + 1);
    ad.hmac = auth.Sign(ad.counter);
    packets.push_back(EncodeAdvertisement(ad));
  }
  return packets;
}

void DecodeVerify(benchmark::State& state, uint8_t vhid, const std::vector<IpAddress>& vips) {
  const auto packets = SignedPackets(vhid, vips);
  const CarpAuthenticator auth(Passphrase(), vhid, vips);
  size_t i = 0;
  uint64_t accepted = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): benchmark idiom
    const auto ad = DecodeAdvertisement(packets[i++ % kPacketCount]);
    const bool ok = ad.has_value() && auth.Verify(ad->counter, ad->hmac);
    accepted += ok ? 1 : 0;
    benchmark::DoNotOptimize(ok);
  }
  // A benchmark of a path that rejects everything would measure the wrong thing.
  if (accepted != static_cast<uint64_t>(state.iterations())) state.SkipWithError("verify failed");
  state.SetItemsProcessed(state.iterations());
}

void BM_DecodeVerify(benchmark::State& state) { DecodeVerify(state, 10, LabVips()); }
BENCHMARK(BM_DecodeVerify);

void BM_DecodeVerifyDualStack(benchmark::State& state) { DecodeVerify(state, 1, DualStackVips()); }
BENCHMARK(BM_DecodeVerifyDualStack);

void BM_DecodeOnly(benchmark::State& state) {
  const auto packets = SignedPackets(10, LabVips());
  size_t i = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): benchmark idiom
    auto ad = DecodeAdvertisement(packets[i++ % kPacketCount]);
    benchmark::DoNotOptimize(ad);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeOnly);

void BM_EncodeSign(benchmark::State& state) {
  const CarpAuthenticator auth(Passphrase(), 10, LabVips());
  Advertisement ad;
  ad.vhid = 10;
  ad.advbase = 1;
  ad.advskew = 100;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): benchmark idiom
    ++ad.counter;
    ad.hmac = auth.Sign(ad.counter);
    auto bytes = EncodeAdvertisement(ad);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeSign);

// For comparison: HMAC from scratch (key schedule + message) per packet, which
// the precomputed inner hash of PrefixedHmacSha1 avoids.
void BM_HmacOneShot(benchmark::State& state) {
  std::vector<uint8_t> message = CarpHmacMessage(10, LabVips(), false);
  message.resize(message.size() + 8);
  uint64_t counter = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): benchmark idiom
    message.back() = static_cast<uint8_t>(++counter);
    auto digest = HmacSha1(Passphrase(), message);
    benchmark::DoNotOptimize(digest);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HmacOneShot);

// Receive path through the node's VhostSet: decode, vhid lookup, checks, HMAC
// verify and the BACKUP engine re-arming its master-down timer.
void BM_DecodeVerifyEngineStep(benchmark::State& state) {
  VhostConfig config;
  config.vhid = 10;
  config.advskew = 100;  // we lose to the peer's advskew 0 and stay BACKUP
  config.vips = LabVips();
  config.passphrase = Passphrase();
  VhostSet set{DemotionGroups()};
  if (!set.Add("eth0", config, /*cookie=*/0x1234)) {
    state.SkipWithError("VhostSet::Add failed");
    return;
  }
  TimePoint now{};
  set.Start(now);
  const auto packets = SignedPackets(10, LabVips());
  PacketInfo info;
  info.family = IpFamily::kV4;
  info.source = IpAddress::V4({192, 0, 2, 1});
  info.destination = IpAddress::V4({224, 0, 0, 18});
  info.ttl = kRequiredTtl;

  const VhostEngine* engine = set.Find("eth0", 10);
  const uint64_t received_before = engine->Status().adverts_received;
  size_t i = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): benchmark idiom
    now += Seconds(1);    // one advertisement per advbase, as on the wire
    auto actions = set.OnPacket(now, "eth0", info, packets[i++ % kPacketCount]);
    benchmark::DoNotOptimize(actions);
  }
  const uint64_t received = engine->Status().adverts_received - received_before;
  if (received != static_cast<uint64_t>(state.iterations()) ||
      engine->State() != VhostState::kBackup) {
    state.SkipWithError("engine did not accept every advertisement as BACKUP");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeVerifyEngineStep);

}  // namespace
}  // namespace hafw::carp

BENCHMARK_MAIN();
