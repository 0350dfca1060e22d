// Peers measured by their own tools: Cyclone DDS through ddsperf (ping/pong) and sockperf's UDP ping-pong, the
// kernel floor. On the one-legged topology, brokerless: the measured pair pub -> sub1, the flood pub -> sub2 at
// the same time (its own DDS domain, so that its processes do not answer the pings); nothing runs in `mom`.
// Both tools measure round trips; the figures are half of them, comparable with one-way latencies.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "bench_mom.hpp"  // at_priority, start_bound
#include "peers.hpp"
#include "topology/layouts.hpp"

namespace tempos::bench::peers {

namespace {

struct Figures {
    double p50 = -1, p99 = -1, p999 = -1, max = -1;  // µs, half round trip; -1: the tool does not give it
    double samples = 0;
    double flood_msgs = -1;  // flood messages per second, where the tool reports it
};

using Argv = std::vector<std::string>;

// One tool: the commands of the measured pair (server in sub1, client in pub) and of the flood (receiver in
// sub2, sender in pub), and how to read the client's and the flood's output.
struct ToolPeer {
    const char* name;     // the prefix of its JSON fields
    const char* program;  // its executable
    const char* package;
    int port;  // of the measured server (the flood's: port + 1); 0: the tool matches its peers itself
    const char *server, *client, *flood_receiver, *flood_sender;  // commands, see expand()
    Status (*parse)(const std::string& client_output, Figures& f);
    bool flood_rate_received;  // the flood's rate is in its receiver's output, else in its sender's
    const char* flood_rate;    // its pattern: the rate, then k or M (or nothing); the median of every match
};

// `command` split at spaces, with {ip} the server's address, {s} the seconds of a run, {rate} the paced rate and
// {size} the payload bytes (sockperf's messages carry its 14-byte header: at least that).
Argv expand(const char* command, const std::string& ip, const RunSettings& s) {
    const std::pair<std::string, std::string> values[] = {
        {"{ip}", ip},
        {"{s}", std::to_string(static_cast<int>(s.seconds + 0.999))},
        {"{rate}", std::to_string(static_cast<int>(s.rate))},
        {"{size}", std::to_string(std::max<std::size_t>(s.payload_bytes, 14))}};
    Argv argv;
    std::istringstream words(command);
    for (std::string arg; words >> arg; argv.push_back(arg))
        for (const auto& [key, value] : values)
            if (const std::size_t at = arg.find(key); at != std::string::npos) arg.replace(at, key.size(), value);
    return argv;
}

// ddsperf (0.10) prints a line per second and peer: "... size N mean Xus min Xus 50% Xus 90% Xus 99% Xus max Xus
// cnt N" (round trips). Figures: medians over those seconds but the first (warm-up); max the largest; no p99.9.
Status parse_ddsperf(const std::string& out, Figures& f) {
    static const std::regex line(
        R"(mean ([\d.]+)us min ([\d.]+)us 50% ([\d.]+)us 90% ([\d.]+)us 99% ([\d.]+)us max ([\d.]+)us cnt (\d+))");
    std::vector<double> p50, p99;
    for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator(); ++it) {
        p50.push_back(std::stod((*it)[3]) / 2);
        p99.push_back(std::stod((*it)[5]) / 2);
        f.max = std::max(f.max, std::stod((*it)[6]) / 2);
        f.samples += std::stod((*it)[7]);
    }
    if (p50.size() > 1) p50.erase(p50.begin()), p99.erase(p99.begin());
    if (p50.empty()) return measurement_error("ddsperf ping printed no round-trip statistics");
    f.p50 = median(p50);
    f.p99 = median(p99);
    return Status::ok();
}

// The flood's messages per second in `output`: the median of the `pattern` matches.
void parse_flood_rate(const std::string& output, const char* pattern, Figures& f) {
    const std::regex rate(pattern);
    std::vector<double> rates;
    for (auto it = std::sregex_iterator(output.begin(), output.end(), rate); it != std::sregex_iterator(); ++it)
        rates.push_back(std::stod((*it)[1]) * ((*it)[2] == "k" ? 1e3 : (*it)[2] == "M" ? 1e6 : 1));
    if (!rates.empty()) f.flood_msgs = median(rates);
}

// sockperf (3.7) prints half round trips: "---> percentile 99.900 =   12.345", "<MAX> observation = X", "Total N
// observations".
Status parse_sockperf(const std::string& out, Figures& f) {
    static const std::regex pct(R"(percentile ([\d.]+) = +([\d.]+))"), max(R"(<MAX> observation = +([\d.]+))"),
        total(R"(Total (\d+) observations)");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), pct); it != std::sregex_iterator(); ++it)
        for (const auto& [q, field] :
             {std::pair{"50.000", &Figures::p50}, {"99.000", &Figures::p99}, {"99.900", &Figures::p999}})
            if ((*it)[1] == q) f.*field = std::stod((*it)[2]);
    std::smatch m;
    if (std::regex_search(out, m, max)) f.max = std::stod(m[1]);
    if (std::regex_search(out, m, total)) f.samples = std::stod(m[1]);
    if (f.p50 < 0 || f.p99 < 0) return measurement_error("sockperf printed no percentiles");
    return Status::ok();
}

const ToolPeer kTools[] = {
    // ddsperf ping starts once the pong has matched (at most 5 s).
    {"dds", "ddsperf", "cyclonedds-tools", 0, "ddsperf pong",
     "ddsperf -Qminmatch:1 -Qinitwait:5 -D {s} ping {rate}Hz size {size}", "ddsperf -i 1 -u sub",
     "ddsperf -i 1 -u -D {s} pub inf size {size}", parse_ddsperf, true, R"(rate ([\d.]+) ([kM]?)S/s)"},  // per second
    {"sockperf", "sockperf", "sockperf", 11111, "sockperf server -i {ip} -p 11111",
     "sockperf ping-pong -i {ip} -p 11111 -t {s} -m {size} --mps={rate}", "sockperf server -i {ip} -p 11112",
     "sockperf throughput -i {ip} -p 11112 -t {s} -m {size} --mps=max", parse_sockperf, false,
     R"(Message Rate is (\d+)())"},  // its summary: "Message Rate is N [msg/sec]"
};

// The measured pair, and with `flood` the flood beside it, until the client ends (bounded).
Status run_tool(const ToolPeer& t, const testkit::Topology& topo, const RunSettings& s, bool flood, Figures& f) {
    // Cyclone DDS on eth0 only (discovery by multicast over the bridge), not on lo.
    auto in = [&](const char* node) {
        return testkit::ProcessOptions{.netns = topo.ns(node),
                                       .env = {"CYCLONEDDS_URI=<General><Interfaces><NetworkInterface name=\"eth0\"/>"
                                               "</Interfaces></General>"}};
    };
    // The measured pair at the paced endpoints' priority, as in the other peers' runs.
    auto paced = [&](const Argv& argv) { return at_priority(argv, s.endpoint_priority); };
    std::vector<testkit::Process> helpers;  // killed when they go
    // The servers are up once their ports are bound (sockperf's; DDS matches its peers itself).
    auto start_helper = [&](const Argv& argv, const char* node, int port) -> Status {
        Result<testkit::Process> p = start_bound(argv, in(node), static_cast<std::uint16_t>(port));
        if (p) helpers.push_back(std::move(*p));
        return p.status().prefixed(t.program);
    };
    TEMPOS_RETURN_IF_ERROR(start_helper(paced(expand(t.server, topo.ip("sub1"), s)), "sub1", t.port));
    if (flood)
        for (const auto& [argv, node, port] : {std::tuple{expand(t.flood_receiver, topo.ip("sub2"), s), "sub2",
                                                          t.port ? t.port + 1 : 0},
                                               std::tuple{expand(t.flood_sender, topo.ip("sub2"), s), "pub", 0}})
            TEMPOS_RETURN_IF_ERROR(start_helper(argv, node, port));
    TEMPOS_ASSIGN_OR_RETURN(auto c, testkit::Process::start(paced(expand(t.client, topo.ip("sub1"), s)), in("pub")));
    const Result<int> ended = c.wait(milliseconds(s.seconds + 20));
    if (!ended || *ended != 0)
        return measurement_error(std::string(t.program) + " client " + c.how_it_ended() + ": " + c.output_tail());
    if (Status st = t.parse(c.output(), f); !st) return st.prefixed(c.output_tail());
    if (flood) {
        (void)helpers[2].wait(std::chrono::seconds(3));  // the sender ends by itself after its -t/-D
        (void)helpers[1].signal(SIGINT);
        (void)helpers[1].wait(std::chrono::seconds(2));
        parse_flood_rate(helpers[t.flood_rate_received ? 1 : 2].output(), t.flood_rate, f);
    }
    return Status::ok();
}

}  // namespace

Status run_tool_peers(const RunSettings& s, const std::string& only, Report& out) {
    for (const ToolPeer& t : kTools) {
        if (!only.empty() && only != t.name) continue;
        if (Result<std::string> found = find_tool(t.program, t.package); !found) return found.status();
        TEMPOS_ASSIGN_OR_RETURN(auto topo, testkit::one_legged(2));
        for (const bool flood : {false, true}) {
            Figures f;
            if (Status st = run_tool(t, topo, s, flood, f); !st) return st.prefixed(t.name);
            const std::string p = std::string(t.name) + (flood ? "_flood" : "");
            for (const auto& [field, v] : {std::pair{"_p50_us", f.p50}, {"_p99_us", f.p99}, {"_p999_us", f.p999},
                                           {"_max_us", f.max}, {"_samples", f.samples}})
                if (v >= 0) out.number(p + field, v, field[1] == 's' ? 0 : 2);
            if (flood && f.flood_msgs >= 0) out.number(p + "_msgs", f.flood_msgs, 0);
        }
    }
    return Status::ok();
}

}  // namespace tempos::bench::peers
