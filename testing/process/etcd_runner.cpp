#include "process/etcd_runner.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

namespace tempos::testkit {

std::uint16_t free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
    ::close(fd);
    return bound ? ntohs(addr.sin_port) : 0;
}

Result<EtcdRunner> EtcdRunner::start(EtcdOptions options) {
    EtcdRunner runner;
    runner.options_ = options;
    if (options.members < 1) return Result<EtcdRunner>::error(ErrorCode::invalid_argument, "etcd needs a member");
    const auto etcd = find_program("etcd");
    if (!etcd) return Result<EtcdRunner>::error(ErrorCode::not_found, "etcd is not installed (Debian: etcd-server)");
    const auto etcdctl = find_program("etcdctl");
    if (!etcdctl)
        return Result<EtcdRunner>::error(ErrorCode::not_found, "etcdctl is not installed (Debian: etcd-client)");
    runner.etcd_ = *etcd;
    runner.etcdctl_ = *etcdctl;
    runner.data_.emplace("etcd");
    if (runner.data_->path().empty())
        return Result<EtcdRunner>::error(ErrorCode::system_error, "cannot create etcd's data directory");
    // Our loopback: ports found free. A namespace of its own has nothing bound: etcd's usual ports, in turn.
    std::set<std::uint16_t> taken;
    for (int i = 0; i < options.members; ++i) {
        Member m;
        m.name = "m" + std::to_string(i);
        if (options.netns.empty()) {
            m.client_port = free_tcp_port();
            m.peer_port = free_tcp_port();
        } else {
            m.client_port = static_cast<std::uint16_t>(2379 + 10 * i);
            m.peer_port = static_cast<std::uint16_t>(2380 + 10 * i);
        }
        if (m.client_port == 0 || m.peer_port == 0 || !taken.insert(m.client_port).second ||
            !taken.insert(m.peer_port).second)
            return Result<EtcdRunner>::error(ErrorCode::system_error, "no free TCP ports for etcd");
        m.endpoint = (options.tls.cert.empty() ? "http://" : "https://") + options.host + ":" + std::to_string(m.client_port);
        m.peer = "http://" + options.host + ":" + std::to_string(m.peer_port);
        runner.members_.push_back(std::move(m));
    }
    // All started before any is waited for: a member of a new cluster waits for its peers.
    for (Member& m : runner.members_)
        if (Status launched = runner.launch(m); !launched) return launched;
    if (Status healthy = runner.wait_healthy(); !healthy) return healthy;
    return runner;
}

std::string EtcdRunner::initial_cluster() const {
    std::string cluster;
    for (const Member& m : members_) cluster += (cluster.empty() ? "" : ",") + m.name + "=" + m.peer;
    return cluster;
}

Status EtcdRunner::launch(Member& m) {
    const std::filesystem::path log = data_->path() / (m.name + ".log");
    std::vector<std::string> argv{
        etcd_.string(), "--name", m.name, "--data-dir", (data_->path() / m.name).string(), "--listen-client-urls",
        m.endpoint, "--advertise-client-urls", m.endpoint, "--listen-peer-urls", m.peer,
        "--initial-advertise-peer-urls", m.peer, "--initial-cluster", initial_cluster(), "--initial-cluster-token",
        data_->path().filename().string()};
    if (!options_.tls.cert.empty())
        argv.insert(argv.end(), {"--cert-file", options_.tls.cert.string(), "--key-file", options_.tls.key.string(),
                                 "--trusted-ca-file", options_.tls.ca.string(), "--client-cert-auth"});
    Result<Process> started = Process::start(argv, {.netns = options_.netns, .stdout_file = log, .stderr_file = log});
    if (!started) return started.status();
    m.process = std::move(*started);
    return Status::ok();
}

Status EtcdRunner::wait_healthy() {
    bool ended = false;
    const bool healthy = poll_until(
        [&] {
            for (Member& m : members_) ended = ended || !m.process.running();
            return ended || etcdctl({"endpoint", "health"}).is_ok();
        },
        options_.ready_timeout);
    if (healthy && !ended) return Status::ok();
    return Status::error(ErrorCode::not_connected,
                         std::string(ended ? "an etcd member ended" : "etcd did not answer endpoint health") +
                             " within " + std::to_string(options_.ready_timeout.count()) + " ms; its log:\n" +
                             log_tail());
}

std::vector<std::string> EtcdRunner::endpoints() const {
    std::vector<std::string> all;
    for (const Member& m : members_) all.push_back(m.endpoint);
    return all;
}

std::string EtcdRunner::running_endpoints() const {
    std::string list;
    for (const Member& m : members_)
        if (m.process.pid() > 0) list += (list.empty() ? "" : ",") + m.endpoint;
    return list;
}

std::string EtcdRunner::log_tail(std::size_t lines) const {
    std::string tail;
    for (const Member& m : members_)
        tail += (members_.size() > 1 ? "--- " + m.name + " ---\n" : "") + m.process.output_tail(lines);
    return tail;
}

Result<std::string> EtcdRunner::etcdctl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {etcdctl_.string(), "--endpoints", running_endpoints(), "--dial-timeout", "1s",
                                     "--command-timeout", "2s"};
    if (!options_.tls.cert.empty())
        argv.insert(argv.end(), {"--cacert", options_.tls.ca.string(), "--cert", options_.tls.client_cert.string(),
                                 "--key", options_.tls.client_key.string()});
    argv.insert(argv.end(), args.begin(), args.end());
    Result<Process> run = Process::start(argv, {.netns = options_.netns, .env = {"ETCDCTL_API=3"}});
    if (!run) return run.status();
    const Result<int> status = run->wait(std::chrono::seconds(5));
    if (!status) {
        run->kill_and_reap();
        return Result<std::string>::error(ErrorCode::system_error, "etcdctl did not end within 5 s");
    }
    if (*status != 0)
        return Result<std::string>::error(ErrorCode::system_error,
                                          "etcdctl " + args.front() + " " + run->how_it_ended() + ": " +
                                              run->output_tail());
    return run->output();
}

Status EtcdRunner::stop(std::chrono::milliseconds grace) {
    Status first;
    for (Member& m : members_) {
        if (!m.process.running()) continue;
        const Result<int> ended = m.process.terminate(grace);
        if (!ended && first) first = ended.status();
    }
    return first;
}

Status EtcdRunner::restart() {
    if (Status stopped = stop(); !stopped) return stopped;
    for (Member& m : members_)
        if (Status launched = launch(m); !launched) return launched;
    return wait_healthy();
}

std::size_t EtcdRunner::running() {
    std::size_t n = 0;
    for (Member& m : members_) n += m.process.running() ? 1 : 0;
    return n;
}

Status EtcdRunner::kill_member(std::size_t member) {
    if (member >= members_.size())
        return Status::error(ErrorCode::invalid_argument, "no etcd member " + std::to_string(member));
    members_[member].process.kill_and_reap();
    members_[member].process = Process();
    return Status::ok();
}

}  // namespace tempos::testkit
