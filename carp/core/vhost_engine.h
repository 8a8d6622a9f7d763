#pragma once

// One CARP virtual host (vhid) as a sans-I/O state machine (carp-protocol.md §3).
// Every input carries `now`; every output is a returned list of actions, and the
// adapter asks NextDeadline() when to call OnTimer() next. The engine never reads
// a clock, a socket or a file.

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "carp/core/carp_auth.h"
#include "carp/core/codec.h"
#include "carp/core/drop_reason.h"
#include "common/ip_address.h"
#include "common/time.h"

namespace hafw::carp {

enum class VhostState : uint8_t { kInit, kBackup, kMaster };
std::string_view VhostStateName(VhostState state);  // "INIT", "BACKUP", "MASTER"

// How long a BACKUP waits for a silent master (§3.2).
enum class MasterDownRule : uint8_t {
  kClassic,      // 3 x advbase + advskew/256 (FreeBSD, UCARP, OpenBSD up to 2020)
  kOpenBsd2025,  // 3 x (advbase + advskew/256) (OpenBSD rev 1.370)
};

struct VhostConfig {
  uint8_t vhid = 0;
  uint8_t advbase = 1;  // seconds, 0..255; 0 gives sub-second adverts (with advskew > 0)
  uint8_t advskew = 0;  // 1/256 s, 0..254
  bool preempt = false;
  MasterDownRule master_down_rule = MasterDownRule::kClassic;
  // Also express demotion by advertising a higher advskew (max(advskew, 240)
  // while demoted), so FreeBSD and UCARP peers, which ignore the demote byte,
  // see it too (§3.6).
  bool demote_raises_advskew = false;
  std::vector<IpAddress> vips;               // IPv4 and/or IPv6; decides which families advertise
  std::vector<uint8_t> passphrase;           // 1..19 bytes (validated by the config layer)
  std::optional<IpAddress> unicast_peer_v4;  // send adverts there instead of 224.0.0.18
  std::optional<IpAddress> unicast_peer_v6;  // instead of ff02::12
};

// Why a state changed; shown by hactl and passed to hooks.
enum class TransitionCause : uint8_t {
  kStarted,        // INIT -> BACKUP at start or administrative up
  kMasterDown,     // BACKUP -> MASTER: no advertisement within the master-down interval
  kPreempted,      // BACKUP -> MASTER: preempt and the master is slower
  kMasterDemoted,  // BACKUP -> MASTER: the master advertises a higher demotion
  kMasterTooSlow,  // BACKUP -> MASTER: master slower than 3 x our advbase (bow-out)
  kBetterMaster,   // MASTER -> BACKUP: a master at least as good (or less demoted)
  kLinkDown,       // any -> INIT: parent link lost
  kLinkUp,         // INIT -> BACKUP: parent link back
  kStopped,        // any -> INIT: administrative down (after a bow-out if MASTER)
};
std::string_view TransitionCauseName(TransitionCause cause);  // "master-down", ...

// --- Actions: what the adapter must do, in the order returned. ---

struct SendAdvertisement {
  IpFamily family;
  std::optional<IpAddress> unicast_destination;  // nullopt: 224.0.0.18 / ff02::12
  AdvertisementBytes bytes;
  bool bow_out = false;  // the 255/255 farewell
};
struct StateChanged {
  VhostState from;
  VhostState to;
  TransitionCause cause;
};
struct InstallVips {};   // add the vhid's VIPs to the parent interface
struct RemoveVips {};    // remove them
struct AnnounceVips {};  // gratuitous ARP per IPv4 VIP, unsolicited NA per IPv6 VIP

using Action = std::variant<SendAdvertisement, StateChanged, InstallVips, RemoveVips, AnnounceVips>;
using Actions = std::vector<Action>;

// A received advertisement after decoding and the checksum check, with the IP
// envelope facts the engine needs.
struct ReceivedAdvertisement {
  IpFamily family = IpFamily::kV4;
  IpAddress source;
  IpAddress destination;
  uint8_t ttl = 0;                  // TTL / hop limit as received
  bool from_local_address = false;  // source is one of this node's own addresses
  Advertisement ad;
};

struct Transition {
  TimePoint at{};
  VhostState from = VhostState::kInit;
  VhostState to = VhostState::kInit;
  TransitionCause cause = TransitionCause::kStarted;
};

struct VhostStatus {
  VhostState state = VhostState::kInit;
  bool link_up = true;
  bool running = false;  // administratively started
  uint8_t demote = 0;    // effective demotion advertised in byte 4
  uint8_t advertised_advskew = 0;
  std::optional<Transition> last_transition;
  uint64_t transitions = 0;
  uint64_t adverts_sent = 0;
  uint64_t adverts_received = 0;  // accepted (authenticated) ones
  DropCounters drops;
  // The last accepted peer advertisement, for "who is master" displays.
  std::optional<IpAddress> last_peer;
  uint8_t last_peer_advbase = 0;
  uint8_t last_peer_advskew = 0;
  uint8_t last_peer_demote = 0;
};

class VhostEngine {
 public:
  // `cookie` is the constant counter value sent in every advertisement (the
  // OpenBSD scheme); a received advertisement carrying it is our own.
  VhostEngine(VhostConfig config, uint64_t cookie);

  // Administrative up: INIT -> BACKUP (when the link is up), arming master-down.
  Actions Start(TimePoint now);
  // Administrative down: a MASTER sends the bow-out advertisement and removes its
  // VIPs; the vhid goes to INIT.
  Actions Stop(TimePoint now);
  // Parent link state. Down: -> INIT (VIPs removed). Up: INIT -> BACKUP if running.
  Actions OnLinkChange(TimePoint now, bool up);
  // Effective demotion (the sum over the vhid's interface groups, capped at 255).
  // A MASTER advertises at once when it changes.
  Actions OnDemotionChange(TimePoint now, uint8_t demote);
  // A decoded advertisement for this vhid: TTL, own-packet, family and HMAC
  // checks (each counted), then the election rules of §3.3 (OpenBSD flavour).
  Actions OnAdvertisement(TimePoint now, const ReceivedAdvertisement& rx);
  // Fires every deadline that is <= now.
  Actions OnTimer(TimePoint now);

  // When OnTimer must run next; nullopt when nothing is armed (INIT).
  std::optional<TimePoint> NextDeadline() const;

  VhostState State() const { return status_.state; }
  const VhostStatus& Status() const { return status_; }
  const VhostConfig& Config() const { return config_; }
  uint64_t Cookie() const { return cookie_; }
  // advbase + advskew/256 with the advertised skew; 1/256 s when both are 0.
  Duration AdvertisementInterval() const;
  // Per config_.master_down_rule, from the configured advbase/advskew.
  Duration MasterDownInterval() const;

 private:
  VhostConfig config_;
  uint64_t cookie_;
  CarpAuthenticator auth_;
  HmacDigest cookie_hmac_;  // every advert carries the same counter, so the same digest
  VhostStatus status_;
  bool has_v4_ = false;
  bool has_v6_ = false;
  std::optional<TimePoint> advert_deadline_;          // MASTER
  std::optional<TimePoint> master_down_v4_deadline_;  // BACKUP, per family (§3.1)
  std::optional<TimePoint> master_down_v6_deadline_;
  int delayed_announce_ = 0;  // adverts left until the repeated ARP/NA (§4.1)

  // Implementation helpers live in vhost_engine.cc.
  friend class VhostEngineInternals;
};

}  // namespace hafw::carp
