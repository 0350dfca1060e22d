// Turns SIGHUP/SIGTERM/SIGINT into values read synchronously (signalfd): no work in signal handlers.
// Construct it in main before any thread starts, so every thread inherits the blocked mask.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace tempos::mom {

enum class ControlSignal { reload, terminate };

class SignalWatcher {
public:
    SignalWatcher();
    ~SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

    // Empty when ready; otherwise why the watcher could not be set up.
    const std::string& error() const { return error_; }
    // Waits at most `timeout`; nullopt when nothing arrived.
    std::optional<ControlSignal> wait(std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
    std::string error_;
};

}  // namespace tempos::mom
