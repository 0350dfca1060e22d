// The network namespace the router tests run in: a private netns (created once per test process) with a veth
// pair, so redirect and FIB cases have real interfaces and nothing touches the host's network.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace tempos::test {

inline constexpr const char* kVethA = "tmpsx0";   // 10.77.0.1/24
inline constexpr const char* kVethB = "tmpsx1";

// Enters the private netns and creates the veth pair (idempotent within a process). Empty on success.
std::string ensure_test_netns();

// 0 if the interface does not exist.
std::uint32_t ifindex_of(const char* name);

// Pins the calling thread to the CPU it runs on (the round-robin cursors are per CPU). Empty on success.
std::string pin_to_current_cpu();

// The interface's MAC, read in the current netns (sysfs shows the namespace it was mounted in).
std::optional<std::array<std::uint8_t, 6>> mac_of(const char* name);

}  // namespace tempos::test
