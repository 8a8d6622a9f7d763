#include "carp/core/vhost_set.h"

#include <string>
#include <utility>

namespace hafw::carp {

namespace {

void Tag(const std::string& interface, uint8_t vhid, const Actions& actions, VhostActions& out) {
  for (const auto& action : actions) out.push_back(VhostAction{interface, vhid, action});
}

using EngineMap = std::map<std::pair<std::string, uint8_t>, VhostEngine, std::less<>>;

// Hands the new effective demotion to every engine on the changed interfaces;
// the MASTERs among them advertise at once.
void PropagateDemotion(const DemotionGroups& groups, EngineMap& engines, TimePoint now,
                       const std::vector<std::string>& interfaces, VhostActions& out) {
  for (const auto& ifname : interfaces) {
    const uint8_t demote = groups.EffectiveDemotion(ifname);
    for (auto& [key, engine] : engines) {
      if (key.first == ifname) {
        Tag(key.first, key.second, engine.OnDemotionChange(now, demote), out);
      }
    }
  }
}

}  // namespace

VhostSet::VhostSet(DemotionGroups groups) : groups_(std::move(groups)) {}

Result<void> VhostSet::Add(const std::string& interface, const VhostConfig& config,
                           uint64_t cookie) {
  const uint8_t vhid = config.vhid;
  // The config layer validates too; these would break the wire format or the
  // election, so the core refuses them on its own.
  if (vhid == 0) return MakeError(ErrorCode::kInvalidArgument, "vhid 0 is not allowed");
  if (config.advskew >= kBowOutAdvskew) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "vhid " + std::to_string(vhid) + ": advskew must be 0..254");
  }
  if (config.vips.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "vhid " + std::to_string(vhid) + ": no virtual addresses");
  }
  if (config.passphrase.size() > kMaxPassphraseSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "vhid " + std::to_string(vhid) + ": passphrase longer than 19 bytes");
  }
  auto key = std::make_pair(interface, vhid);
  if (engines_.contains(key)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "vhid " + std::to_string(vhid) + " already exists on " + interface);
  }
  groups_.AddInterface(interface);
  DropCounters& drops = interface_drops_.try_emplace(interface).first->second;
  const bool link_up = link_up_.try_emplace(interface, true).first->second;
  auto [it, inserted] = engines_.try_emplace(std::move(key), config, cookie);
  InterfaceEngines& index = by_interface_[interface];
  index.drops = &drops;
  index.vhids.emplace_back(vhid, &it->second);
  // A new engine is INIT, so these only set its view of the world.
  it->second.OnDemotionChange(TimePoint{}, groups_.EffectiveDemotion(interface));
  if (!link_up) it->second.OnLinkChange(TimePoint{}, false);
  return {};
}

VhostActions VhostSet::Start(TimePoint now) {
  VhostActions out;
  for (auto& [key, engine] : engines_) Tag(key.first, key.second, engine.Start(now), out);
  return out;
}

VhostActions VhostSet::Stop(TimePoint now) {
  VhostActions out;
  for (auto& [key, engine] : engines_) Tag(key.first, key.second, engine.Stop(now), out);
  return out;
}

VhostActions VhostSet::OnPacket(TimePoint now, std::string_view interface, const PacketInfo& info,
                                std::span<const uint8_t> carp_bytes) {
  VhostActions out;
  const auto index = by_interface_.find(interface);
  if (index == by_interface_.end()) {
    // No vhid on this interface (the adapter opens sockets only where there
    // are some): counted under a new key, off the normal path.
    auto decoded = DecodeAdvertisement(carp_bytes);
    interface_drops_[std::string(interface)].Count(decoded ? DropReason::kUnknownVhid
                                                           : decoded.error());
    return out;
  }
  DropCounters& drops = *index->second.drops;
  auto decoded = DecodeAdvertisement(carp_bytes);
  if (!decoded) {
    drops.Count(decoded.error());
    return out;
  }
  VhostEngine* engine = nullptr;
  for (const auto& [vhid, candidate] : index->second.vhids) {
    if (vhid == decoded->vhid) engine = candidate;
  }
  if (engine == nullptr) {
    drops.Count(DropReason::kUnknownVhid);
    return out;
  }
  ReceivedAdvertisement rx;
  rx.family = info.family;
  rx.source = info.source;
  rx.destination = info.destination;
  rx.ttl = info.ttl;
  rx.from_local_address = info.from_local_address;
  rx.ad = *decoded;
  Tag(index->first, decoded->vhid, engine->OnAdvertisement(now, rx), out);
  return out;
}

VhostActions VhostSet::OnTimer(TimePoint now) {
  VhostActions out;
  for (auto& [key, engine] : engines_) {
    auto deadline = engine.NextDeadline();
    if (deadline && *deadline <= now) Tag(key.first, key.second, engine.OnTimer(now), out);
  }
  return out;
}

VhostActions VhostSet::OnLinkChange(TimePoint now, std::string_view interface, bool up) {
  VhostActions out;
  auto [state, inserted] = link_up_.try_emplace(std::string(interface), true);
  // Repeated reports must not stack the "link" demotion.
  if (state->second == up) return out;
  state->second = up;
  for (auto& [key, engine] : engines_) {
    if (key.first == interface) Tag(key.first, key.second, engine.OnLinkChange(now, up), out);
  }
  const std::vector<std::string> changed =
      groups_.AdjustGroupsOf(interface, LinkReason(interface), up ? -1 : +1, now);
  PropagateDemotion(groups_, engines_, now, changed, out);
  return out;
}

VhostActions VhostSet::AdjustDemotion(TimePoint now, std::string_view group,
                                      std::string_view reason, int delta) {
  VhostActions out;
  PropagateDemotion(groups_, engines_, now, groups_.Adjust(group, reason, delta, now), out);
  return out;
}

VhostActions VhostSet::SetDemotion(TimePoint now, std::string_view group, std::string_view reason,
                                   int count) {
  VhostActions out;
  PropagateDemotion(groups_, engines_, now, groups_.Set(group, reason, count, now), out);
  return out;
}

std::optional<TimePoint> VhostSet::NextDeadline() const {
  std::optional<TimePoint> next;
  for (const auto& [key, engine] : engines_) {
    auto deadline = engine.NextDeadline();
    if (deadline && (!next || *deadline < *next)) next = deadline;
  }
  return next;
}

VhostEngine* VhostSet::FindEngine(std::string_view interface, uint8_t vhid) const {
  const auto index = by_interface_.find(interface);
  if (index == by_interface_.end()) return nullptr;
  for (const auto& [v, engine] : index->second.vhids) {
    if (v == vhid) return engine;
  }
  return nullptr;
}

const VhostEngine* VhostSet::Find(std::string_view interface, uint8_t vhid) const {
  return FindEngine(interface, vhid);
}

}  // namespace hafw::carp
