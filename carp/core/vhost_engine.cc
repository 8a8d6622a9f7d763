#include "carp/core/vhost_engine.h"

#include <algorithm>
#include <utility>

#include "carp/core/election.h"

namespace hafw::carp {

namespace {

bool IsCarpGroup(const IpAddress& address) { return address == CarpGroupAddress(address.Family()); }

bool HasFamily(const std::vector<IpAddress>& vips, IpFamily family) {
  return std::any_of(vips.begin(), vips.end(),
                     [family](const IpAddress& a) { return a.Family() == family; });
}

}  // namespace

std::string_view VhostStateName(VhostState state) {
  switch (state) {
    case VhostState::kInit:
      return "INIT";
    case VhostState::kBackup:
      return "BACKUP";
    case VhostState::kMaster:
      return "MASTER";
  }
  return "UNKNOWN";
}

std::string_view TransitionCauseName(TransitionCause cause) {
  switch (cause) {
    case TransitionCause::kStarted:
      return "started";
    case TransitionCause::kMasterDown:
      return "master-down";
    case TransitionCause::kPreempted:
      return "preempted";
    case TransitionCause::kMasterDemoted:
      return "master-demoted";
    case TransitionCause::kMasterTooSlow:
      return "master-too-slow";
    case TransitionCause::kBetterMaster:
      return "better-master";
    case TransitionCause::kLinkDown:
      return "link-down";
    case TransitionCause::kLinkUp:
      return "link-up";
    case TransitionCause::kStopped:
      return "stopped";
  }
  return "unknown";
}

// The state machine's private steps. The public methods below only validate
// inputs and pick one of these.
class VhostEngineInternals {
 public:
  // Runnable in the §3.1 sense: started, link up, at least one VIP.
  static bool Runnable(const VhostEngine& e) {
    return e.status_.running && e.status_.link_up && (e.has_v4_ || e.has_v6_);
  }

  static ElectionView Mine(const VhostEngine& e) {
    return ElectionView{e.config_.advbase, e.status_.advertised_advskew, e.status_.demote};
  }

  static void Record(VhostEngine& e, TimePoint now, VhostState to, TransitionCause cause,
                     Actions& out) {
    const VhostState from = e.status_.state;
    e.status_.state = to;
    ++e.status_.transitions;
    e.status_.last_transition = Transition{now, from, to, cause};
    out.emplace_back(StateChanged{from, to, cause});
  }

  static void ArmMasterDown(VhostEngine& e, TimePoint now, IpFamily family) {
    const TimePoint deadline = now + e.MasterDownInterval();
    if (family == IpFamily::kV4) {
      e.master_down_v4_deadline_ = deadline;
    } else {
      e.master_down_v6_deadline_ = deadline;
    }
  }

  static void ArmAllMasterDown(VhostEngine& e, TimePoint now) {
    if (e.has_v4_) ArmMasterDown(e, now, IpFamily::kV4);
    if (e.has_v6_) ArmMasterDown(e, now, IpFamily::kV6);
  }

  static void ClearTimers(VhostEngine& e) {
    e.advert_deadline_.reset();
    e.master_down_v4_deadline_.reset();
    e.master_down_v6_deadline_.reset();
    e.delayed_announce_ = 0;
  }

  // One advertisement per family the vhid has VIPs in (§3.1), all carrying the
  // constant cookie as counter (§1.5).
  static void SendAdverts(VhostEngine& e, bool bow_out, Actions& out) {
    Advertisement ad;
    ad.vhid = e.config_.vhid;
    ad.advbase = bow_out ? kBowOutAdvbase : e.config_.advbase;
    ad.advskew = bow_out ? kBowOutAdvskew : e.status_.advertised_advskew;
    ad.demote = e.status_.demote;
    ad.counter = e.cookie_;
    ad.hmac = e.cookie_hmac_;
    const AdvertisementBytes bytes = EncodeAdvertisement(ad);
    if (e.has_v4_) {
      out.emplace_back(SendAdvertisement{IpFamily::kV4, e.config_.unicast_peer_v4, bytes, bow_out});
      ++e.status_.adverts_sent;
    }
    if (e.has_v6_) {
      out.emplace_back(SendAdvertisement{IpFamily::kV6, e.config_.unicast_peer_v6, bytes, bow_out});
      ++e.status_.adverts_sent;
    }
  }

  // INIT -> BACKUP: wait one full master-down interval per family (§3.1).
  static void EnterBackupFromInit(VhostEngine& e, TimePoint now, TransitionCause cause,
                                  Actions& out) {
    Record(e, now, VhostState::kBackup, cause, out);
    ClearTimers(e);
    ArmAllMasterDown(e, now);
  }

  // BACKUP -> MASTER (§4.1): state, VIPs, an advertisement at once, gratuitous
  // ARP / NA, and a second announcement two advertisement intervals later.
  static void BecomeMaster(VhostEngine& e, TimePoint now, TransitionCause cause, Actions& out) {
    Record(e, now, VhostState::kMaster, cause, out);
    out.emplace_back(InstallVips{});
    ClearTimers(e);
    SendAdverts(e, /*bow_out=*/false, out);
    out.emplace_back(AnnounceVips{});
    e.delayed_announce_ = 2;
    e.advert_deadline_ = now + e.AdvertisementInterval();
  }

  // MASTER -> BACKUP on a better master: stop advertising, arm master-down.
  static void YieldToPeer(VhostEngine& e, TimePoint now, TransitionCause cause, Actions& out) {
    Record(e, now, VhostState::kBackup, cause, out);
    out.emplace_back(RemoveVips{});
    ClearTimers(e);
    ArmAllMasterDown(e, now);
  }

  // Any -> INIT. A MASTER bows out first when asked to (administrative down).
  static void EnterInit(VhostEngine& e, TimePoint now, TransitionCause cause, bool bow_out,
                        Actions& out) {
    const bool was_master = e.status_.state == VhostState::kMaster;
    if (was_master && bow_out) SendAdverts(e, /*bow_out=*/true, out);
    if (e.status_.state != VhostState::kInit) Record(e, now, VhostState::kInit, cause, out);
    if (was_master) out.emplace_back(RemoveVips{});
    ClearTimers(e);
  }

  // Runs the checks of §1.4 that belong to the vhid; nullopt means accepted.
  static std::optional<DropReason> Check(const VhostEngine& e, const ReceivedAdvertisement& rx) {
    if (rx.ttl != kRequiredTtl) return DropReason::kBadTtl;
    if (e.status_.state == VhostState::kInit) return DropReason::kNotRunning;
    if (rx.ad.vhid != e.config_.vhid) return DropReason::kUnknownVhid;
    const bool family_ok = rx.family == IpFamily::kV4 ? e.has_v4_ : e.has_v6_;
    if (!family_ok || rx.source.Family() != rx.family) return DropReason::kWrongFamily;
    // A multicast destination other than the CARP group is someone else's
    // traffic; unicast destinations are the peer mode's (§1.6).
    if (rx.destination.IsMulticast() && !IsCarpGroup(rx.destination)) {
      return DropReason::kBadDestination;
    }
    if (rx.ad.counter == e.cookie_ || rx.from_local_address) return DropReason::kOwnPacket;
    if (!e.auth_.Verify(rx.ad.counter, rx.ad.hmac)) return DropReason::kBadAuth;
    return std::nullopt;
  }
};

using Internals = VhostEngineInternals;

VhostEngine::VhostEngine(VhostConfig config, uint64_t cookie)
    : config_(std::move(config)),
      cookie_(cookie),
      auth_(config_.passphrase, config_.vhid, config_.vips),
      cookie_hmac_(auth_.Sign(cookie_)),
      has_v4_(HasFamily(config_.vips, IpFamily::kV4)),
      has_v6_(HasFamily(config_.vips, IpFamily::kV6)) {
  status_.advertised_advskew = config_.advskew;
}

Actions VhostEngine::Start(TimePoint now) {
  Actions out;
  if (status_.running) return out;
  status_.running = true;
  if (status_.state == VhostState::kInit && Internals::Runnable(*this)) {
    Internals::EnterBackupFromInit(*this, now, TransitionCause::kStarted, out);
  }
  return out;
}

Actions VhostEngine::Stop(TimePoint now) {
  Actions out;
  if (!status_.running) return out;
  status_.running = false;
  Internals::EnterInit(*this, now, TransitionCause::kStopped, /*bow_out=*/true, out);
  return out;
}

Actions VhostEngine::OnLinkChange(TimePoint now, bool up) {
  Actions out;
  if (status_.link_up == up) return out;
  status_.link_up = up;
  if (!up) {
    // The parent cannot send, so there is no bow-out (§3.8).
    Internals::EnterInit(*this, now, TransitionCause::kLinkDown, /*bow_out=*/false, out);
  } else if (status_.state == VhostState::kInit && Internals::Runnable(*this)) {
    Internals::EnterBackupFromInit(*this, now, TransitionCause::kLinkUp, out);
  }
  return out;
}

Actions VhostEngine::OnDemotionChange(TimePoint /*now*/, uint8_t demote) {
  Actions out;
  if (demote == status_.demote) return out;
  status_.demote = demote;
  status_.advertised_advskew =
      AdvertisedAdvskew(config_.advskew, demote, config_.demote_raises_advskew);
  // Tell peers at once so a better node can take over now (§3.6); the periodic
  // timer keeps its phase.
  if (status_.state == VhostState::kMaster) Internals::SendAdverts(*this, false, out);
  return out;
}

Actions VhostEngine::OnAdvertisement(TimePoint now, const ReceivedAdvertisement& rx) {
  Actions out;
  if (auto drop = Internals::Check(*this, rx)) {
    status_.drops.Count(*drop);
    return out;
  }
  ++status_.adverts_received;
  status_.last_peer = rx.source;
  status_.last_peer_advbase = rx.ad.advbase;
  status_.last_peer_advskew = rx.ad.advskew;
  status_.last_peer_demote = rx.ad.demote;

  const ElectionView mine = Internals::Mine(*this);
  const ElectionView theirs{rx.ad.advbase, rx.ad.advskew, rx.ad.demote};
  if (status_.state == VhostState::kMaster) {
    if (auto cause = MasterShouldYield(mine, theirs)) {
      Internals::YieldToPeer(*this, now, *cause, out);
    }
  } else if (auto cause = BackupShouldTakeOver(mine, theirs, config_.preempt)) {
    Internals::BecomeMaster(*this, now, *cause, out);
  } else {
    // Only this family's timer: the other family's master may be gone (§3.1).
    Internals::ArmMasterDown(*this, now, rx.family);
  }
  return out;
}

Actions VhostEngine::OnTimer(TimePoint now) {
  Actions out;
  switch (status_.state) {
    case VhostState::kInit:
      break;
    case VhostState::kBackup: {
      const bool v4_down = master_down_v4_deadline_ && *master_down_v4_deadline_ <= now;
      const bool v6_down = master_down_v6_deadline_ && *master_down_v6_deadline_ <= now;
      if (v4_down || v6_down) {
        Internals::BecomeMaster(*this, now, TransitionCause::kMasterDown, out);
      }
      break;
    }
    case VhostState::kMaster:
      if (advert_deadline_ && *advert_deadline_ <= now) {
        Internals::SendAdverts(*this, /*bow_out=*/false, out);
        // Re-armed from now, like the kernels' timeouts: a late timer shifts
        // the phase rather than bursting to catch up.
        advert_deadline_ = now + AdvertisementInterval();
        if (delayed_announce_ > 0 && --delayed_announce_ == 0) out.emplace_back(AnnounceVips{});
      }
      break;
  }
  return out;
}

std::optional<TimePoint> VhostEngine::NextDeadline() const {
  std::optional<TimePoint> next;
  for (const auto& d : {advert_deadline_, master_down_v4_deadline_, master_down_v6_deadline_}) {
    if (d && (!next || *d < *next)) next = d;
  }
  return next;
}

Duration VhostEngine::AdvertisementInterval() const {
  return carp::AdvertisementInterval(config_.advbase, status_.advertised_advskew);
}

Duration VhostEngine::MasterDownInterval() const {
  return carp::MasterDownInterval(config_.advbase, config_.advskew, config_.master_down_rule);
}

}  // namespace hafw::carp
