// The test kit's one etcd runner: a single-member etcd (Debian's etcd-server) on loopback ports of its own, in a
// temporary data directory, waited for until `etcdctl endpoint health` answers (bounded polls, no fixed sleep),
// killed by its PID when the object goes. Used by the cluster tests (docs/cluster.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "process/process.hpp"
#include "process/temp_dir.hpp"
#include "tempos/status.hpp"

namespace tempos::testkit {

struct EtcdOptions {
    std::chrono::milliseconds ready_timeout{20000};
};

class EtcdRunner {
public:
    EtcdRunner() = default;
    EtcdRunner(EtcdRunner&&) noexcept = default;
    EtcdRunner& operator=(EtcdRunner&&) noexcept = default;
    ~EtcdRunner() = default;  // the Process kills and reaps it

    // not_found when etcd (or etcdctl) is not installed; otherwise running and healthy, or an error with the end
    // of its log.
    static Result<EtcdRunner> start(EtcdOptions options = {});

    // "http://127.0.0.1:PORT": what [cluster] etcd lists.
    const std::string& endpoint() const { return endpoint_; }
    pid_t pid() const { return process_.pid(); }
    std::string log_tail(std::size_t lines = 12) const { return process_.output_tail(lines); }

    // SIGTERM, bounded wait (SIGKILL after it).
    Status stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    // Started again on the same data directory and ports (the store, its revision and history kept), healthy.
    Status restart();
    // `etcdctl ARGS...` against this member: its stdout, or an error with its output.
    Result<std::string> etcdctl(const std::vector<std::string>& args) const;

private:
    Status launch();
    bool healthy() const;

    EtcdOptions options_;
    std::optional<TempDir> data_;
    std::filesystem::path etcd_, etcdctl_;
    std::uint16_t client_port_ = 0, peer_port_ = 0;
    std::string endpoint_;
    Process process_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, read, released).
std::uint16_t free_tcp_port();

}  // namespace tempos::testkit
