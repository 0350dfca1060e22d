// `tempos-bench peers` (method: peers/README.md): a broker's client side, publishers in `pub` and subscribers in
// `sub1` (and `sub2` for the flood) on one topic (MQTT) or subject (NATS), payloads with the project's event header
// (tools/event_format.hpp), latency summarized as tempos-sub does (tools/latency_summary.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "event_format.hpp"
#include "latency_summary.hpp"
#include "subcommand.hpp"  // Report
#include "process/process.hpp"
#include "topology/topology.hpp"

namespace tempos::bench::peers {

using PayloadHandler = std::function<void(std::span<const std::uint8_t>)>;

// One connection to the broker: a publisher's or a subscriber's.
class PeerConnection {
public:
    virtual ~PeerConnection() = default;
    // Publisher: waits (bounded) while the socket is full.
    virtual Status send(std::span<const std::uint8_t> payload) = 0;
    // Publisher: writes out what is buffered (bounded).
    virtual Status flush() = 0;
    // Publisher: handles what the broker sent (pings, errors) without blocking; an error when the connection is gone.
    virtual Status service() = 0;
    // Subscriber: waits up to timeout_ms for messages; each goes to the handler given at connect, in this thread.
    virtual Status receive(int timeout_ms) = 0;
};

// Runs `step` until `done` holds, for at most `timeout_ms`; then an error: `what` did not happen.
template <typename Done, typename Step>
Status within(std::uint64_t timeout_ms, const std::string& what, Done done, Step step) {
    const std::uint64_t deadline = tools::monotonic_ns() + timeout_ms * 1'000'000ull;
    while (!done()) {
        if (tools::monotonic_ns() >= deadline) return Status::error(ErrorCode::system_error, what);
        if (Status st = step(); !st) return st;
    }
    return Status::ok();
}

// A broker compared with tempos: how to start it in a namespace, and its client side (peers/README.md, "Clients").
struct Broker {
    const char* name;     // also the prefix of its JSON fields
    const char* program;  // executable looked up in PATH and the sbin directories
    const char* package;  // the Debian package that provides it
    int port;
    // The command line of the broker listening on ip:port; may write its configuration into `dir`.
    Result<std::vector<std::string>> (*command_line)(const std::string& program_path, const std::string& ip, int port,
                                                     const std::string& dir);
    // Readies the library once, from the main thread: threads it starts get that thread's namespace and normal
    // scheduling.
    void (*open)();
    // From the calling thread's namespace; returns once the broker has acknowledged the connection, and for a
    // subscriber (`handler` given) its subscription, so nothing published afterwards is missed. A publisher's
    // messages go out `at_once` (each on the wire before send() returns: the paced stream) or as fast as the
    // connection takes them, coalesced as the client library does (the flood).
    Result<std::unique_ptr<PeerConnection>> (*connect)(const std::string& host, int port, const std::string& topic,
                                                       bool at_once, PayloadHandler handler);
};
extern const Broker kMosquitto, kNats;

struct RunSettings {
    double rate = 10'000;         // paced stream, messages per second
    double seconds = 5;           // publishing time of each run
    double warmup_seconds = 0.5;  // the first part of every run is not measured
    std::size_t payload_bytes = 32;
    // SCHED_FIFO of the paced stream's publisher and subscriber threads (0: normal scheduling); they stand for
    // other hosts, as in `latency`. The broker and the flood keep normal scheduling.
    int endpoint_priority = 50;
};

// One topic/subject from its publisher to its subscriber. "Measured" = sent after the warm-up, before the end.
struct StreamStats {
    std::uint64_t sent = 0, sent_measured = 0;
    std::uint64_t received_measured = 0;    // unique messages
    std::uint64_t delivered_in_window = 0;  // received (any) between the end of the warm-up and the end of the run
    tools::LatencySummary latency;          // over the measured messages received
    double offered_per_s = 0, delivered_per_s = 0;
    Status publisher, subscriber;  // how each end of the stream ended

    std::uint64_t lost_measured() const { return sent_measured - std::min(sent_measured, received_measured); }
};

// One topic/subject of a run: its publisher in `pub`, its subscriber in `subscriber_node`.
struct StreamPlan {
    std::string topic;
    std::string subscriber_node;
    bool paced = true;  // false: as fast as possible
    std::uint8_t topic_byte = 1;
};

// The streams at once through `broker` in `mom`, each publisher on its own connection, into out[i]. Ends early on
// SIGINT/SIGTERM (subcommand.hpp); fails when the first (measured) stream's publisher or subscriber failed.
Status run_streams(const Broker& broker, const testkit::Topology& topo, const RunSettings& settings,
                   std::vector<StreamPlan> plans, const std::vector<StreamStats*>& out);

// The executable `program` (testkit::find_program), or an error that says to install Debian's `package`.
inline Result<std::string> find_tool(const std::string& program, const std::string& package) {
    const Result<std::filesystem::path> path = testkit::find_program(program);
    if (path) return path->string();
    return Status::error(ErrorCode::not_found, program + " not found (PATH, /usr/sbin, /usr/local/sbin, /sbin); "
                                               "install it: apt-get install " + package);
}

// Cyclone DDS (ddsperf ping/pong) and sockperf (UDP ping-pong), idle and under a flood, by their own tools
// (tool_peers.cpp): fields <tool>[_flood]_p50_us, _p99_us, _p999_us (sockperf only), _max_us, _samples, and
// <tool>_flood_msgs. `only`: one tool by name, or "" for both (a broker's name: neither).
Status run_tool_peers(const RunSettings& settings, const std::string& only, Report& out);

}  // namespace tempos::bench::peers
