#include "fatal.hpp"

#include <atomic>
#include <mutex>

namespace tempos::mom {

namespace {

std::mutex fatal_mutex;
std::optional<std::string> first_reason;
std::atomic<bool> raised{false};  // set even if recording the reason failed
std::function<void()> wakeup_handler;
std::atomic<FaultHook> fault_hook{nullptr};

}  // namespace

void raise_fatal(const std::string& reason) noexcept {
    raised.store(true);
    std::function<void()> wakeup;
    try {
        std::lock_guard lock(fatal_mutex);
        if (!first_reason) first_reason = reason;
        wakeup = wakeup_handler;
    } catch (...) {
        // Out of memory copying the reason: the wake-up below still ends the process.
    }
    try {
        if (wakeup) wakeup();
    } catch (...) {
    }
}

std::optional<std::string> fatal_reason() {
    std::lock_guard lock(fatal_mutex);
    if (!first_reason && raised.load()) return std::string("a fatal error (its reason could not be recorded)");
    return first_reason;
}

void set_fatal_wakeup(std::function<void()> wakeup) {
    std::lock_guard lock(fatal_mutex);
    wakeup_handler = std::move(wakeup);
}

void set_fault_hook(FaultHook hook) { fault_hook.store(hook); }

bool fault_injected(FaultPoint point) noexcept {
    const FaultHook hook = fault_hook.load();
    return hook != nullptr && hook(point);
}

}  // namespace tempos::mom
