// The test kit's one etcd runner: an etcd (Debian's etcd-server) of one member or a cluster of several, on ports of
// its own (loopback, or an address of a network namespace it runs in), in a temporary data directory, waited for
// until `etcdctl endpoint health` answers for every member (bounded polls, no fixed sleep), each member killed by
// its PID when the object goes. Used by the cluster tests and, through `tempos-testkit etcd run`, by the cluster
// e2e scenarios (docs/cluster.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "process/process.hpp"
#include "process/temp_dir.hpp"
#include "tempos/status.hpp"

namespace tempos::testkit {

struct EtcdOptions {
    std::chrono::milliseconds ready_timeout{20000};
    // One member, or a cluster of this many (each its own process, data directory and ports).
    int members = 1;
    // A network namespace of /run/netns to run in (etcdctl too), "" = ours.
    std::string netns = {};
    // The address every member listens on (clients and peers).
    std::string host = "127.0.0.1";
    // TLS to clients (https:// endpoints; the peers stay on http) when cert is given: the members' certificate and
    // key, and the CA whose client certificates they require (--client-cert-auth), which etcdctl() presents
    // (client_cert, client_key) and whose CA it trusts (ca: one CA signs both sides).
    struct Tls {
        std::filesystem::path ca = {}, cert = {}, key = {}, client_cert = {}, client_key = {};
    } tls = {};
};

class EtcdRunner {
public:
    EtcdRunner() = default;
    EtcdRunner(EtcdRunner&&) noexcept = default;
    EtcdRunner& operator=(EtcdRunner&&) noexcept = default;
    ~EtcdRunner() = default;  // each member's Process kills and reaps it

    // not_found when etcd (or etcdctl) is not installed; otherwise every member running and healthy, or an error
    // with the end of their logs.
    static Result<EtcdRunner> start(EtcdOptions options = {});

    // "http://HOST:PORT" ("https://" with TLS) of the first member / of every member: what [cluster] etcd lists.
    const std::string& endpoint() const { return members_.front().endpoint; }
    std::vector<std::string> endpoints() const;
    std::size_t size() const { return members_.size(); }
    pid_t pid(std::size_t member = 0) const { return members_.at(member).process.pid(); }
    std::string log_tail(std::size_t lines = 12) const;

    // Every member: SIGTERM, bounded wait (SIGKILL after it).
    Status stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    // Every member started again on the same data directory and ports (the store, its revision and history kept),
    // healthy.
    Status restart();
    // One member SIGKILLed and reaped (the others keep the cluster when they are a majority).
    Status kill_member(std::size_t member);
    // Members still running (one killed, or one that ended by itself).
    std::size_t running();
    // `etcdctl ARGS...` against the members running: its stdout, or an error with its output.
    Result<std::string> etcdctl(const std::vector<std::string>& args) const;

private:
    struct Member {
        std::string name;
        std::uint16_t client_port = 0, peer_port = 0;
        std::string endpoint, peer;
        Process process;
    };
    Status launch(Member& member);
    Status wait_healthy();
    std::string running_endpoints() const;
    std::string initial_cluster() const;

    EtcdOptions options_;
    std::optional<TempDir> data_;
    std::filesystem::path etcd_, etcdctl_;
    std::vector<Member> members_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, read, released).
std::uint16_t free_tcp_port();

}  // namespace tempos::testkit
