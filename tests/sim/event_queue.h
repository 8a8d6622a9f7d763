#pragma once

// The simulator's only notion of "when": a queue of callbacks ordered by virtual
// time, then by the sequence number they were scheduled with, so two events at
// the same instant always run in the same order for a given seed.

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include "common/time.h"

namespace hafw::carp::sim {

class EventQueue {
 public:
  using Callback = std::function<void()>;

  // Schedules `callback` at `at`; a time in the past is clamped to Now() (an
  // engine deadline that is already due fires at once). Returns the sequence number.
  uint64_t Schedule(TimePoint at, Callback callback);

  bool Empty() const { return queue_.empty(); }
  size_t Size() const { return queue_.size(); }
  TimePoint NextTime() const { return queue_.top().at; }
  // Global virtual time: the time of the event being run (or last run).
  TimePoint Now() const { return now_; }

  // Removes the earliest event, advances Now() to its time and runs it.
  // Returns false when the queue is empty.
  bool RunNext();

 private:
  struct Event {
    TimePoint at;
    uint64_t seq;
    Callback callback;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  uint64_t next_seq_ = 0;
  TimePoint now_{};
};

}  // namespace hafw::carp::sim
