// libFuzzer target: untrusted CARP bytes into the decoder, and then a stream of
// fuzzer-chosen packets, envelopes, time steps and link/demotion events into a
// VhostSet, so the election engine sees hostile input too.
//
// Input layout, chosen so that a bare captured advertisement (the seed corpus)
// is delivered unchanged as the first packet with a well-formed envelope:
// packet bytes are taken from the front, control values from the back
// (FuzzedDataProvider), and an exhausted tail yields the "plain" choices.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "carp/core/carp_auth.h"
#include "carp/core/codec.h"
#include "carp/core/demotion_groups.h"
#include "carp/core/vhost_set.h"

namespace hafw::carp {
namespace {

constexpr int kMaxSteps = 64;
const std::string kEth0 = "eth0";
const std::string kEth1 = "eth1";

std::vector<uint8_t> Passphrase() { return {'s', 'e', 'c', 'r', 'e', 't'}; }

// The lab configuration (vhid 10, 192.0.2.100, "secret") so that captured
// advertisements authenticate, plus a dual-stack vhid with a link-local VIP.
std::vector<VhostConfig> Configs() {
  VhostConfig lab;
  lab.vhid = 10;
  lab.advskew = 100;
  lab.vips = {IpAddress::V4({192, 0, 2, 100})};
  lab.passphrase = Passphrase();

  VhostConfig dual;
  dual.vhid = 1;
  dual.advskew = 0;
  dual.preempt = true;
  dual.demote_raises_advskew = true;
  dual.master_down_rule = MasterDownRule::kOpenBsd2025;
  dual.vips = {IpAddress::V4({198, 51, 100, 20}),
               IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0}),
               IpAddress::V6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0x5e, 0xff, 0xfe, 0, 1, 1})};
  dual.passphrase = Passphrase();
  return {lab, dual};
}

// Every advertisement the engine emits must be one a peer accepts: it decodes,
// and its HMAC verifies. Anything else is a bug worth a crash report.
void CheckActions(const VhostActions& actions) {
  static const std::vector<VhostConfig> configs = Configs();
  for (const VhostAction& tagged : actions) {
    const auto* send = std::get_if<SendAdvertisement>(&tagged.action);
    if (send == nullptr) continue;
    const auto decoded = DecodeAdvertisement(send->bytes);
    if (!decoded || decoded->vhid != tagged.vhid) std::abort();
    for (const VhostConfig& config : configs) {
      if (config.vhid != tagged.vhid) continue;
      const CarpAuthenticator auth(config.passphrase, config.vhid, config.vips);
      if (!auth.Verify(decoded->counter, decoded->hmac)) std::abort();
    }
  }
}

// Re-signs a packet so that fuzzer-chosen header fields get past the HMAC and
// the checksum and reach the state machine.
void Resign(std::vector<uint8_t>& packet) {
  if (packet.size() < kAdvertisementSize) return;
  Advertisement ad =
      ReadAdvertisementFields(std::span<const uint8_t>(packet).first<kAdvertisementSize>());
  for (const VhostConfig& config : Configs()) {
    if (config.vhid == ad.vhid) {
      ad.hmac = CarpAuthenticator(config.passphrase, config.vhid, config.vips).Sign(ad.counter);
    }
  }
  const AdvertisementBytes bytes = EncodeAdvertisement(ad);
  std::copy(bytes.begin(), bytes.end(), packet.begin());
}

PacketInfo Envelope(FuzzedDataProvider& fdp, uint8_t control) {
  PacketInfo info;
  info.family = (control & 0x10) ? IpFamily::kV6 : IpFamily::kV4;
  info.ttl = (control & 0x04) ? fdp.ConsumeIntegral<uint8_t>() : kRequiredTtl;
  info.from_local_address = (control & 0x20) != 0;
  if (info.family == IpFamily::kV4) {
    info.source = IpAddress::V4({192, 0, 2, static_cast<uint8_t>(1 + (control & 0x01))});
    info.destination = IpAddress::V4({224, 0, 0, 18});
  } else {
    info.source = IpAddress::V6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
    info.destination = IpAddress::V6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12});
  }
  if (control & 0x08) {
    // A fuzzer-chosen destination: unicast, wrong group or another family.
    std::array<uint8_t, 16> raw{};
    for (auto& b : raw) b = fdp.ConsumeIntegral<uint8_t>();
    info.destination =
        fdp.ConsumeBool() ? IpAddress::V6(raw) : IpAddress::V4({raw[0], raw[1], raw[2], raw[3]});
  }
  return info;
}

}  // namespace
}  // namespace hafw::carp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hafw;
  using namespace hafw::carp;

  // 1. The decoder alone, on the raw input of any length.
  const std::span<const uint8_t> whole(data, size);
  const auto decoded = DecodeAdvertisement(whole);
  if (decoded) {
    // Whatever decodes re-encodes to the same header. The checksum field may
    // differ only as 0x0000 vs 0xffff (both are "zero" in one's complement).
    const AdvertisementBytes again = EncodeAdvertisement(*decoded);
    if (InternetChecksum(again) != 0) std::abort();
    for (size_t i = 0; i < kAdvertisementSize; ++i) {
      if (i != 6 && i != 7 && again[i] != whole[i]) std::abort();
    }
  }

  // 2. The engine.
  DemotionGroups groups;
  groups.AddGroup("uplinks", {kEth0, kEth1});
  VhostSet set(std::move(groups));
  for (const VhostConfig& config : Configs()) {
    if (!set.Add(kEth0, config, /*cookie=*/0x5a5a5a5a00000000ULL | config.vhid)) std::abort();
  }
  TimePoint now{};
  CheckActions(set.Start(now));

  FuzzedDataProvider fdp(data, size);
  for (int step = 0; step < kMaxSteps && fdp.remaining_bytes() > 0; ++step) {
    std::vector<uint8_t> packet =
        fdp.ConsumeBytes<uint8_t>(std::min(fdp.remaining_bytes(), kAdvertisementSize));
    const uint8_t control = fdp.ConsumeIntegral<uint8_t>();
    const uint8_t shape = fdp.ConsumeIntegral<uint8_t>();
    if (shape & 0x01) packet.resize(fdp.ConsumeIntegralInRange<size_t>(0, packet.size()));
    if (shape & 0x02) {
      const auto trailing = fdp.ConsumeBytes<uint8_t>(fdp.ConsumeIntegralInRange<size_t>(0, 32));
      packet.insert(packet.end(), trailing.begin(), trailing.end());
    }
    if (shape & 0x04) Resign(packet);
    const PacketInfo info = Envelope(fdp, control);
    const std::string& interface = (control & 0x40) ? kEth1 : kEth0;
    CheckActions(set.OnPacket(now, interface, info, packet));

    switch (shape >> 4) {
      case 1:
        CheckActions(set.OnLinkChange(now, kEth0, fdp.ConsumeBool()));
        break;
      case 2:
        CheckActions(
            set.AdjustDemotion(now, "uplinks", "fuzz", fdp.ConsumeIntegralInRange<int>(-300, 300)));
        break;
      case 3:
        CheckActions(set.SetDemotion(now, "all", "fuzz", fdp.ConsumeIntegralInRange<int>(-5, 300)));
        break;
      case 4:
        CheckActions(set.Stop(now));
        break;
      case 5:
        CheckActions(set.Start(now));
        break;
      default:
        break;
    }

    // Time moves forward by a fuzzer-chosen step (0 when the tail is exhausted);
    // sometimes straight to the next deadline, as the I/O loop would.
    const auto deadline = set.NextDeadline();
    if ((control & 0x80) && deadline && *deadline > now) {
      now = *deadline;
    } else {
      now += Millis(fdp.ConsumeIntegralInRange<int64_t>(0, 10'000));
    }
    CheckActions(set.OnTimer(now));
  }
  // Let the master-down and advertisement timers run a few rounds.
  for (int i = 0; i < 4; ++i) {
    const auto deadline = set.NextDeadline();
    if (!deadline) break;
    if (*deadline > now) now = *deadline;
    CheckActions(set.OnTimer(now));
  }
  return 0;
}
