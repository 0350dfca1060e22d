#include "peers.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "topology/netns.hpp"

namespace tempos::bench::peers {

namespace {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kStartDelayNs = 50 * kMs;   // every thread is waiting when the run starts
constexpr std::uint64_t kMaxDrainNs = 3000 * kMs;   // subscribers keep reading this long at most after the end
constexpr std::uint64_t kQuietNs = 300 * kMs;       // ... or until nothing came for this long
constexpr std::uint64_t kMaxSequence = 1ull << 30;  // beyond any run's count: treated as malformed

// One stream's ends. What its subscriber saw is touched only by the subscriber thread until that thread is joined;
// malformed payloads and duplicates count for nothing.
struct Stream {
    StreamPlan plan;
    std::unique_ptr<PeerConnection> subscriber, publisher;
    std::atomic<std::uint64_t> publisher_sent{0};
    std::atomic<std::uint64_t> publisher_done_ns{0};  // 0 while it publishes
    StreamStats stats;
    std::uint64_t from = 0, to = 0;  // the measured window
    std::vector<std::uint8_t> seen;  // by sequence number
    std::vector<std::uint64_t> latency_ns;
    std::uint64_t unique = 0, last_receive_ns = 0;

    void on_payload(std::span<const std::uint8_t> payload) {
        const std::uint64_t now = tools::monotonic_ns();
        last_receive_ns = now;
        const auto h = tools::read_event_header(payload);
        if (!h || h->sequence >= kMaxSequence) return;
        if (now >= from && now < to) ++stats.delivered_in_window;
        if (h->sequence >= seen.size()) seen.resize(std::max<std::size_t>(h->sequence + 1, seen.size() * 2), 0);
        if (std::exchange(seen[h->sequence], 1)) return;
        ++unique;
        if (h->sent_ns >= from && h->sent_ns < to) {
            ++stats.received_measured;
            if (now >= h->sent_ns) latency_ns.push_back(now - h->sent_ns);
        }
    }
};

struct Timeline {
    std::uint64_t start = 0, measure_from = 0, end = 0;
};

// The paced stream's endpoints run at the configured real-time priority (the calling thread, one of their own);
// refusing it is an error, since the figures would then not be comparable with tempos's.
Status set_endpoint_priority(const StreamPlan& plan, const RunSettings& settings) {
    if (!plan.paced || settings.endpoint_priority <= 0) return Status::ok();
    const sched_param param{.sched_priority = settings.endpoint_priority};
    if (int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); err != 0)
        return Status::error(ErrorCode::permission_denied, "SCHED_FIFO " + std::to_string(settings.endpoint_priority) +
                                                               ": " + std::strerror(err) +
                                                               " (--endpoint-priority 0 for normal scheduling)");
    return Status::ok();
}

// Paced: one message per period, each on the wire at once. Flood: as fast as the connection takes them.
Status publish(Stream& s, const RunSettings& settings, const Timeline& t) {
    std::vector<std::uint8_t> payload(settings.payload_bytes, 0);
    const auto period_ns = s.plan.paced ? static_cast<std::uint64_t>(1e9 / settings.rate) : 0;
    const std::uint64_t service_every = s.plan.paced ? 256 : 1024;  // messages between looks at the connection
    tools::sleep_until_ns(t.start);
    Status st;
    for (std::uint64_t i = 0; st; ++i) {
        std::uint64_t due = 0;
        if (s.plan.paced) {
            due = t.start + i * period_ns;
            if (due >= t.end || interrupted()) break;
            if (tools::monotonic_ns() < due) tools::sleep_until_ns(due);
        }
        const std::uint64_t now = tools::monotonic_ns();
        if (now >= t.end) break;
        // Paced messages carry the time they were due, as tempos-pub's do (no coordinated omission).
        tools::write_event_header(payload, {s.plan.topic_byte, i, s.plan.paced ? due : now});
        if (!(st = s.publisher->send(payload))) break;
        ++s.stats.sent;
        if (now >= t.measure_from) ++s.stats.sent_measured;
        if (i % service_every == service_every - 1) {
            if (interrupted()) break;
            st = s.publisher->service();
        }
    }
    return st ? s.publisher->flush() : st;
}

// One end of a stream in its own thread, at its priority.
template <typename Body>
void run_endpoint(const std::string& thread_name, const Stream& s, const RunSettings& settings, Status& ended,
                  Body body) {
    pthread_setname_np(pthread_self(), thread_name.c_str());
    const Status priority = set_endpoint_priority(s.plan, settings);
    ended = priority ? body() : priority;
}

void run_publisher(Stream& s, const RunSettings& settings, const Timeline& t) {
    run_endpoint(s.plan.paced ? "peers-paced" : "peers-flood", s, settings, s.stats.publisher,
                 [&] { return publish(s, settings, t); });
    s.publisher_sent.store(s.stats.sent);
    s.publisher_done_ns.store(tools::monotonic_ns());
}

void run_subscriber(Stream& s, const RunSettings& settings, const Timeline& t) {
    run_endpoint("peers-" + s.plan.subscriber_node, s, settings, s.stats.subscriber, [&]() -> Status {
        for (;;) {
            TEMPOS_RETURN_IF_ERROR(s.subscriber->receive(20));
            const std::uint64_t now = tools::monotonic_ns();
            if (now >= t.end + kMaxDrainNs || interrupted()) return Status::ok();
            const std::uint64_t done_ns = s.publisher_done_ns.load();
            if (done_ns == 0) continue;
            if (s.unique >= s.publisher_sent.load()) return Status::ok();  // everything arrived
            const std::uint64_t last = std::max(s.last_receive_ns, done_ns);
            if (now >= last + kQuietNs) return Status::ok();  // the rest is lost
        }
    });
}

}  // namespace

Status run_streams(const Broker& broker, const testkit::Topology& topo, const RunSettings& settings,
                   std::vector<StreamPlan> plans, const std::vector<StreamStats*>& out) {
    std::vector<std::unique_ptr<Stream>> streams;
    for (StreamPlan& plan : plans) {
        auto s = std::make_unique<Stream>();
        s->plan = std::move(plan);
        const auto messages = static_cast<std::size_t>(settings.rate * settings.seconds) + 16;
        if (s->plan.paced) {
            s->latency_ns.reserve(messages);
            s->seen.reserve(messages);
        }
        streams.push_back(std::move(s));
    }
    // Subscribers first, each acknowledged by the broker, then publishers: nothing sent can miss a subscriber.
    // Each connects in its namespace, in a thread of its own at the stream's priority, which the threads a client
    // library starts meanwhile inherit (libnats reads and writes in threads of its own).
    for (const bool subscriber : {true, false})
        for (auto& s : streams) {
            Stream* raw = s.get();
            const std::string node = subscriber ? s->plan.subscriber_node : "pub";
            const PayloadHandler handler =
                subscriber ? [raw](std::span<const std::uint8_t> p) { raw->on_payload(p); }
                           : PayloadHandler{};
            Status connected;
            std::thread([&] {
                connected = testkit::run_in_netns(topo.ns(node), [&] {
                    TEMPOS_RETURN_IF_ERROR(set_endpoint_priority(s->plan, settings));
                    auto c = broker.connect(topo.ip("mom"), broker.port, s->plan.topic, subscriber || s->plan.paced,
                                            handler);
                    if (c) (subscriber ? s->subscriber : s->publisher) = std::move(*c);
                    return c.status();
                });
            }).join();
            if (!connected)
                return connected.prefixed(std::string(broker.name) +
                                          (subscriber ? " subscriber in " : " publisher in ") + node);
        }

    Timeline t;
    t.start = tools::monotonic_ns() + kStartDelayNs;
    t.measure_from = t.start + static_cast<std::uint64_t>(settings.warmup_seconds * 1e9);
    t.end = t.start + static_cast<std::uint64_t>(settings.seconds * 1e9);
    for (auto& s : streams) std::tie(s->from, s->to) = std::pair{t.measure_from, t.end};

    std::vector<std::thread> threads;
    for (auto& s : streams) {
        threads.emplace_back(run_subscriber, std::ref(*s), std::cref(settings), std::cref(t));
        threads.emplace_back(run_publisher, std::ref(*s), std::cref(settings), std::cref(t));
    }
    for (std::thread& th : threads) th.join();

    const double measured_s = settings.seconds - settings.warmup_seconds;
    for (std::size_t i = 0; i < streams.size(); ++i) {
        Stream& s = *streams[i];
        s.stats.latency = tools::summarize_latency(s.latency_ns);
        s.stats.offered_per_s = static_cast<double>(s.stats.sent_measured) / measured_s;
        s.stats.delivered_per_s = static_cast<double>(s.stats.delivered_in_window) / measured_s;
        *out[i] = std::move(s.stats);
    }
    if (interrupted()) return Status::error(ErrorCode::internal, "interrupted");
    // A failure of the measured stream voids the run; the flood's own subscriber may be cut off by the broker (a
    // slow consumer): that is a result, reported.
    const StreamStats& measured = *out.front();
    const std::string run = std::string(broker.name) + " " + streams.front()->plan.topic;
    if (!measured.publisher) return measured.publisher.prefixed(run + " publisher");
    if (!measured.subscriber) return measured.subscriber.prefixed(run + " subscriber");
    return Status::ok();
}

}  // namespace tempos::bench::peers
