#pragma once

// The CARP-specific decisions of the election (carp-protocol.md §3.2, §3.3,
// §3.6), as pure functions. VhostEngine is the state machine that calls them;
// a VRRPv3 mode can reuse the state machine with its own timing and
// comparison functions.
//
// Timing values are compared in 1/256 s units: advbase * 256 + advskew.

#include <cstdint>
#include <optional>

#include "carp/core/vhost_engine.h"
#include "common/time.h"

namespace hafw::carp {

// Demotion at or above which demote_raises_advskew advertises this skew (the
// FreeBSD cap and the historic "suppress preempt" value, §3.6, §3.9).
inline constexpr uint8_t kDemotedAdvskew = 240;

// One side of a comparison: what a node advertises (or would advertise).
struct ElectionView {
  uint8_t advbase = 1;
  uint8_t advskew = 0;  // the advertised (effective) skew
  uint8_t demote = 0;   // OpenBSD demote byte; 0 from FreeBSD and UCARP
};

// The 255/255 farewell of an administratively stopped master (§3.7).
bool IsBowOut(const ElectionView& view);

// advbase * 256 + advskew: the advertisement interval in 1/256 s.
constexpr uint32_t TimingUnits(uint8_t advbase, uint8_t advskew) {
  return static_cast<uint32_t>(advbase) * 256 + advskew;
}

// advbase + advskew/256 s; 1/256 s when both are 0 (§3.2).
Duration AdvertisementInterval(uint8_t advbase, uint8_t advskew);

// How long a BACKUP waits for a silent master (§3.2):
//   kClassic:     3 x advbase + advskew/256 (3 x advskew/256 when advbase is 0)
//   kOpenBsd2025: 3 x (advbase + advskew/256)
// Both give 3/256 s when advbase and advskew are 0.
Duration MasterDownInterval(uint8_t advbase, uint8_t advskew, MasterDownRule rule);

// The skew we put on the wire: the configured one, or max(advskew, 240) while
// demoted when demote_raises_advskew is set (§3.6).
uint8_t AdvertisedAdvskew(uint8_t advskew, uint8_t demote, bool demote_raises_advskew);

// MASTER receiving a valid advertisement (OpenBSD `carp_proto_input_c`, §3.3):
// yields (kBetterMaster) when the peer is at least as fast and not more demoted,
// or less demoted whatever its timing. nullopt: keep advertising.
std::optional<TransitionCause> MasterShouldYield(const ElectionView& mine,
                                                 const ElectionView& theirs);

// BACKUP receiving a valid advertisement (§3.3), rules in OpenBSD's order:
//   kPreempted:     preempt, the master is slower and not less demoted;
//   kMasterDemoted: the master is more demoted (no preempt needed);
//   kMasterTooSlow: our advbase is not 0 and 3 x advbase + advskew/256 is less
//                   than the master's interval ("it will time out anyway"; the
//                   255/255 bow-out triggers this).
// nullopt: stay BACKUP and re-arm that family's master-down timer.
std::optional<TransitionCause> BackupShouldTakeOver(const ElectionView& mine,
                                                    const ElectionView& theirs, bool preempt);

}  // namespace hafw::carp
