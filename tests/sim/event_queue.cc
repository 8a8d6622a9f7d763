#include "tests/sim/event_queue.h"

#include <utility>

namespace hafw::carp::sim {

uint64_t EventQueue::Schedule(TimePoint at, Callback callback) {
  if (at < now_) at = now_;
  const uint64_t seq = next_seq_++;
  queue_.push(Event{at, seq, std::move(callback)});
  return seq;
}

bool EventQueue::RunNext() {
  if (queue_.empty()) return false;
  // priority_queue::top() is const; move the callback out before popping.
  Event event = std::move(const_cast<Event&>(queue_.top()));
  queue_.pop();
  now_ = event.at;
  event.callback();
  return true;
}

}  // namespace hafw::carp::sim
