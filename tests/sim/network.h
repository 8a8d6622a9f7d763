#pragma once

// The simulated L2 segments: one per interface name ("lan", "wan", ...), every
// node has a port on each. A frame sent on a segment is offered to every other
// port (and, like a raw socket with IP_MULTICAST_LOOP, back to the sender) and
// each copy independently suffers the link model: seeded loss, delay + jitter,
// occasional extra delay (which reorders frames) and duplication. Partitions
// are directed (from, to) blocks per segment, reference-counted so that
// overlapping faults compose; a symmetric partition is two one-way blocks.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/time.h"
#include "tests/sim/rng.h"

namespace hafw::carp::sim {

struct LinkModel {
  double loss = 0;           // probability that one copy to one receiver is lost
  Duration delay{};          // fixed one-way delay
  Duration jitter{};         // + uniform [0, jitter]
  double duplicate = 0;      // probability of a second copy (its own delay)
  double reorder = 0;        // probability of an extra delay
  Duration reorder_extra{};  // + uniform [0, reorder_extra] for those copies

  // Upper bound of one copy's delay.
  Duration MaxDelay() const { return delay + jitter + reorder_extra; }
};

struct Delivery {
  int to = 0;
  TimePoint at{};
};

class Network {
 public:
  Network(int nodes, std::vector<std::string> segments, LinkModel model, Rng rng);

  int Nodes() const { return nodes_; }
  const std::vector<std::string>& Segments() const { return segments_; }
  const LinkModel& Model() const { return model_; }

  // A node's port on a segment (its parent link). Frames are neither sent nor
  // received through a port that is down.
  void SetPortUp(int node, const std::string& segment, bool up);
  bool PortUp(int node, const std::string& segment) const;

  // Blocks (or unblocks) frames from `from` to `to` on `segment`. Counted: every
  // Block needs its own Unblock.
  void Block(const std::string& segment, int from, int to);
  void Unblock(const std::string& segment, int from, int to);
  bool Blocked(const std::string& segment, int from, int to) const;

  // Extra loss on a segment, composed with the model's: 1 - prod(1 - p). Counted
  // the same way (AddLoss then RemoveLoss with the same p).
  void AddLoss(const std::string& segment, double p);
  void RemoveLoss(const std::string& segment, double p);
  double Loss(const std::string& segment) const;

  // The copies of one frame sent by `from` at `now`, in receiver order. The
  // receiving port's state is checked by the caller at arrival time.
  std::vector<Delivery> Transmit(int from, const std::string& segment, TimePoint now,
                                 bool loopback);

  // No block between any two of `nodes` on `segment` and no loss.
  bool Clean(const std::string& segment, const std::vector<int>& nodes) const;
  // No block between any two of `nodes` on `segment` (loss allowed).
  bool Connected(const std::string& segment, const std::vector<int>& nodes) const;

  uint64_t FramesLost() const { return lost_; }
  uint64_t FramesBlocked() const { return blocked_; }
  uint64_t FramesDuplicated() const { return duplicated_; }

 private:
  Duration CopyDelay();

  int nodes_;
  std::vector<std::string> segments_;
  LinkModel model_;
  Rng rng_;
  // Keyed by segment first, with transparent lookups: the checker asks after
  // every event, so a lookup must not build a key string.
  std::map<std::string, std::set<int>, std::less<>> port_down_;
  std::map<std::string, std::map<std::pair<int, int>, int>, std::less<>> blocks_;  // (from, to)
  std::map<std::string, std::vector<double>> extra_loss_;
  uint64_t lost_ = 0;
  uint64_t blocked_ = 0;
  uint64_t duplicated_ = 0;
};

}  // namespace hafw::carp::sim
