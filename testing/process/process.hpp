// The test kit's one process runner: a program started as a child (optionally inside a named network
// namespace, pinned to a CPU, with extra environment), its stdout and stderr captured in files, waited for with
// bounded polls, and SIGKILLed and reaped when the object goes, so no child outlives a test or a benchmark.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "process/temp_dir.hpp"
#include "tempos/status.hpp"

namespace tempos::testkit {

struct ProcessOptions {
    // A network namespace of /run/netns (as `ip netns add` creates) the child enters before exec; "" = ours.
    // Unlike `ip netns exec`, /sys is not remounted: a program that reads /sys/class/net of the namespace needs
    // `ip netns exec` in its argv instead.
    std::string netns = {};
    // >= 0: the child runs on this CPU only; otherwise on every CPU, whatever the parent pinned itself to.
    int cpu = -1;
    // "NAME=value" entries added to (or replacing those of) the parent's environment.
    std::vector<std::string> env = {};
    // Where stdout and stderr go; empty: files in the process's own temporary directory. The same path for
    // both gives one interleaved log.
    std::filesystem::path stdout_file = {}, stderr_file = {};
    // Sockets passed as a service manager's socket unit passes them (sd_listen_fds(3)): as fds 3, 4, ... with
    // LISTEN_FDS and LISTEN_PID set for the child (a wrapper that execs keeps its pid).
    std::vector<int> listen_fds = {};
};

// One child process. The child starts with default signal dispositions and an empty signal mask, in its own
// process group (a Ctrl-C at the terminal reaches the parent, which stops its children in order), and is
// SIGKILLed if the thread that started it ends (PR_SET_PDEATHSIG), so a crashed parent leaves none behind.
class Process {
public:
    Process() = default;  // no process: running() is false
    ~Process();
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    // argv[0] is looked up in PATH when it has no '/'. An error when it cannot be started or executed (the
    // child reports a failed exec back, e.g. "permission denied").
    static Result<Process> start(const std::vector<std::string>& argv, ProcessOptions options = {});

    pid_t pid() const { return pid_; }
    // False once it has ended (it is then reaped) or when there is no process.
    bool running();
    // Its exit status once it ended within `timeout` (128 + the signal when a signal ended it), else an error;
    // it keeps running then.
    Result<int> wait(std::chrono::milliseconds timeout);
    Status signal(int sig);
    // SIGKILL (to its process group) unless it has ended, then reap: its exit status.
    int kill_and_reap();
    // SIGTERM, then wait up to `grace`; SIGKILL when it has not ended by then (an error saying so).
    Result<int> terminate(std::chrono::milliseconds grace);
    // "exited with status 3", "killed by signal Killed", "running".
    std::string how_it_ended();

    std::string output() const;  // stdout so far
    std::string errors() const;  // stderr so far (the same text as output() when both go to one file)
    // The last `lines` lines of stdout and stderr, for error messages.
    std::string output_tail(std::size_t lines = 8) const;

    // Polls (every 10 ms, bounded by `timeout`) until `condition` holds; an error when it does not in time or
    // the process ends first (with the end of its output).
    Status wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                      const std::string& what);
    // The same for text in its stdout or stderr.
    Status wait_for_output(std::string_view text, std::chrono::milliseconds timeout);

private:
    void reap(int wait_status);

    pid_t pid_ = -1;
    bool ended_ = false;
    int wait_status_ = 0;
    std::string name_;  // argv[0]'s file name, for messages
    std::optional<TempDir> dir_;  // holds the default output files
    std::filesystem::path stdout_file_, stderr_file_;
};

// Polls `condition` every 10 ms for at most `timeout`; returns its last value.
bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Polls a counter every 10 ms until it reaches `target` or has kept one value for `quiet` (what was on its way has
// arrived), for at most `timeout`; returns its last value.
std::uint64_t poll_until_settled(const std::function<std::uint64_t()>& counter, std::uint64_t target,
                                 std::chrono::milliseconds quiet, std::chrono::milliseconds timeout);

// The first executable `name` in PATH, /usr/sbin, /usr/local/sbin, /sbin; not_found if none.
Result<std::filesystem::path> find_program(const std::string& name);

// The directory of the running executable (where the build puts the project's other binaries).
std::filesystem::path executable_dir();

// The whole file's text ("" when it cannot be read).
std::string read_text(const std::filesystem::path& file);

// The last `lines` lines of `text`.
std::string last_lines(const std::string& text, std::size_t lines);

}  // namespace tempos::testkit
