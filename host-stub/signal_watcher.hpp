// Turns SIGHUP/SIGTERM/SIGINT into values read synchronously (signalfd): no work in signal handlers.
// Open it in main before any thread starts, so every thread inherits the blocked mask.
#pragma once

#include <chrono>
#include <optional>

#include "tempos/status.hpp"

namespace tempos::mom {

enum class ControlSignal { reload, terminate };

class SignalWatcher {
public:
    // Blocks the three signals in the calling thread and opens the signalfd that reads them.
    static Result<SignalWatcher> open();
    SignalWatcher(SignalWatcher&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    SignalWatcher& operator=(SignalWatcher&&) = delete;
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;
    ~SignalWatcher();

    // Waits at most `timeout`; nullopt when nothing arrived.
    std::optional<ControlSignal> wait(std::chrono::milliseconds timeout);

private:
    explicit SignalWatcher(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace tempos::mom
