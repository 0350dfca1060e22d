// A bounded multi-producer queue of events between the receiver and one dispatcher, bounded in events and in
// payload bytes ([mom] queue_bytes: 4096 datagrams of 64 KiB would otherwise hold 256 MiB per queue).
// A full queue refuses the event (the caller counts the drop) instead of blocking the receiver.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace tempos::mom {

struct Event {
    std::uint8_t topic = 0;
    std::vector<std::uint8_t> payload;  // the whole datagram, topic byte included
};

class EventQueue {
public:
    explicit EventQueue(std::size_t capacity, std::size_t capacity_bytes = kDefaultCapacityBytes);

    static constexpr std::size_t kDefaultCapacityBytes = 16 << 20;

    // Before the threads start (at least one datagram's worth is always allowed).
    void set_capacity_bytes(std::size_t bytes);

    // False when the queue is full (in events or in bytes) or closed; the event is then not taken.
    bool try_push(Event&& event);
    // Waits at most `timeout` for an event; nullopt on timeout or once closed and empty.
    std::optional<Event> pop_for(std::chrono::milliseconds timeout);
    // Wakes every waiter; later pushes are refused.
    void close();
    // Removes and returns every event still queued (what a stopping MoM could not send).
    std::deque<Event> take_all();

    bool is_closed() const;
    std::size_t depth() const;
    std::size_t bytes() const;
    std::size_t capacity() const { return capacity_; }
    std::size_t capacity_bytes() const;

private:
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable not_empty_;
    std::size_t capacity_bytes_;
    std::deque<Event> events_;
    std::size_t bytes_ = 0;  // payload bytes of events_
    bool closed_ = false;
};

}  // namespace tempos::mom
