#include "tests/sim/network.h"

#include <algorithm>
#include <utility>

namespace hafw::carp::sim {

Network::Network(int nodes, std::vector<std::string> segments, LinkModel model, Rng rng)
    : nodes_(nodes), segments_(std::move(segments)), model_(model), rng_(rng) {}

void Network::SetPortUp(int node, const std::string& segment, bool up) {
  if (up) {
    auto it = port_down_.find(segment);
    if (it == port_down_.end()) return;
    it->second.erase(node);
    if (it->second.empty()) port_down_.erase(it);
  } else {
    port_down_[segment].insert(node);
  }
}

bool Network::PortUp(int node, const std::string& segment) const {
  auto it = port_down_.find(segment);
  return it == port_down_.end() || !it->second.contains(node);
}

void Network::Block(const std::string& segment, int from, int to) {
  ++blocks_[segment][{from, to}];
}

void Network::Unblock(const std::string& segment, int from, int to) {
  auto seg = blocks_.find(segment);
  if (seg == blocks_.end()) return;
  auto it = seg->second.find({from, to});
  if (it != seg->second.end() && --it->second <= 0) seg->second.erase(it);
  if (seg->second.empty()) blocks_.erase(seg);
}

bool Network::Blocked(const std::string& segment, int from, int to) const {
  auto seg = blocks_.find(segment);
  return seg != blocks_.end() && seg->second.contains({from, to});
}

void Network::AddLoss(const std::string& segment, double p) { extra_loss_[segment].push_back(p); }

void Network::RemoveLoss(const std::string& segment, double p) {
  auto it = extra_loss_.find(segment);
  if (it == extra_loss_.end()) return;
  auto pos = std::find(it->second.begin(), it->second.end(), p);
  if (pos != it->second.end()) it->second.erase(pos);
  if (it->second.empty()) extra_loss_.erase(it);
}

double Network::Loss(const std::string& segment) const {
  double pass = 1.0 - model_.loss;
  if (auto it = extra_loss_.find(segment); it != extra_loss_.end()) {
    for (double p : it->second) pass *= 1.0 - p;
  }
  return 1.0 - pass;
}

Duration Network::CopyDelay() {
  Duration d = model_.delay + Duration(rng_.Range(0, model_.jitter.count()));
  if (rng_.Chance(model_.reorder)) d += Duration(rng_.Range(0, model_.reorder_extra.count()));
  return d;
}

std::vector<Delivery> Network::Transmit(int from, const std::string& segment, TimePoint now,
                                        bool loopback) {
  std::vector<Delivery> out;
  if (!PortUp(from, segment)) return out;
  const double loss = Loss(segment);
  for (int to = 0; to < nodes_; ++to) {
    if (to == from) {
      // The local multicast loop does not touch the wire.
      if (loopback) out.push_back({to, now});
      continue;
    }
    if (Blocked(segment, from, to)) {
      ++blocked_;
      continue;
    }
    // Draw every random number for every receiver, so that the loss decision
    // for one receiver does not shift the stream seen by the others.
    const bool lost = rng_.Chance(loss);
    const Duration delay = CopyDelay();
    const bool dup = rng_.Chance(model_.duplicate);
    const Duration dup_delay = CopyDelay();
    if (lost) {
      ++lost_;
      continue;
    }
    out.push_back({to, now + delay});
    if (dup) {
      ++duplicated_;
      out.push_back({to, now + dup_delay});
    }
  }
  return out;
}

bool Network::Connected(const std::string& segment, const std::vector<int>& nodes) const {
  for (int a : nodes) {
    for (int b : nodes) {
      if (a != b && Blocked(segment, a, b)) return false;
    }
  }
  return true;
}

bool Network::Clean(const std::string& segment, const std::vector<int>& nodes) const {
  return Loss(segment) == 0 && Connected(segment, nodes);
}

}  // namespace hafw::carp::sim
