// A broker running as a child process inside a network namespace, its output in a log file. Stopped (TERM, then
// KILL) by stop() or the destructor, so no broker outlives a run.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace tempos::bench::peers {

class BrokerProcess {
public:
    // argv[0] is the binary's path. nullptr and `error` set when it cannot be started.
    static std::unique_ptr<BrokerProcess> start(const std::string& ns, const std::vector<std::string>& argv,
                                                const std::string& log_path, std::string& error);
    ~BrokerProcess();
    BrokerProcess(const BrokerProcess&) = delete;
    BrokerProcess& operator=(const BrokerProcess&) = delete;

    // Empty while it runs; otherwise how it ended.
    std::string exited();
    // Waits (at most `seconds`) until a TCP connection to ip:port succeeds from namespace `client_ns`, or the
    // broker exits. Empty when it accepts connections.
    std::string wait_listening(const std::string& client_ns, const std::string& ip, int port, double seconds);
    // SIGTERM, then SIGKILL after 3 s; empty if it ended on SIGTERM or by exiting.
    std::string stop();
    // The last `lines` lines of its log, for error messages.
    std::string log_tail(std::size_t lines = 8) const;

private:
    BrokerProcess(pid_t pid, std::string name, std::string log) : pid_(pid), name_(std::move(name)), log_(std::move(log)) {}

    pid_t pid_;
    std::string name_;
    std::string log_;
    std::string ended_;  // how it ended, once reaped
    bool stopped_ = false;
};

// First of `name` in PATH, /usr/sbin, /usr/local/sbin, /sbin that is executable; empty if none.
std::string find_program(const std::string& name);

}  // namespace tempos::bench::peers
