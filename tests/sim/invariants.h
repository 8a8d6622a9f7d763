#pragma once

// Continuous invariant checks over a running cluster. Definitions (also in
// docs/testing.md, section "Simulator"):
//
// Terms. A vhid's *eligible* nodes E are the nodes whose VhostSet runs and whose
// port on the vhid's interface is up. The segment is *clean* when no partition
// blocks any pair in E and its loss is 0. A *disturbance* is every scheduled
// event that changes the election's inputs: node start, crash, stop, restart,
// partition start/heal, link down/up, loss change, demotion change. H is the
// time of the latest disturbance. maxdelay is the link model's largest one-way
// delay (delay + jitter + reorder extra). MDI/interval are each node's
// master-down interval and advertisement interval (from its config through
// carp::MasterDownInterval / carp::AdvertisementInterval, carp-protocol.md §3.2,
// advbase 0 and both master-down rules included), converted to global time
// through its drifted clock.
//   W = max_E MDI + 2 maxdelay + 1 ms     ("one master-down interval after a fault")
//   D = max_E MDI + max_E interval + 2 maxdelay + 10 ms   (convergence bound)
// The preferred node of a vhid is the eligible node with the lowest
// (demotion, advbase*256 + advskew); advskews are distinct per vhid.
//
// S1 single master: on a clean segment, two or more MASTERs never last longer than W,
//                   counted from the later of the episode's start and H. (Not "no
//                   dual master later than W after H": with preempt, an advertisement
//                   still in flight from a transient master can make a better backup
//                   preempt while the best master is already MASTER; both then stay
//                   MASTER until the best one's next advertisement, up to one
//                   interval after an election that itself ends up to one MDI after
//                   H. Found with random seed 25; L1 bounds when that settles.)
// L1 convergence:   clean and now - H > D and E non-empty  =>  exactly one MASTER.
// P1 preemption:    as L1 and preempt on  =>  that MASTER is the preferred node.
// G1 demotion:      as L1  =>  the MASTER has the lowest demotion in E; and when a
//                   demotion (admin or link) raises the demotion of vhid V on node X,
//                   V's sole MASTER, and another eligible node is less demoted, on a
//                   clean segment (same "no older advertisement in flight" condition
//                   as B1), X yields V within 2 maxdelay + 1 ms (the group moves
//                   together). Only a rise counts: X advertises at once only when its
//                   demotion changes (seeds 7038242, 7038543).
// F1 no flapping:   once the preferred node is MASTER (observed later than
//                   H + maxdelay, so no advertisement from before H is in flight),
//                   it stays MASTER until the next disturbance, whatever the loss.
// B1 bow-out:       when a MASTER stops on a clean segment (and its last regular
//                   advertisement left more than maxdelay earlier, so no older
//                   advertisement can overtake the bow-out), another eligible node
//                   is MASTER within maxdelay + 1 ms and exactly one within
//                   max interval + 2 maxdelay + 1 ms (unless disturbed meanwhile).
// T1 no early takeover: a master-down transition happens only when the node's
//                   local clock has advanced by its MDI since the master-down timer
//                   was armed (entering BACKUP, or the last advertisement heard).
// T2 no late takeover: a BACKUP's local time since arming never exceeds MDI + 1 ms.
// T3 advertising:   a MASTER sends an advertisement when it becomes MASTER and
//                   then at least every interval + 1 ms (local time); every
//                   advertisement carries the configured vhid/advbase/advskew
//                   (255/255 for a bow-out), the expected demotion and the cookie.
// R1 election rules: every advertisement delivered from a peer is judged with the
//                   OpenBSD table of carp-protocol.md §3.3 and the engine's reaction
//                   must match (step down, take over with a matching cause, or
//                   re-arm); looped-back own packets change nothing.
// C1 consistency:   StateChanged.from matches the last state; the engine's State()
//                   and demote byte match the simulator's model; VIPs are installed
//                   iff MASTER; a node with its port down is INIT, with it up not INIT.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carp/core/codec.h"
#include "carp/core/vhost_engine.h"
#include "common/time.h"
#include "tests/sim/scenario.h"

namespace hafw::carp::sim {

struct Violation {
  TimePoint at{};
  std::string invariant;  // "S1", "T1", ...
  std::string detail;
};

// What the checker may ask about the cluster; the simulator implements it, unit
// tests fake it.
class ClusterView {
 public:
  virtual ~ClusterView() = default;
  virtual const Scenario& Spec() const = 0;
  virtual bool Alive(int node) const = 0;  // its VhostSet exists and was started
  virtual bool PortUp(int node, const std::string& iface) const = 0;
  virtual bool Clean(const std::string& iface, const std::vector<int>& nodes) const = 0;
  virtual uint8_t ExpectedDemotion(int node, const std::string& iface) const = 0;
  virtual TimePoint LocalTime(int node, TimePoint global) const = 0;
  virtual Duration GlobalDuration(int node, Duration local) const = 0;
  virtual const VhostEngine* Engine(int node, size_t vhid) const = 0;  // null when down
  virtual Duration MaxDelay() const = 0;
};

// Why a batch of actions was produced.
enum class BatchCause : uint8_t { kStart, kStop, kTimer, kPacket, kLink, kDemotion };

struct ReceivedAd {
  int from = 0;
  bool own = false;  // looped back to its sender
  Advertisement ad;
};

// A node's timing for vhid `v` from its spec, through carp/core's formulas
// (carp::MasterDownInterval, carp::AdvertisementInterval: the one source, tested
// against carp-protocol.md §3.2 in election_test.cc, advbase 0 included). The
// checker compares the engine's own values with these at boot, which catches a
// wrong advbase, advskew or rule reaching the engine.
Duration ExpectedMasterDown(const VhidSpec& v, int node);
Duration ExpectedInterval(const VhidSpec& v, int node);

class InvariantChecker {
 public:
  explicit InvariantChecker(const ClusterView& view);

  void OnDisturbance(TimePoint now);
  void OnNodeUp(TimePoint now, int node);
  void OnNodeDown(TimePoint now, int node);
  // Before a node's Stop(): arms the B1 checks for the vhids it masters.
  void OnNodeStopping(TimePoint now, int node);
  // After an event that may have changed a node's demotion (admin or link): arms
  // the G1 yield checks of the vhids whose demotion rose.
  void OnDemotionChanged(TimePoint now, int node);

  void BeginBatch(TimePoint now, int node, BatchCause cause, std::optional<ReceivedAd> rx,
                  std::optional<size_t> rx_vhid);
  void OnAction(TimePoint now, int node, size_t vhid, const Action& action);
  void EndBatch(TimePoint now);

  // After every event.
  void Check(TimePoint now);
  void ProbeAt(TimePoint now, size_t probe);
  void Finish(TimePoint now);

  // Instants at which a pending check must be evaluated; the simulator wakes up then.
  std::vector<TimePoint> TakeWakeups();

  const std::vector<Violation>& Violations() const { return violations_; }
  VhostState Role(int node, size_t vhid) const { return tracks_[vhid][node].role; }
  uint64_t SpuriousTakeovers() const { return spurious_takeovers_; }

 private:
  struct Track {
    VhostState role = VhostState::kInit;
    TimePoint since{};                      // global
    TimePoint armed_local{};                // master-down timer start (BACKUP)
    std::optional<TimePoint> advert_local;  // last advert sent or MASTER entry (local)
    TimePoint advert_global{};              // last regular advert sent (global)
    bool vips = false;
    uint8_t demotion = 0;  // ExpectedDemotion as of the previous event (G1 yield)
  };
  struct Batch {
    int node = -1;
    BatchCause cause = BatchCause::kStart;
    std::optional<ReceivedAd> rx;
    std::optional<size_t> rx_vhid;
    VhostState rx_pre_role = VhostState::kInit;
    struct Change {
      size_t vhid;
      StateChanged change;
    };
    std::vector<Change> changes;
    std::vector<std::pair<size_t, SendAdvertisement>> sends;
  };
  struct Pending {
    enum class Kind : uint8_t { kTakeover, kSingle, kYield } kind;
    TimePoint deadline;
    TimePoint h;
    size_t vhid;
    int node;
  };
  struct Lock {
    int node = -1;
    TimePoint h{};
  };

  void Fail(TimePoint now, std::string_view invariant, std::string detail);
  std::vector<int> Eligible(size_t vhid) const;
  std::vector<int> Masters(size_t vhid) const;
  int Preferred(size_t vhid, const std::vector<int>& eligible) const;
  Duration WindowW(size_t vhid, const std::vector<int>& eligible) const;
  Duration WindowD(size_t vhid, const std::vector<int>& eligible) const;
  Duration MaxInterval(size_t vhid, const std::vector<int>& eligible) const;
  void JudgePacket(TimePoint now);
  void CheckSend(TimePoint now, size_t vhid, const SendAdvertisement& send);
  std::string Name(int node, size_t vhid) const;

  const ClusterView& view_;
  std::vector<std::vector<Track>> tracks_;  // [vhid][node]
  std::optional<Batch> batch_;
  TimePoint last_disturbance_{};
  std::vector<Pending> pending_;
  std::vector<TimePoint> wakeups_;
  std::vector<Lock> locks_;  // F1, per vhid
  std::vector<bool> probe_done_;
  std::vector<std::optional<TimePoint>> dual_since_;  // per vhid: start of a >1 MASTER episode
  std::vector<Violation> violations_;
  uint64_t spurious_takeovers_ = 0;
};

}  // namespace hafw::carp::sim
