#include "event_queue.hpp"

#include <utility>

namespace tempos::mom {

EventQueue::EventQueue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

bool EventQueue::try_push(Event&& event) {
    {
        std::lock_guard lock(mutex_);
        if (closed_ || events_.size() >= capacity_) return false;
        events_.push_back(std::move(event));
    }
    not_empty_.notify_one();
    return true;
}

std::optional<Event> EventQueue::pop_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!not_empty_.wait_for(lock, timeout, [this] { return closed_ || !events_.empty(); })) return std::nullopt;
    if (events_.empty()) return std::nullopt;
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
}

void EventQueue::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    not_empty_.notify_all();
}

std::deque<Event> EventQueue::take_all() {
    std::lock_guard lock(mutex_);
    return std::exchange(events_, {});
}

bool EventQueue::is_closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

std::size_t EventQueue::depth() const {
    std::lock_guard lock(mutex_);
    return events_.size();
}

}  // namespace tempos::mom
