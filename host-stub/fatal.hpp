// When a part of the MoM cannot go on — a thread that dies (the receiver's poll() failing, an exception escaping
// a dispatcher) or a reload whose rollback failed, leaving adapters and the running state apart — it records why
// here. main() then stops everything and exits with kExitFatal, so a supervisor (systemd Restart=on-failure)
// starts it again from the file: a process that keeps running without its receiver, or with a routing state no
// file describes, would lose events silently. Process-wide; the first reason wins.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace tempos::mom {

inline constexpr int kExitFatal = 3;

// Records `reason` (the first one only) and calls the wake-up handler. Never throws.
void raise_fatal(const std::string& reason) noexcept;
// The first reason raised, if any.
std::optional<std::string> fatal_reason();
// What raise_fatal calls after recording (main: wake the signal loop). Default: nothing.
void set_fatal_wakeup(std::function<void()> wakeup);

// Test-only fault injection. tempos-mom never installs a hook, so nothing can trigger a fault in it; the test
// binary tempos-mom-faults (host-stub/faults_main.cpp) installs one that reads TEMPOS_INJECT_FAULT.
enum class FaultPoint { ingress_poll, dispatcher_loop };
using FaultHook = bool (*)(FaultPoint);
void set_fault_hook(FaultHook hook);
// Whether the hook asks for a fault at `point` (false without a hook).
bool fault_injected(FaultPoint point) noexcept;

}  // namespace tempos::mom
