// The test kit's one MoM runner: tempos-mom started with a Controller TOML (optionally in a network namespace,
// through a wrapper such as setpriv, on one CPU), waited for until ready, its /metrics scraped and its
// namespace's UDP counters read, stopped with SIGTERM and a bounded wait. Used by the C++ tests, tempos-bench
// and, through `tempos-testkit mom run`, the e2e scenarios.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "process/controller_config.hpp"
#include "process/process.hpp"
#include "process/temp_dir.hpp"
#include "tempos/status.hpp"
#include "topology/world.hpp"

namespace tempos::testkit {

using world::kMomPort;  // tempos-mom's default port ([mom] listen)

struct MomOptions {
    std::string netns = {};             // "" = ours
    int cpu = -1;                       // >= 0: tempos-mom runs on this CPU only
    std::vector<std::string> wrapper = {};  // a command that execs the rest of its argv (setpriv ... --), in front
    std::filesystem::path binary = {};  // default: tempos-mom next to the running executable
    std::vector<std::string> args = {};  // further tempos-mom arguments (--plugin-dir DIR)
    std::string log_level = "info";
    std::filesystem::path log_file = {};  // its stdout and stderr, one log; default: in the runner's temporary directory
    std::chrono::milliseconds ready_timeout{10000};
    std::vector<int> listen_fds = {};  // its ingress sockets by socket activation (held_sockets.hpp)
};

class MomRunner {
public:
    MomRunner() = default;  // none running
    ~MomRunner();           // stop() when still running: tempos-mom detaches what it attached
    MomRunner(MomRunner&&) noexcept = default;
    MomRunner& operator=(MomRunner&&) noexcept = default;

    // Starts tempos-mom with `config_file` and returns once it is ready: it logged "tempos-mom running" (every
    // adapter connected and every topic configured, so the routes are in the kernel) and its UDP port (from
    // [mom] listen) is bound in its namespace. Otherwise an error with the end of its log; it is then killed.
    static Result<MomRunner> start(const std::filesystem::path& config_file, MomOptions options = {});
    // The same with `config` written to a file of the runner's own temporary directory.
    static Result<MomRunner> start(const ControllerConfig& config, MomOptions options = {});

    pid_t pid() const { return process_.pid(); }
    Process& process() { return process_; }
    const std::filesystem::path& config_file() const { return config_file_; }
    std::string log() const { return process_.output(); }
    std::string log_tail(std::size_t lines = 8) const { return process_.output_tail(lines); }

    // SIGHUP: tempos-mom re-reads its config file.
    Status reload();
    // SIGTERM, then waits up to `timeout` (SIGKILL after it). Ok when it exited with status 0.
    Status stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // GET /metrics from [mom] metrics, from inside its namespace: the exposition text.
    Result<std::string> scrape_metrics() const;
    // Udp InDatagrams of its namespace (/proc/PID/net/snmp): what reached a socket there.
    Result<std::uint64_t> udp_in_datagrams() const;

private:
    Process process_;
    std::optional<TempDir> config_dir_, log_dir_;  // hold the written config and the default log
    std::filesystem::path config_file_;
    std::string netns_;
    std::uint16_t port_ = 0;
    std::string metrics_;  // "IP:PORT" or ""
};

// The sum of the samples of metric `name` (exactly, before its labels) whose labels include every one of
// `labels` (name, value), in Prometheus text exposition `text`.
double sum_metric(const std::string& text, const std::string& name,
                  const std::vector<std::pair<std::string, std::string>>& labels = {});

// A field of the Udp: lines of /proc/PID/net/snmp: the counter of process `pid`'s network namespace.
Result<std::uint64_t> udp_counter(pid_t pid, const std::string& field);
// The same counter of network namespace `ns`, read by a thread that enters it (no process of its own needed there).
Result<std::uint64_t> netns_udp_counter(const std::string& ns, const std::string& field);

// True when a UDP socket of process `pid`'s network namespace is bound to `port` (/proc/PID/net/udp).
bool udp_port_bound(pid_t pid, std::uint16_t port);

// The established TCP connections of process `pid`'s network namespace whose local port is `port` (a server's),
// and whether a TCP socket there listens on `port`.
std::size_t tcp_connections(pid_t pid, std::uint16_t port);
bool tcp_listening(pid_t pid, std::uint16_t port);

}  // namespace tempos::testkit
