// Runs tests/plugin/xdp_attach_holder (TEMPOS_ATTACH_HOLDER_PATH) as a child that keeps the adapter attached
// until it is killed: the tests then SIGKILL it and check that nothing it attached is left behind.
#pragma once

#include <poll.h>
#include <spawn.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>

namespace tempos::test {

struct HeldAdapter {
    pid_t pid = -1;      // -1: the holder could not be started
    std::string output;  // its standard output up to its "mode=..." line (or 10 s of silence)
};

// `mode`: the xdp_mode the holder connects with.
inline HeldAdapter spawn_attach_holder(const char* iface, const char* mode) {
    HeldAdapter held;
    int out[2];
    if (::pipe(out) != 0) return held;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const char* argv[] = {TEMPOS_ATTACH_HOLDER_PATH, iface, mode, "hold", nullptr};
    if (posix_spawn(&held.pid, argv[0], &actions, nullptr, const_cast<char**>(argv), environ) != 0) held.pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    char buffer[256];
    pollfd readable{out[0], POLLIN, 0};
    while (held.pid > 0 && held.output.find("mode=") == std::string::npos && ::poll(&readable, 1, 10000) == 1) {
        const ssize_t n = ::read(out[0], buffer, sizeof(buffer));
        if (n <= 0) break;
        held.output.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    return held;
}

}  // namespace tempos::test
