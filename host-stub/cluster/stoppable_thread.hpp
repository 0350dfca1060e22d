// A worker thread that sleeps between attempts and wakes at once when stopped: what the cluster's watcher and the
// broker registration share. The body runs in run(); pause() is its sleep.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace tempos::cluster {

class StoppableThread {
public:
    StoppableThread() = default;
    ~StoppableThread() { stop(); }
    StoppableThread(const StoppableThread&) = delete;
    StoppableThread& operator=(const StoppableThread&) = delete;

    // `body` must not throw (the callers' bodies catch everything).
    void start(std::function<void()> body) { thread_ = std::thread(std::move(body)); }
    // Wakes pause(), runs `interrupt` (to end a blocking call), joins. Idempotent.
    void stop(const std::function<void()>& interrupt = {}) {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (interrupt) interrupt();
        if (thread_.joinable()) thread_.join();
    }
    // Waits `delay` unless stop() comes first; false when stopping.
    bool pause(std::chrono::milliseconds delay) {
        std::unique_lock lock(mutex_);
        return !wake_.wait_for(lock, delay, [this] { return stopping_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace tempos::cluster
