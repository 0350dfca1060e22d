#include "process/mom_runner.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include <httplib.h>
#include <toml.hpp>

#include "topology/netns.hpp"

namespace tempos::testkit {

namespace {


// [mom] listen and metrics of a Controller TOML, as tempos-mom will read them.
Status read_addresses(const std::filesystem::path& file, std::string& listen, std::string& metrics) {
    try {
        const toml::value root = toml::parse(file.string());
        listen = toml::find_or<std::string>(root, "mom", "listen", "0.0.0.0:" + std::to_string(kMomPort));
        metrics = toml::find_or<std::string>(root, "mom", "metrics", std::string());
    } catch (const std::exception& e) {
        return Status::error(ErrorCode::invalid_argument, "reading [mom] of " + file.string() + ": " + e.what());
    }
    return Status::ok();
}

Result<std::uint16_t> port_of(const std::string& address) {
    const std::size_t colon = address.rfind(':');
    const int port = colon == std::string::npos ? 0 : std::atoi(address.c_str() + colon + 1);
    if (port <= 0 || port > 65535)
        return Result<std::uint16_t>::error(ErrorCode::invalid_argument, "no port in \"" + address + "\"");
    return static_cast<std::uint16_t>(port);
}

}  // namespace

Result<MomRunner> MomRunner::start(const ControllerConfig& config, MomOptions options) {
    TempDir dir("mom");
    if (dir.path().empty()) return Status::error(ErrorCode::system_error, "cannot create a temporary directory");
    const std::filesystem::path file = dir.path() / "mom.toml";
    if (Status written = config.write(file); !written) return written;
    Result<MomRunner> runner = start(file, std::move(options));
    if (runner) runner->config_dir_ = std::move(dir);
    return runner;
}

Result<MomRunner> MomRunner::start(const std::filesystem::path& config_file, MomOptions options) {
    MomRunner runner;
    runner.config_file_ = config_file;
    runner.netns_ = options.netns;
    std::string listen;
    if (Status read = read_addresses(config_file, listen, runner.metrics_); !read) return read;
    Result<std::uint16_t> port = port_of(listen);
    if (!port) return port.status().prefixed("[mom] listen");
    runner.port_ = *port;

    if (options.log_file.empty()) {
        runner.log_dir_.emplace("mom-log");
        if (runner.log_dir_->path().empty())
            return Status::error(ErrorCode::system_error, "cannot create a temporary directory");
        options.log_file = runner.log_dir_->path() / "mom.log";
    }
    std::vector<std::string> argv = options.wrapper;
    const std::filesystem::path binary = options.binary.empty() ? executable_dir() / "tempos-mom" : options.binary;
    argv.insert(argv.end(), {binary.string(), "--config", config_file.string(), "--log-level", options.log_level});
    argv.insert(argv.end(), options.args.begin(), options.args.end());
    Result<Process> process = Process::start(
        argv, ProcessOptions{options.netns, options.cpu, {}, options.log_file, options.log_file, options.listen_fds});
    if (!process) return process.status();
    runner.process_ = std::move(*process);

    const pid_t pid = runner.process_.pid();
    const std::uint16_t mom_port = runner.port_;
    Status ready = runner.process_.wait_until(
        [&] {
            return runner.process_.output().find("tempos-mom running") != std::string::npos &&
                   udp_port_bound(pid, mom_port);
        },
        options.ready_timeout, "readiness (\"tempos-mom running\" and UDP port " + std::to_string(mom_port) + " bound)");
    if (!ready) {
        runner.process_.kill_and_reap();
        return ready.prefixed("starting tempos-mom");
    }
    return runner;
}

MomRunner::~MomRunner() {
    if (process_.running()) (void)stop(std::chrono::seconds(5));
}

Status MomRunner::reload() { return process_.signal(SIGHUP); }

Status MomRunner::stop(std::chrono::milliseconds timeout) {
    if (process_.pid() <= 0) return Status::ok();
    Result<int> status = process_.terminate(timeout);
    if (!status) return status.status().prefixed("stopping tempos-mom");
    if (*status == 0) return Status::ok();
    return Status::error(ErrorCode::internal,
                         "tempos-mom " + process_.how_it_ended() + " on SIGTERM; its log ends:\n" + log_tail());
}

Result<std::string> MomRunner::scrape_metrics() const {
    if (metrics_.empty())
        return Result<std::string>::error(ErrorCode::not_found, config_file_.string() + " has no [mom] metrics");
    Result<std::uint16_t> port = port_of(metrics_);
    if (!port) return port.status().prefixed("[mom] metrics");
    const std::string host = metrics_.substr(0, metrics_.rfind(':'));
    std::string body;
    auto get = [&]() -> Status {
        // The client's socket is created during Get(): in the namespace the calling thread is in.
        httplib::Client client(host, *port);
        client.set_connection_timeout(std::chrono::seconds(2));
        client.set_read_timeout(std::chrono::seconds(5));
        const httplib::Result response = client.Get("/metrics");
        if (!response)
            return Status::error(ErrorCode::system_error,
                                 "GET http://" + metrics_ + "/metrics: " + httplib::to_string(response.error()));
        if (response->status != 200)
            return Status::error(ErrorCode::internal,
                                 "GET http://" + metrics_ + "/metrics: HTTP " + std::to_string(response->status));
        body = response->body;
        return Status::ok();
    };
    Status got = netns_.empty() ? get() : run_in_netns(netns_, get);
    if (!got) return got;
    return body;
}

Result<std::uint64_t> MomRunner::udp_in_datagrams() const { return udp_counter(process_.pid(), "InDatagrams"); }

double sum_metric(const std::string& text, const std::string& name,
                  const std::vector<std::pair<std::string, std::string>>& labels) {
    double sum = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const std::size_t name_end = line.find_first_of("{ ");
        if (name_end == std::string::npos || line.compare(0, name_end, name) != 0 || name_end != name.size()) continue;
        const std::size_t value_at = line.rfind(' ');
        const std::string label_text = line.substr(name_end, value_at - name_end);
        bool matches = true;
        for (const auto& [key, value] : labels)
            matches = matches && label_text.find(key + "=\"" + value + "\"") != std::string::npos;
        if (matches) sum += std::strtod(line.c_str() + value_at + 1, nullptr);
    }
    return sum;
}

Result<std::uint64_t> udp_counter(pid_t pid, const std::string& field) {
    const std::string file = "/proc/" + std::to_string(pid) + "/net/snmp";
    std::istringstream snmp(read_text(file));
    std::string header, values;
    for (std::string line; std::getline(snmp, line);) {
        if (line.rfind("Udp:", 0) != 0) continue;
        if (header.empty()) {
            header = line;
        } else {
            values = line;
            break;
        }
    }
    std::istringstream names(header), numbers(values);
    std::string name, value;
    while (names >> name && numbers >> value)
        if (name == field) return std::stoull(value);
    return Result<std::uint64_t>::error(ErrorCode::not_found, "no Udp " + field + " in " + file);
}

Result<std::uint64_t> netns_udp_counter(const std::string& ns, const std::string& field) {
    Result<std::uint64_t> value = Status::error(ErrorCode::internal, "not read");
    // /proc/TID/net is the namespace of that thread, the one run_in_netns moved.
    const Status entered = run_in_netns(ns, [&] {
        value = udp_counter(static_cast<pid_t>(::gettid()), field);
        return value.status();
    });
    if (!entered) return entered;
    return value;
}

namespace {
// The sockets of /proc/PID/net/PROTOCOL ("sl local_address rem_address st ...", the local address as
// HEXIP:HEXPORT) bound to `port`, in state `state` ("01": TCP_ESTABLISHED) or any when empty.
std::size_t sockets_on_port(pid_t pid, const char* protocol, std::uint16_t port, const std::string& state = {}) {
    std::istringstream table(read_text("/proc/" + std::to_string(pid) + "/net/" + protocol));
    char local_port[8];
    std::snprintf(local_port, sizeof local_port, ":%04X", port);
    std::string line;
    std::getline(table, line);  // the header
    std::size_t count = 0;
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, st;
        if (fields >> slot >> local >> remote >> st && local.size() > 5 &&
            local.compare(local.size() - 5, 5, local_port) == 0 && (state.empty() || st == state))
            ++count;
    }
    return count;
}
}  // namespace

// An IPv6 listen ([::], dual-stack too) is in udp6.
bool udp_port_bound(pid_t pid, std::uint16_t port) {
    return sockets_on_port(pid, "udp", port) + sockets_on_port(pid, "udp6", port) > 0;
}

std::size_t tcp_connections(pid_t pid, std::uint16_t port) { return sockets_on_port(pid, "tcp", port, "01"); }

bool tcp_listening(pid_t pid, std::uint16_t port) { return sockets_on_port(pid, "tcp", port, "0A") > 0; }

}  // namespace tempos::testkit
