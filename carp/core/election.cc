#include "carp/core/election.h"

#include <algorithm>

namespace hafw::carp {

namespace {

// 3 x advbase + advskew/256 in 1/256 s: the classic master-down value, also the
// threshold of the "master will time out anyway" rule (§3.3).
constexpr uint32_t ClassicMasterDownUnits(uint8_t advbase, uint8_t advskew) {
  return 3 * static_cast<uint32_t>(advbase) * 256 + advskew;
}

}  // namespace

Duration AdvertisementInterval(uint8_t advbase, uint8_t advskew) {
  if (advbase == 0 && advskew == 0) return kSkewUnit;
  return Seconds(advbase) + advskew * kSkewUnit;
}

bool IsBowOut(const ElectionView& view) {
  return view.advbase == kBowOutAdvbase && view.advskew == kBowOutAdvskew;
}

Duration MasterDownInterval(uint8_t advbase, uint8_t advskew, MasterDownRule rule) {
  if (rule == MasterDownRule::kOpenBsd2025) return 3 * AdvertisementInterval(advbase, advskew);
  // OpenBSD <= 2020 special-cases advbase 0 so a sub-second master can be
  // detected (§3.2): 3 x advskew/256, at least 3/256 s.
  if (advbase == 0) return 3 * std::max<int>(advskew, 1) * kSkewUnit;
  return ClassicMasterDownUnits(advbase, advskew) * kSkewUnit;
}

uint8_t AdvertisedAdvskew(uint8_t advskew, uint8_t demote, bool demote_raises_advskew) {
  if (demote == 0 || !demote_raises_advskew) return advskew;
  return std::max(advskew, kDemotedAdvskew);
}

std::optional<TransitionCause> MasterShouldYield(const ElectionView& mine,
                                                 const ElectionView& theirs) {
  // A bow-out (255/255) says "I am leaving": yielding to it would leave the
  // vhid without a master until master-down (OpenBSD's table would, when the
  // leaver is less demoted; we deliberately do not, docs/carp.md).
  if (IsBowOut(theirs)) return std::nullopt;
  const bool not_slower =
      TimingUnits(theirs.advbase, theirs.advskew) <= TimingUnits(mine.advbase, mine.advskew);
  if ((not_slower && theirs.demote <= mine.demote) || theirs.demote < mine.demote) {
    return TransitionCause::kBetterMaster;
  }
  return std::nullopt;
}

std::optional<TransitionCause> BackupShouldTakeOver(const ElectionView& mine,
                                                    const ElectionView& theirs, bool preempt) {
  const uint32_t their_units = TimingUnits(theirs.advbase, theirs.advskew);
  if (preempt && their_units > TimingUnits(mine.advbase, mine.advskew) &&
      theirs.demote >= mine.demote) {
    return TransitionCause::kPreempted;
  }
  if (theirs.demote > mine.demote) return TransitionCause::kMasterDemoted;
  // With advbase 0 the threshold would be a few 1/256 s, so every ordinary
  // master would look "too slow"; OpenBSD exempts it. A bow-out is the one
  // advertisement that always means "take over now", so it is not exempt
  // (with OpenBSD's rule a sub-second backup without preempt ignores it).
  if ((mine.advbase != 0 && ClassicMasterDownUnits(mine.advbase, mine.advskew) < their_units) ||
      IsBowOut(theirs)) {
    return TransitionCause::kMasterTooSlow;
  }
  return std::nullopt;
}

}  // namespace hafw::carp
