#include "process/etcd_runner.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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
    runner.client_port_ = free_tcp_port();
    runner.peer_port_ = free_tcp_port();
    if (runner.client_port_ == 0 || runner.peer_port_ == 0 || runner.client_port_ == runner.peer_port_)
        return Result<EtcdRunner>::error(ErrorCode::system_error, "no free loopback TCP ports for etcd");
    runner.endpoint_ = "http://127.0.0.1:" + std::to_string(runner.client_port_);
    if (Status launched = runner.launch(); !launched) return launched;
    return runner;
}

Status EtcdRunner::launch() {
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    const std::filesystem::path log = data_->path() / "etcd.log";
    Result<Process> started = Process::start(
        {etcd_.string(), "--name", "test", "--data-dir", (data_->path() / "data").string(), "--listen-client-urls",
         endpoint_, "--advertise-client-urls", endpoint_, "--listen-peer-urls", peer, "--initial-advertise-peer-urls",
         peer, "--initial-cluster", "test=" + peer},
        {.stdout_file = log, .stderr_file = log});
    if (!started) return started.status();
    process_ = std::move(*started);
    return process_.wait_until([this] { return healthy(); }, options_.ready_timeout, "etcd to answer endpoint health");
}

bool EtcdRunner::healthy() const {
    const auto out = etcdctl({"endpoint", "health"});
    return out.is_ok();
}

Result<std::string> EtcdRunner::etcdctl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {etcdctl_.string(), "--endpoints", endpoint_, "--dial-timeout", "1s",
                                     "--command-timeout", "2s"};
    argv.insert(argv.end(), args.begin(), args.end());
    Result<Process> run = Process::start(argv, {.env = {"ETCDCTL_API=3"}});
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
    const Result<int> ended = process_.terminate(grace);
    return ended.status();
}

Status EtcdRunner::restart() {
    if (process_.running()) {
        if (Status stopped = stop(); !stopped) return stopped;
    }
    return launch();
}

}  // namespace tempos::testkit
