#include "event_queue.hpp"

#include <algorithm>
#include <utility>

namespace tempos::mom {

namespace {
constexpr std::size_t kLargestDatagram = 65535;
}  // namespace

EventQueue::EventQueue(std::size_t capacity, std::size_t capacity_bytes)
    : capacity_(capacity == 0 ? 1 : capacity), capacity_bytes_(std::max(capacity_bytes, kLargestDatagram)) {}

void EventQueue::set_capacity_bytes(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    capacity_bytes_ = std::max(bytes, kLargestDatagram);
}

bool EventQueue::try_push(Event&& event) {
    {
        std::lock_guard lock(mutex_);
        if (closed_ || events_.size() >= capacity_ || bytes_ + event.payload.size() > capacity_bytes_) return false;
        bytes_ += event.payload.size();
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
    bytes_ -= event.payload.size();
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
    bytes_ = 0;
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

std::size_t EventQueue::capacity_bytes() const {
    std::lock_guard lock(mutex_);
    return capacity_bytes_;
}

std::size_t EventQueue::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

}  // namespace tempos::mom
