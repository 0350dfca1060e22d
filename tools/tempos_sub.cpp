// tempos-sub: receives events from a MoM and reports, per topic, what arrived: counts, duplicates, gaps in the
// sequence, one-way latency percentiles, the time between arrivals (its p99 and longest: a delivery gap, e.g.
// across a restart of tempos-mom). Stops at --count events or after --timeout seconds. With --register, it keeps
// its endpoint in etcd as a member of a cluster topic's group under a lease while it runs (docs/cluster.md).
#include <poll.h>
#include <sys/signalfd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cluster_topic.hpp"
#include "config.hpp"
#include "endpoint_arg.hpp"
#include "leased_key.hpp"
#include "event_format.hpp"
#include "latency_summary.hpp"
#include "round_to.hpp"

namespace {

struct TopicReception {
    std::uint64_t received = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t corrupt = 0;  // unique events whose bytes after the header are not tempos-pub's pattern
    std::uint64_t min_sequence = UINT64_MAX;
    std::uint64_t max_sequence = 0;
    std::uint64_t first_sent_ns = UINT64_MAX;  // earliest and latest send time among the unique events
    std::uint64_t last_sent_ns = 0;
    std::unordered_set<std::uint64_t> seen;
    std::vector<std::uint64_t> latency_ns;
    std::uint64_t last_arrival_ns = 0;
    std::vector<std::uint64_t> arrival_gap_ns;  // from one unique event's arrival to the next one's
    // Since the last interim report (--report-every).
    std::uint64_t interval_received = 0;
    std::vector<std::uint64_t> interval_latency_ns;

    void add(const tempos::tools::EventHeader& h, std::span<const std::uint8_t> datagram, std::uint64_t now_ns) {
        ++received;
        ++interval_received;
        if (!seen.insert(h.sequence).second) {
            ++duplicates;
            return;
        }
        if (!tempos::tools::payload_pattern_intact(datagram, h.sequence)) ++corrupt;
        if (last_arrival_ns != 0) arrival_gap_ns.push_back(now_ns - last_arrival_ns);
        last_arrival_ns = now_ns;
        min_sequence = std::min(min_sequence, h.sequence);
        max_sequence = std::max(max_sequence, h.sequence);
        first_sent_ns = std::min(first_sent_ns, h.sent_ns);
        last_sent_ns = std::max(last_sent_ns, h.sent_ns);
        if (now_ns >= h.sent_ns) {
            latency_ns.push_back(now_ns - h.sent_ns);
            interval_latency_ns.push_back(now_ns - h.sent_ns);
        }
    }
    std::uint64_t unique() const { return seen.size(); }
    std::uint64_t gaps() const { return seen.empty() ? 0 : max_sequence - min_sequence + 1 - seen.size(); }
};

using nlohmann::ordered_json;
using tempos::tools::round_to;

// One JSON line per interval (--report-every): what arrived since the previous line, for live displays.
void print_interim(std::map<unsigned, TopicReception>& topics, double seconds) {
    ordered_json line{{"interim", true}, {"seconds", round_to(seconds, 3)}, {"topics", ordered_json::object()}};
    for (auto& [topic, r] : topics) {
        const auto l = tempos::tools::summarize_latency(r.interval_latency_ns);
        line["topics"][std::to_string(topic)] = {{"received", r.received},
                                                 {"interval_received", r.interval_received},
                                                 {"interval_p50_us", round_to(l.p50_us, 2)},
                                                 {"interval_p99_us", round_to(l.p99_us, 2)}};
        r.interval_received = 0;
        r.interval_latency_ns.clear();
    }
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
}

void print_json(const std::map<unsigned, TopicReception>& topics, std::uint64_t total, std::uint64_t malformed,
                double seconds, const ordered_json& registration) {
    ordered_json report{{"received", total},
                        {"malformed", malformed},
                        {"seconds", round_to(seconds, 6)},
                        {"topics", ordered_json::object()}};
    if (!registration.is_null()) report["registration"] = registration;
    for (auto& [topic, r] : topics) {
        auto sample = r.latency_ns;
        const auto l = tempos::tools::summarize_latency(sample);
        auto gaps = r.arrival_gap_ns;
        const auto arrivals = tempos::tools::summarize_latency(gaps);
        report["topics"][std::to_string(topic)] = {{"received", r.received},
                                                   {"unique", r.unique()},
                                                   {"duplicates", r.duplicates},
                                                   {"gaps", r.gaps()},
                                                   {"min_seq", r.seen.empty() ? 0 : r.min_sequence},
                                                   {"max_seq", r.max_sequence},
                                                   {"corrupt", r.corrupt},
                                                   {"first_sent_ns", r.seen.empty() ? 0 : r.first_sent_ns},
                                                   {"last_sent_ns", r.last_sent_ns},
                                                   {"p50_us", round_to(l.p50_us, 2)},
                                                   {"p99_us", round_to(l.p99_us, 2)},
                                                   {"p999_us", round_to(l.p999_us, 2)},
                                                   {"max_us", round_to(l.max_us, 2)},
                                                   {"arrival_gap_p99_us", round_to(arrivals.p99_us, 2)},
                                                   {"arrival_gap_max_us", round_to(arrivals.max_us, 2)}};
    }
    std::printf("%s\n", report.dump().c_str());
}

void print_text(const std::map<unsigned, TopicReception>& topics, std::uint64_t total, std::uint64_t malformed) {
    std::printf("received %llu events (%llu malformed)\n", static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(malformed));
    std::printf("%5s %10s %10s %6s %6s %10s %10s %10s\n", "topic", "received", "unique", "dups", "gaps", "p50_us",
                "p99_us", "p99.9_us");
    for (auto& [topic, r] : topics) {
        auto sample = r.latency_ns;
        const auto l = tempos::tools::summarize_latency(sample);
        std::printf("%5u %10llu %10llu %6llu %6llu %10.1f %10.1f %10.1f\n", topic,
                    static_cast<unsigned long long>(r.received), static_cast<unsigned long long>(r.unique()),
                    static_cast<unsigned long long>(r.duplicates), static_cast<unsigned long long>(r.gaps()),
                    l.p50_us, l.p99_us, l.p999_us);
    }
}

// --register: the member key of this subscriber's endpoint (docs/cluster.md), kept under a lease.
struct Registration {
    std::vector<std::string> etcd;
    std::string prefix = "/tempos";
    unsigned topic = 0;
    unsigned group = 0;
    std::string mac;
    unsigned ttl = 5;
    std::string cacert, cert, key;  // TLS to https:// endpoints: PEM files, as tempos-ctl's
};

// The key kept alive until stop(), or why not (exit status 2: a bad argument, 1: etcd refused or unreachable).
std::unique_ptr<tempos::cluster::LeasedKey> register_member(const Registration& r, const std::string& listen,
                                                            int& exit_status) {
    auto fail = [&](int status, const std::string& why) {
        std::fprintf(stderr, "tempos-sub: --register: %s\n", why.c_str());
        exit_status = status;
        return nullptr;
    };
    for (const std::string& endpoint : r.etcd)
        if (!tempos::mom::etcd_grpc_target(endpoint))
            return fail(2, "etcd endpoint '" + endpoint + "': expected http://HOST:PORT or https://HOST:PORT");
    tempos::Result<tempos::mom::EtcdTls> tls = tempos::mom::read_etcd_tls(r.etcd, r.cacert, r.cert, r.key);
    if (!tls) return fail(2, tls.message());
    const std::string key =
        tempos::cluster::member_key(r.prefix, static_cast<std::uint8_t>(r.topic), r.group, listen);
    const std::string value = r.mac.empty() ? std::string() : nlohmann::json{{"mac", r.mac}}.dump();
    // Checked as every MoM will check it, so that a key they would refuse is never written.
    if (const auto member = tempos::cluster::parse_member(r.prefix, key, value); !member)
        return fail(2, member.message());
    auto log = std::make_shared<spdlog::logger>("tempos-sub", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    log->set_pattern("tempos-sub: %v");
    auto kept = std::make_unique<tempos::cluster::LeasedKey>(r.etcd, std::move(*tls), key, [value] { return value; },
                                                             std::chrono::seconds(r.ttl), std::move(log));
    if (const tempos::Status registered = kept->register_once(); !registered)
        return fail(1, "cannot register " + key + ": " + tempos::describe(registered));
    kept->start();
    return kept;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tempos-sub: receive events from a MoM and report counts, gaps, duplicates and latency"};
    std::string listen;
    std::uint64_t count = 0;
    double timeout = 10;
    bool json = false;
    std::string ready_file;
    app.add_option("--listen", listen, "IP:PORT or [IPv6]:PORT to bind")->required();
    app.add_option("--count", count, "stop after this many events (0 = only --timeout stops)");
    app.add_option("--timeout", timeout, "stop after this many seconds in all")->check(CLI::PositiveNumber);
    app.add_option("--ready-file", ready_file, "create this file once the socket is bound");
    app.add_flag("--json", json, "print the report as one JSON object");
    double report_every = 0;
    app.add_option("--report-every", report_every,
                   "also print one JSON line every this many seconds: events and latency since the previous line")
        ->check(CLI::PositiveNumber);
    Registration registration;
    auto* register_option =
        app.add_option("--register", registration.etcd,
                       "etcd endpoint(s) http[s]://HOST:PORT[,...]: keep <prefix>/members/TOPIC/GROUP/<--listen> under a "
                       "lease while running (the MoMs route to it; docs/cluster.md)")
            ->delimiter(',');
    auto* topic_option = app.add_option("--topic", registration.topic, "with --register: the cluster topic to join")
        ->check(CLI::Range(0, 255))
        ->needs(register_option);
    app.add_option("--group", registration.group, "with --register: the group (0-based, as the topic lists them)")
        ->check(CLI::Range(0, 255))
        ->needs(register_option);
    app.add_option("--prefix", registration.prefix, "with --register: the key prefix, as [cluster] prefix")
        ->capture_default_str()
        ->needs(register_option);
    app.add_option("--mac", registration.mac, "with --register: this endpoint's MAC, for the member's value")
        ->needs(register_option);
    app.add_option("--lease-ttl", registration.ttl,
                   "with --register: the lease's TTL in seconds; a subscriber that dies is routed to until it passed")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str()
        ->needs(register_option);
    for (auto [name, path, help] :
         {std::tuple{"--cacert", &registration.cacert, "with --register https://: PEM file of the CAs that sign etcd's"},
          std::tuple{"--cert", &registration.cert, "with --register https://: PEM file of the client certificate"},
          std::tuple{"--key", &registration.key, "with --register https://: PEM file of its key"}})
        app.add_option(name, *path, help)->needs(register_option);
    CLI11_PARSE(app, argc, argv);
    if (!registration.etcd.empty() && topic_option->count() == 0) {
        std::fprintf(stderr, "tempos-sub: --register needs --topic: the cluster topic to join\n");
        return 2;
    }

    const tempos::tools::EndpointSocket endpoint = tempos::tools::open_endpoint_socket("tempos-sub", "--listen", listen);
    if (endpoint.fd < 0) return endpoint.exit_status;
    const int fd = endpoint.fd;
    // 8 MiB, so that a subscriber starved of CPU for a while (a loaded test machine) does not drop a burst:
    // SO_RCVBUFFORCE with CAP_NET_ADMIN, else SO_RCVBUF, which net.core.rmem_max caps (often 208 KiB).
    const int rcvbuf = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (bind(fd, endpoint.endpoint.get(), endpoint.endpoint.length) != 0) {
        std::fprintf(stderr, "tempos-sub: bind %s: %s\n", listen.c_str(), std::strerror(errno));
        return 1;
    }
    // SIGINT/SIGTERM end the run early but still print the report (blocked before the
    // registration's threads start, so that they inherit the mask).
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    const int sfd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
    // Registered once bound, and before it says it is ready: a MoM may route to it from then on.
    std::unique_ptr<tempos::cluster::LeasedKey> member;
    if (!registration.etcd.empty()) {
        int exit_status = 0;
        member = register_member(registration, listen, exit_status);
        if (!member) return exit_status;
    }
    if (!ready_file.empty()) {
        if (FILE* f = std::fopen(ready_file.c_str(), "w")) std::fclose(f);
    }

    constexpr int kBatch = 64;
    std::array<std::array<std::uint8_t, 2048>, kBatch> buffers{};
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    for (int i = 0; i < kBatch; ++i) {
        iov[i] = {buffers[i].data(), buffers[i].size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    std::map<unsigned, TopicReception> topics;
    std::uint64_t total = 0, malformed = 0;
    const std::uint64_t start = tempos::tools::monotonic_ns();
    const std::uint64_t deadline = start + static_cast<std::uint64_t>(timeout * 1e9);
    const std::uint64_t report_period = static_cast<std::uint64_t>(report_every * 1e9);
    std::uint64_t next_report = start + report_period;
    while (count == 0 || total < count) {
        const std::uint64_t now = tempos::tools::monotonic_ns();
        if (now >= deadline) break;
        if (report_period != 0 && now >= next_report) {
            print_interim(topics, static_cast<double>(now - start) / 1e9);
            next_report += report_period;
        }
        pollfd pfds[2] = {{fd, POLLIN, 0}, {sfd, POLLIN, 0}};
        const int wait_ms = static_cast<int>(std::min<std::uint64_t>((deadline - now) / 1'000'000 + 1, 50));
        if (poll(pfds, 2, wait_ms) <= 0) continue;
        if (pfds[1].revents & POLLIN) break;
        const int n = recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) continue;
        const std::uint64_t received_at = tempos::tools::monotonic_ns();
        for (int i = 0; i < n; ++i) {
            const auto header = tempos::tools::read_event_header({buffers[i].data(), msgs[i].msg_len});
            ++total;
            if (!header) {
                ++malformed;
                continue;
            }
            topics[header->topic].add(*header, {buffers[i].data(), msgs[i].msg_len}, received_at);
        }
    }
    const double seconds = static_cast<double>(tempos::tools::monotonic_ns() - start) / 1e9;
    ordered_json registered;
    if (member) {
        registered = {{"key", member->key()}, {"lease", member->lease()}};
        member->stop();  // revoked: the MoMs stop routing to it now, not after the TTL
    }
    if (json)
        print_json(topics, total, malformed, seconds, registered);
    else
        print_text(topics, total, malformed);
    close(fd);
    close(sfd);
    return 0;
}
