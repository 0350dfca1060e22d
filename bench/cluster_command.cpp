// tempos-bench cluster: how fast a change made in etcd reaches every broker's kernel path, idle and with member keys
// churned, and a broker's full resync (issue 16). Method and figures: docs/cluster.md, "Benchmark". An event on the
// new route's socket can only have come along the new route: each change moves topic 1 to the next of 32 routes.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <numeric>
#include <regex>
#include <thread>
#include <tuple>

#include "bench_mom.hpp"
#include "cluster_topic.hpp"
#include "etcd_client.hpp"
#include "event_format.hpp"
#include "latency_summary.hpp"
#include "process/etcd_runner.hpp"
#include "process/held_sockets.hpp"
#include "tempos/unique_fd.hpp"
#include "topology/layouts.hpp"
#include "topology/netns.hpp"

namespace tempos::bench {

namespace {

struct ClusterOptions : CommonOptions {
    int changes = 200;
    double rate = 2000;  // strict events per second through each broker (--rate)
    int topics = 256;    // with churn: topic 1 and topics - 1 others of 16 members
    double churn_rate = 20;  // member keys per second: each costs every broker one table update
    void apply_quick() { std::tie(changes, topics) = std::pair{20, 16}; }
    void add_options(CLI::App* cmd) {
        cmd->add_option("--changes", changes, "Changes of topic 1 per phase")->check(CLI::Range(1, 100'000));
        cmd->add_option("--topics", topics, "Topics in the churned table (16 members each)")->check(CLI::Range(2, 256));
        cmd->add_option("--churn-rate", churn_rate, "Member keys deleted or written again per second")
            ->check(CLI::Range(1.0, 10'000.0));
    }
};

constexpr int kBrokers = 3, kPorts = 16, kRoutes = 2 * kPorts, kMembers = 16;
constexpr std::uint64_t kSequenceRange = 1'000'000'000'000;  // broker k's events: k * kSequenceRange on
const char* const kBrokerNodes[kBrokers] = {"mom", "sub3", "sub4"};
const std::string kPrefix = "/tempos";

// The first event through each broker on the armed route's socket, and every event through each broker.
struct Arrivals {
    std::mutex mutex;
    int armed = -1;
    std::array<std::uint64_t, kBrokers> first{};
    std::array<std::uint64_t, kBrokers> delivered{};
};

// Losses of topic 1's events in each broker's /metrics (the rest are read from the topology).
const std::pair<const char*, std::vector<std::pair<std::string, std::string>>> kBrokerLosses[] = {
    {"tempos_kernel_dropped_total", {}},        {"tempos_device_tx_dropped_total", {}},
    {"tempos_device_peer_tx_dropped_total", {}}, {"tempos_interface_rx_dropped_total", {}},
    {"tempos_events_dropped_total", {}},        {"tempos_events_abandoned_total", {}},
    {"tempos_adapter_send_errors_total", {}},   {"tempos_netns_udp_errors_total", {{"counter", "InErrors"}}}};

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

struct ClusterBench : Bench<ClusterOptions> {
    using Bench::Bench;

    Result<Report> run() {
        TEMPOS_ASSIGN_OR_RETURN(net_, testkit::one_legged(4));
        for (const char* node : {"sub1", "sub2"})
            if (const Result<Mac> mac = net_.mac(node, "eth0"); mac) macs_.push_back(testkit::mac_text(*mac));
            else return mac.status();
        // This thread talks to etcd from pub's namespace, and so do gRPC's threads, started from it.
        testkit::NetnsScope in_pub(net_.ns("pub"));
        TEMPOS_RETURN_IF_ERROR(in_pub.status());
        TEMPOS_ASSIGN_OR_RETURN(etcd_, testkit::EtcdRunner::start({.netns = net_.ns("pub"), .host = net_.ip("pub")}));
        client_.emplace(std::vector{etcd_->endpoint()});
        TEMPOS_RETURN_IF_ERROR(open_sockets());
        std::jthread receiver([this](std::stop_token stop) { receive(stop); });
        TEMPOS_ASSIGN_OR_RETURN(const std::int64_t first, put_route(0));
        for (int k = 0; k < kBrokers; ++k) {
            testkit::ControllerConfig config =
                testkit::xdp_mom_config(net_.ip(kBrokerNodes[k]) + ":" + std::to_string(kMomPort), "eth0", "auto");
            config.mom.metrics = "127.0.0.1:9464";
            config.cluster = {{etcd_->endpoint()}, kPrefix, "edge-" + std::to_string(k + 1)};
            configs_.push_back(config);
            Result<testkit::MomRunner> mom = testkit::MomRunner::start(config, {.netns = net_.ns(kBrokerNodes[k])});
            if (!mom) return mom.status().prefixed(kBrokerNodes[k]);
            brokers_.push_back(std::move(*mom));
            if (!applied(k, first, std::chrono::seconds(10))) return measurement_error("a broker did not read etcd");
        }
        std::vector<testkit::Process> pubs;
        for (int k = 0; k < kBrokers; ++k) {
            Result<testkit::Process> pub = testkit::Process::start(
                {(testkit::executable_dir() / "tempos-pub").string(), "--to",
                 net_.ip(kBrokerNodes[k]) + ":" + std::to_string(kMomPort), "--topic", "1", "--count", "1000000000",
                 "--rate", std::to_string(o_.rate), "--size", "32", "--max-seconds", "900", "--first-sequence",
                 std::to_string(k * kSequenceRange), "--json"},
                {.netns = net_.ns("pub")});
            if (!pub) return pub.status();
            pubs.push_back(std::move(*pub));
        }
        TEMPOS_ASSIGN_OR_RETURN(const double lost_before, counted_losses());
        Report out;
        if (Status idle = measure(out, "cluster_prop"); !idle) return idle.prefixed("propagation");
        const Result<std::int64_t> filled = fill();
        if (!filled) return filled.status().prefixed("filling the table");
        for (int k = 0; k < kBrokers; ++k)
            if (!applied(k, *filled, std::chrono::seconds(120))) return measurement_error("a broker lags the table");
        {
            std::jthread churn([this](std::stop_token stop) { churn_members(stop); });
            if (Status churned = measure(out, "cluster_churn_prop"); !churned) return churned.prefixed("with churn");
        }
        TEMPOS_RETURN_IF_ERROR(account(out, pubs, lost_before));
        if (Status resynced = resync(out); !resynced) return resynced.prefixed("resync");
        out.raw("cluster_prop_ms", curves_)
            .number("cluster_changes", o_.changes, 0)
            .number("cluster_rate_eps", o_.rate, 0)
            .number("cluster_topics", o_.topics, 0)
            .number("cluster_churn_rate", o_.churn_rate, 0);
        return out;
    }

private:
    Status open_sockets() {
        for (int r = 0; r < kRoutes; ++r) {
            const std::string any = "0.0.0.0:" + std::to_string(route_port(r));
            auto fd = testkit::bind_listen_sockets(net_.ns(route_node(r)), any, 1);
            if (!fd) return fd.status().prefixed("a route's socket");
            sockets_.push_back(std::move(fd->front()));
        }
        return Status::ok();
    }

    static const char* route_node(int r) { return r % 2 ? "sub2" : "sub1"; }
    static std::uint16_t route_port(int r) { return static_cast<std::uint16_t>(20000 + r / 2); }

    void receive(const std::stop_token& stop) {
        std::vector<pollfd> fds;
        for (const UniqueFd& fd : sockets_) fds.push_back({fd.get(), POLLIN, 0});
        std::array<std::uint8_t, 64> buffer{};
        while (!stop.stop_requested()) {
            if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
            for (std::size_t r = 0; r < fds.size(); ++r)
                while (fds[r].revents & POLLIN) {
                    const ssize_t n = ::recv(fds[r].fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
                    if (n <= 0) break;
                    const std::uint64_t now = tools::monotonic_ns();
                    const auto event = tools::read_event_header({buffer.data(), static_cast<std::size_t>(n)});
                    const std::size_t k = event ? event->sequence / kSequenceRange : kBrokers;
                    std::lock_guard lock(arrivals_.mutex);
                    if (k >= kBrokers) continue;
                    ++arrivals_.delivered[k];
                    if (static_cast<int>(r) == arrivals_.armed && !arrivals_.first[k]) arrivals_.first[k] = now;
                }
        }
    }

    std::string topic_value(const std::string& node, std::uint16_t port, const std::string& mac) const {
        const nlohmann::json member{{"ip", net_.ip(node)}, {"port", port}, {"mac", mac}};
        return nlohmann::json{{"qos", "strict"}, {"subscribers", nlohmann::json::array({member})}}.dump();
    }

    Result<std::int64_t> put_route(int r) {
        return client_->put(cluster::topic_key(kPrefix, 1), topic_value(route_node(r), route_port(r), macs_[r % 2]));
    }

    // --changes moves of topic 1; the samples go to the report as PREFIX_p50_ms, _p99_ms, _max_ms, _all_p99_ms.
    Status measure(Report& out, const std::string& prefix) {
        std::vector<std::uint64_t> each, all, put_ns;
        for (int i = 1; i <= o_.changes && !interrupted(); ++i) {
            const int r = (++route_) % kRoutes;
            {
                std::lock_guard lock(arrivals_.mutex);
                arrivals_.armed = r;
                arrivals_.first = {};
            }
            const std::uint64_t sent = tools::monotonic_ns();
            if (Result<std::int64_t> put = put_route(r); !put) return put.status();
            put_ns.push_back(tools::monotonic_ns() - sent);
            std::array<std::uint64_t, kBrokers> first{};
            const bool seen = testkit::poll_until(
                [&] {
                    std::lock_guard lock(arrivals_.mutex);
                    first = arrivals_.first;
                    return std::ranges::all_of(first, [](std::uint64_t t) { return t != 0; });
                },
                std::chrono::seconds(5));
            for (int k = 0; k < kBrokers && !seen; ++k)
                if (!first[k])
                    return measurement_error("change " + std::to_string(i) + ": edge-" + std::to_string(k + 1) +
                                             " sent nothing on the new route in 5 s:\n" + brokers_[k].log_tail(12));
            for (std::uint64_t t : first) each.push_back(t - sent);
            all.push_back(*std::ranges::max_element(first) - sent);
        }
        curves_[prefix] = nlohmann::json::array();
        for (std::uint64_t t : each) curves_[prefix].push_back(ms(t));
        const tools::LatencySummary e = tools::summarize_latency(each), a = tools::summarize_latency(all),
                                    p = tools::summarize_latency(put_ns);
        out.number(prefix + "_p50_ms", e.p50_us / 1000, 3)
            .number(prefix + "_p99_ms", e.p99_us / 1000, 3)
            .number(prefix + "_max_ms", e.max_us / 1000, 3)
            .number(prefix + "_all_p99_ms", a.p99_us / 1000, 3)
            .number(prefix + "_put_p50_ms", p.p50_us / 1000, 3);
        return Status::ok();
    }

    std::string member(int topic, int m) const {
        return cluster::member_key(kPrefix, static_cast<std::uint8_t>(topic), 0,
                                   net_.ip("sub1") + ":" + std::to_string(30000 + m));
    }

    // Topics 0, 2, 3, ... up to --topics in all, each of one static subscriber and 15 member keys. The members
    // first: they wait for their topic, which each broker then applies once with all of them.
    Result<std::int64_t> fill() {
        Result<std::int64_t> last = 0;
        for (int pass = 0; pass < 2; ++pass)
            for (int t = 0; t < o_.topics && last; ++t)
                for (int m = 1; t != 1 && m < kMembers && last; ++m)
                    last = pass == 0 ? client_->put(member(t, m), nlohmann::json{{"mac", macs_[0]}}.dump())
                           : m > 1   ? last
                                     : client_->put(cluster::topic_key(kPrefix, static_cast<std::uint8_t>(t)),
                                                    topic_value("sub1", 29999, macs_[0]));
        return last;
    }

    void churn_members(const std::stop_token& stop) {
        testkit::NetnsScope in_pub(net_.ns("pub"));
        const auto period = std::chrono::duration<double>(1 / o_.churn_rate);
        auto next = std::chrono::steady_clock::now();
        for (std::uint64_t n = 0; !stop.stop_requested(); ++n) {
            // Member 1 + n % 15 of the n-th other topic, deleted on the first pass, written again on the next.
            const int others = o_.topics - 1, t = static_cast<int>(n % others), topic = t == 0 ? 0 : t + 1;
            const std::string key = member(topic, 1 + static_cast<int>((n / others) % (kMembers - 1)));
            if ((n / (others * (kMembers - 1))) % 2 == 0) (void)client_->erase(key);
            else (void)client_->put(key, nlohmann::json{{"mac", macs_[0]}}.dump());
            std::this_thread::sleep_until(next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period));
        }
    }

    bool applied(int k, std::int64_t revision, std::chrono::milliseconds timeout) {
        return testkit::poll_until(
            [&] {
                const Result<std::string> m = brokers_[k].scrape_metrics();
                return m && testkit::sum_metric(*m, "tempos_cluster_connected") == 1 &&
                       testkit::sum_metric(*m, "tempos_cluster_revision_applied") >= static_cast<double>(revision);
            },
            timeout);
    }

    // Losses counted on the way of topic 1's events so far: the publishers' interface, each broker's /metrics, and
    // the UDP receive errors of the subscribers' namespaces (the route sockets are this process's).
    Result<double> counted_losses() const {
        TEMPOS_ASSIGN_OR_RETURN(const auto drops, net_.drops());
        double sum = 0;
        for (const testkit::NodeInterfaceDrops& i : drops)
            if (i.node == "pub") sum += static_cast<double>(i.drops.tx_dropped);
        for (const char* node : {"sub1", "sub2"}) {
            TEMPOS_ASSIGN_OR_RETURN(const std::uint64_t in_errors, testkit::netns_udp_counter(net_.ns(node), "InErrors"));
            sum += static_cast<double>(in_errors);
        }
        for (const testkit::MomRunner& broker : brokers_) {
            TEMPOS_ASSIGN_OR_RETURN(const std::string metrics, broker.scrape_metrics());
            for (const auto& [name, labels] : kBrokerLosses) sum += testkit::sum_metric(metrics, name, labels);
        }
        return sum;
    }

    // Stops the publishers and reports what they sent against what arrived and the losses counted: every event
    // offered is delivered or counted (cluster_unaccounted 0), route changes and churn included.
    Status account(Report& out, std::vector<testkit::Process>& pubs, double lost_before) {
        double offered = 0;
        for (testkit::Process& pub : pubs) {
            if (Result<int> ended = pub.terminate(std::chrono::seconds(5)); !ended || *ended != 0)
                return measurement_error("tempos-pub " + pub.how_it_ended() + ": " + pub.errors());
            const nlohmann::json summary = nlohmann::json::parse(pub.output(), nullptr, false);
            if (!summary.is_object() || !summary.contains("sent"))
                return measurement_error("tempos-pub printed no summary: " + pub.output());
            offered += summary["sent"].get<double>();
        }
        auto delivered = [&] {
            std::lock_guard lock(arrivals_.mutex);
            return std::accumulate(arrivals_.delivered.begin(), arrivals_.delivered.end(), std::uint64_t{0});
        };
        const auto arrived = static_cast<double>(testkit::poll_until_settled(
            delivered, static_cast<std::uint64_t>(offered), std::chrono::milliseconds(300), std::chrono::seconds(5)));
        TEMPOS_ASSIGN_OR_RETURN(const double lost_after, counted_losses());
        const double counted = lost_after - lost_before;
        out.number("cluster_offered", offered, 0)
            .number("cluster_delivered", arrived, 0)
            .number("cluster_counted_losses", counted, 0)
            .number("cluster_unaccounted", offered - arrived - counted, 0);
        return Status::ok();
    }

    Status resync(Report& out) {
        TEMPOS_ASSIGN_OR_RETURN(const std::int64_t now, client_->put(kPrefix + "/bench", ""));  // the store's revision
        TEMPOS_RETURN_IF_ERROR(brokers_.back().stop());
        const std::uint64_t started = tools::monotonic_ns();
        TEMPOS_ASSIGN_OR_RETURN(brokers_.back(), testkit::MomRunner::start(configs_.back(), {.netns = net_.ns("sub4")}));
        if (!applied(kBrokers - 1, now, std::chrono::seconds(30))) return measurement_error("edge-3 did not resync");
        const std::uint64_t synced = tools::monotonic_ns() - started;
        std::smatch m;
        const std::string log = brokers_.back().log();
        if (!std::regex_search(log, m, std::regex(R"(\((\d+) key\(s\), read in ([0-9.]+) ms, applied in ([0-9.]+) ms\))")))
            return measurement_error("no resync line in edge-3's log: " + brokers_.back().log_tail());
        out.number("cluster_resync_ms", std::stod(m[2]) + std::stod(m[3]), 1)
            .number("cluster_resync_apply_ms", std::stod(m[3]), 1)
            .number("cluster_resync_keys", std::stod(m[1]), 0)
            .number("cluster_start_to_synced_ms", ms(synced), 1);
        return Status::ok();
    }

    testkit::Topology net_;
    std::optional<testkit::EtcdRunner> etcd_;  // before the brokers: they revoke their leases as they stop
    std::vector<std::string> macs_;  // sub1's, sub2's
    std::optional<cluster::EtcdClient> client_;
    std::vector<UniqueFd> sockets_;  // by route
    Arrivals arrivals_;
    int route_ = 0;
    std::vector<testkit::ControllerConfig> configs_;
    std::vector<testkit::MomRunner> brokers_;
    nlohmann::ordered_json curves_ = nlohmann::ordered_json::object();
};

void register_cluster_command(CLI::App& app, int& exit_code) { add_bench<ClusterBench>(app, "cluster", exit_code); }

}  // namespace tempos::bench
