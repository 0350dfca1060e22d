#include "dispatcher.hpp"

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <exception>
#include <stdexcept>

#include "fatal.hpp"
#include "tempos/thread_capabilities.hpp"

namespace tempos::mom {

namespace {
constexpr std::chrono::milliseconds kWaitInterval{100};
}

Dispatcher::Dispatcher(DispatcherPolicy policy, EventQueue& queue, AdapterSet& adapters, MomCounters& counters,
                       const LogContext& log)
    : policy_(policy),
      queue_(queue),
      adapters_(adapters),
      counters_(counters),
      log_(log.make_logger(std::string("dispatch.") + path_name(policy.path))) {}

Dispatcher::~Dispatcher() { stop(); }

std::string Dispatcher::thread_name() const { return std::string("tempos-") + path_name(policy_.path); }

void Dispatcher::start() {
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void Dispatcher::request_stop(std::chrono::steady_clock::time_point deadline) {
    deadline_ = deadline.time_since_epoch().count();
    stopping_ = true;
}

void Dispatcher::join() {
    if (thread_.joinable()) thread_.join();
}

void Dispatcher::apply_scheduling() {
    sched_param param{};
    int policy = SCHED_OTHER;
    if (policy_.realtime) {
        policy = SCHED_FIFO;
        param.sched_priority = policy_.priority;
    }
    const int rc = pthread_setschedparam(pthread_self(), policy, &param);
    if (rc != 0)
        log_->warn("cannot run the {} dispatcher under {} priority {}: {}; continuing under SCHED_OTHER",
                   path_name(policy_.path), policy == SCHED_FIFO ? "SCHED_FIFO" : "SCHED_OTHER",
                   param.sched_priority, std::strerror(rc));
    else
        log_->info("{} dispatcher runs under {}{}", path_name(policy_.path),
                   policy == SCHED_FIFO ? "SCHED_FIFO priority " : "SCHED_OTHER",
                   policy == SCHED_FIFO ? std::to_string(param.sched_priority) : "");
}

void Dispatcher::run() noexcept {
    try {
        pthread_setname_np(pthread_self(), thread_name().c_str());
        apply_scheduling();
        // SCHED_FIFO taken: this thread needs no capability any more.
        if (Status dropped = drop_thread_capabilities(); !dropped)
            log_->error("capabilities not dropped: {}", dropped.message());
        for (;;) {
            // Stopping: the drain ends at the deadline, or when the (closed) queue has nothing left.
            const bool stopping = stopping_.load();
            if (stopping && std::chrono::steady_clock::now().time_since_epoch().count() >= deadline_.load()) break;
            auto event = queue_.pop_for(kWaitInterval);
            if (!event) {
                if (stopping || queue_.is_closed()) break;  // closed and empty: nothing more will come
                continue;
            }
            if (fault_injected(FaultPoint::dispatcher_loop)) throw std::runtime_error("injected fault");
            PathCounters& c = counters_.at(event->topic, policy_.path);
            try {
                const auto result = adapters_.send(event->topic, event->payload);
                if (result.sent) c.sent.fetch_add(result.sent, std::memory_order_relaxed);
                if (result.failed) c.send_errors.fetch_add(result.failed, std::memory_order_relaxed);
            } catch (const std::exception& e) {
                // Adapters cannot throw (noexcept, adapter.hpp), the host's own bookkeeping (a log line) still may:
                // count it and keep delivering.
                c.send_errors.fetch_add(1, std::memory_order_relaxed);
                log_->error("send(topic {}) threw: {}", event->topic, e.what());
            }
        }
    } catch (const std::exception& e) {
        log_->critical("{} dispatcher stopped: {}", path_name(policy_.path), e.what());
        raise_fatal(std::string("the ") + path_name(policy_.path) + " dispatcher stopped: " + e.what());
    } catch (...) {
        raise_fatal(std::string("the ") + path_name(policy_.path) + " dispatcher stopped: an unknown exception");
    }
}

}  // namespace tempos::mom
