// One dispatcher thread per queue: takes events and hands them to every enabled adapter's send().
// The strict dispatcher runs under SCHED_FIFO; if the kernel refuses, it warns once and goes on.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <spdlog/logger.h>

#include "adapter_set.hpp"
#include "counters.hpp"
#include "event_queue.hpp"
#include "logging.hpp"

namespace tempos::mom {

struct DispatcherPolicy {
    Path path = Path::bq;
    bool realtime = false;  // SCHED_FIFO at `priority`; otherwise SCHED_OTHER
    int priority = 0;
};

class Dispatcher {
public:
    Dispatcher(DispatcherPolicy policy, EventQueue& queue, AdapterSet& adapters, MomCounters& counters,
               const LogContext& log);
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    void start();
    // Stops taking events once the queue is closed and empty, or at `deadline`, whichever comes first, and joins
    // the thread; what is still queued stays there (the caller counts it). A send in progress is completed.
    void stop(std::chrono::steady_clock::time_point deadline) {
        request_stop(deadline);
        join();
    }
    // The two halves of stop(deadline), so that both dispatchers drain at the same time.
    void request_stop(std::chrono::steady_clock::time_point deadline);
    void join();
    // Stops without draining: returns within one wait interval (or once a send in progress returns).
    void stop() { stop(std::chrono::steady_clock::now()); }
    // The thread's name, as the kernel shows it ("tempos-sq" / "tempos-bq").
    std::string thread_name() const;

private:
    void run() noexcept;
    void apply_scheduling();

    DispatcherPolicy policy_;
    EventQueue& queue_;
    AdapterSet& adapters_;
    MomCounters& counters_;
    std::shared_ptr<spdlog::logger> log_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::chrono::steady_clock::rep> deadline_{0};  // valid once stopping_
    std::thread thread_;
};

}  // namespace tempos::mom
