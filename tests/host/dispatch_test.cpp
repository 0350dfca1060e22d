// The MoM in-process with the recording adapter: UDP on loopback in, adapter send() calls out.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include "mom.hpp"
#include "plugins/recording_test_support.hpp"
#include "privileged.hpp"

namespace tempos::mom {
namespace {

using namespace tempos::test;  // the recording adapter's records, send_udp, to_hex, wait_until

Endpoint endpoint(std::uint8_t last, std::uint16_t port) { return Endpoint{{10, 0, 0, last}, port, std::nullopt}; }

TopicConfig topic(std::uint8_t id, Qos qos, std::vector<std::vector<Endpoint>> groups) {
    TopicConfig t{id, qos, {}};
    for (auto& members : groups) t.groups.push_back(SubscriptionGroup{std::move(members)});
    return t;
}

class DispatchTest : public ::testing::Test {
protected:
    tempos::test::TempDir dir;
    std::filesystem::path record_file = dir.path() / "record.log";
    LogContext log{spdlog::level::warn};

    MomConfig config(std::vector<TopicConfig> topics, std::map<std::string, std::string> extra_options = {}) {
        MomConfig c;
        c.source = dir.path() / "unused.toml";
        c.listen = {{127, 0, 0, 1}, 0};
        c.sq_priority = 10;
        AdapterConfig recording{"recording", tempos::test::plugin_path("librecording_adapter.so").string(), true,
                                {{"record_file", record_file.string()}}};
        recording.options.insert(extra_options.begin(), extra_options.end());
        c.adapters.push_back(recording);
        for (auto& t : topics) c.topics[t.id] = t;
        return c;
    }

    std::unique_ptr<Mom> start(const MomConfig& c) {
        auto mom = std::make_unique<Mom>(MomOptions{tempos::test::build_dir() / "lib"}, log);
        const Status started = mom->start(c);
        EXPECT_TRUE(started.is_ok()) << started.message();
        return started ? std::move(mom) : nullptr;
    }

    std::size_t sends(const std::string& topic = "") const { return count_records(record_file, "send", topic); }
};

TEST_F(DispatchTest, ConnectsWithTheBoundIngressAddressAndConfiguresEveryTopic) {
    auto mom = start(config({topic(1, Qos::strict, {{endpoint(1, 9000)}}),
                             topic(2, Qos::best_effort, {{endpoint(2, 9000)}})}));
    ASSERT_TRUE(mom);
    const auto records = read_records(record_file);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[0].verb, "connect");
    EXPECT_EQ(records[0]["mom"], "127.0.0.1:" + std::to_string(mom->ingress_address().port));
    EXPECT_NE(mom->ingress_address().port, 0);
    EXPECT_EQ(count_records(record_file, "configure_qos", "1"), 1u);
    EXPECT_EQ(count_records(record_file, "configure_qos", "2"), 1u);
}

TEST_F(DispatchTest, StrictEventsGoThroughTheSqThreadBestEffortThroughBq) {
    auto mom = start(config({topic(1, Qos::strict, {{endpoint(1, 9000)}}),
                             topic(2, Qos::best_effort, {{endpoint(2, 9000)}})}));
    ASSERT_TRUE(mom);
    const std::uint16_t port = mom->ingress_address().port;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(send_udp(port, {1, static_cast<std::uint8_t>(i)}));
        ASSERT_TRUE(send_udp(port, {2, static_cast<std::uint8_t>(i)}));
    }
    ASSERT_TRUE(wait_until([&] { return sends() == 6; })) << sends() << " sends recorded";
    for (const Record& r : records_with(read_records(record_file), "send")) {
        if (r["topic"] == "1") {
            EXPECT_EQ(r["thread"], "tempos-sq");
        } else {
            EXPECT_EQ(r["thread"], "tempos-bq");
            EXPECT_EQ(r["policy"], "SCHED_OTHER");
        }
    }
    EXPECT_EQ(mom->counters().at(1, Path::sq).received, 3u);
    EXPECT_EQ(mom->counters().at(2, Path::bq).received, 3u);
    EXPECT_EQ(mom->counters().at(1, Path::bq).received, 0u);
    EXPECT_TRUE(wait_until([&] { return mom->counters().at(1, Path::sq).sent == 3; }));
}

TEST_F(DispatchTest, StrictDispatcherRunsUnderSchedFifo) {
    TEMPOS_REQUIRE_PRIVILEGED();  // SCHED_FIFO needs CAP_SYS_NICE (root here)
    auto mom = start(config({topic(1, Qos::strict, {{endpoint(1, 9000)}})}));
    ASSERT_TRUE(mom);
    ASSERT_TRUE(send_udp(mom->ingress_address().port, {1, 42}));
    ASSERT_TRUE(wait_until([&] { return sends() == 1; }));
    EXPECT_EQ(records_with(read_records(record_file), "send").at(0)["policy"], "SCHED_FIFO");
}

// Capabilities are per thread and inherited by threads created later: dropping CAP_SYS_NICE here (with
// RLIMIT_RTPRIO at 0) makes the kernel refuse SCHED_FIFO to the dispatchers the MoM starts.
class RealtimeRefused {
public:
    RealtimeRefused() {
        getrlimit(RLIMIT_RTPRIO, &saved_limit_);
        const rlimit none{0, saved_limit_.rlim_max};
        setrlimit(RLIMIT_RTPRIO, &none);
        cap_t caps = cap_get_proc();
        const cap_value_t nice = CAP_SYS_NICE;
        cap_set_flag(caps, CAP_EFFECTIVE, 1, &nice, CAP_CLEAR);
        active_ = cap_set_proc(caps) == 0;
        cap_free(caps);
    }
    ~RealtimeRefused() {
        cap_t caps = cap_get_proc();
        const cap_value_t nice = CAP_SYS_NICE;
        cap_set_flag(caps, CAP_EFFECTIVE, 1, &nice, CAP_SET);
        cap_set_proc(caps);
        cap_free(caps);
        setrlimit(RLIMIT_RTPRIO, &saved_limit_);
    }
    bool active() const { return active_; }

private:
    rlimit saved_limit_{};
    bool active_ = false;
};

TEST_F(DispatchTest, RefusedRealtimeIsWarnedOnceAndDeliveryGoesOn) {
    TEMPOS_REQUIRE_PRIVILEGED();
    std::ostringstream captured;
    LogContext capturing({std::make_shared<spdlog::sinks::ostream_sink_mt>(captured)}, spdlog::level::warn);
    RealtimeRefused refused;
    ASSERT_TRUE(refused.active());
    Mom mom(MomOptions{tempos::test::build_dir() / "lib"}, capturing);
    ASSERT_TRUE(mom.start(config({topic(1, Qos::strict, {{endpoint(1, 9000)}})})).is_ok());
    for (std::uint8_t i = 0; i < 3; ++i) ASSERT_TRUE(send_udp(mom.ingress_address().port, {1, i}));
    ASSERT_TRUE(wait_until([&] { return sends() == 3; }));
    mom.stop();
    for (const auto& r : records_with(read_records(record_file), "send")) {
        EXPECT_EQ(r["thread"], "tempos-sq");
        EXPECT_EQ(r["policy"], "SCHED_OTHER");
    }
    const std::string log = captured.str();
    std::size_t warnings = 0;
    for (auto at = log.find("SCHED_FIFO"); at != std::string::npos; at = log.find("SCHED_FIFO", at + 1)) ++warnings;
    // Once by each strict thread: the dispatcher and the strict receiver (tempos-rx-sq).
    EXPECT_EQ(warnings, 2u) << log;
    EXPECT_NE(log.find("[dispatch.sq] [warning] cannot run the sq dispatcher under SCHED_FIFO"), std::string::npos)
        << log;
    EXPECT_NE(log.find("[ingress] [warning] cannot run the sq receiver under SCHED_FIFO"), std::string::npos) << log;
}

TEST_F(DispatchTest, RoundRobinWithinAGroupAndOneCopyPerGroup) {
    auto mom = start(config({topic(3, Qos::best_effort,
                                   {{endpoint(1, 9001), endpoint(2, 9002), endpoint(3, 9003)}, {endpoint(9, 9009)}})}));
    ASSERT_TRUE(mom);
    std::vector<std::vector<std::uint8_t>> events;
    for (std::uint8_t i = 0; i < 6; ++i) events.push_back({3, i, 0x5A});
    for (const auto& e : events) ASSERT_TRUE(send_udp(mom->ingress_address().port, e));
    ASSERT_TRUE(wait_until([&] { return sends() == 12; })) << sends();

    const auto sent = records_with(read_records(record_file), "send");
    const std::vector<std::string> rotation{"10.0.0.1:9001", "10.0.0.2:9002", "10.0.0.3:9003"};
    std::size_t group0 = 0;
    for (std::size_t e = 0; e < events.size(); ++e) {
        // Each event: exactly one copy to each group, with the payload untouched.
        std::vector<Record> copies;
        for (const auto& r : sent)
            if (r["payload"] == to_hex(events[e])) copies.push_back(r);
        ASSERT_EQ(copies.size(), 2u) << "event " << e;
        for (const auto& c : copies) {
            if (c["group"] == "0")
                EXPECT_EQ(c["member"], rotation[group0++ % rotation.size()]) << "event " << e;
            else
                EXPECT_EQ(c["member"], "10.0.0.9:9009");
        }
    }
    EXPECT_EQ(group0, events.size());
}

TEST_F(DispatchTest, UnknownTopicsAndEmptyDatagramsAreCountedAndDropped) {
    auto mom = start(config({topic(1, Qos::strict, {{endpoint(1, 9000)}})}));
    ASSERT_TRUE(mom);
    const std::uint16_t port = mom->ingress_address().port;
    ASSERT_TRUE(send_udp(port, {99, 1, 2}));
    ASSERT_TRUE(send_udp(port, {}));
    ASSERT_TRUE(send_udp(port, {1, 0xEE}));  // a marker: the receiver handles datagrams in order
    ASSERT_TRUE(wait_until([&] { return sends() == 1; }));
    EXPECT_EQ(mom->counters().unknown_topic, 1u);
    EXPECT_EQ(mom->counters().empty_datagrams, 1u);
    EXPECT_EQ(sends("99"), 0u);
    EXPECT_EQ(mom->counters().at(99, Path::sq).received + mom->counters().at(99, Path::bq).received, 0u);
}

TEST_F(DispatchTest, ReloadAppliesOnlyTheDifference) {
    const auto t1 = topic(1, Qos::strict, {{endpoint(1, 9000)}});
    const auto t2 = topic(2, Qos::strict, {{endpoint(2, 9000)}});
    const auto t3 = topic(3, Qos::best_effort, {{endpoint(3, 9000)}});
    auto mom = start(config({t1, t2, t3}));
    ASSERT_TRUE(mom);
    const std::size_t before = read_records(record_file).size();

    const auto t2_changed = topic(2, Qos::best_effort, {{endpoint(2, 9000), endpoint(22, 9000)}});
    const auto t4 = topic(4, Qos::strict, {{endpoint(4, 9000)}});
    const Status applied = mom->apply(config({t1, t2_changed, t4}));
    ASSERT_TRUE(applied.is_ok()) << applied.message();

    const auto all = read_records(record_file);
    const std::vector<Record> reload(all.begin() + before, all.end());
    std::vector<std::string> calls;
    for (const auto& r : reload) calls.push_back(r.verb + " " + r["topic"]);
    EXPECT_EQ(calls, (std::vector<std::string>{"configure_qos 4", "configure_qos 2", "remove_topic 3"}));
    EXPECT_EQ(mom->counters().reloads_ok, 1u);

    // The new routing is in force: 2 now best-effort, 3 unknown, 4 strict.
    const std::uint16_t port = mom->ingress_address().port;
    ASSERT_TRUE(send_udp(port, {3, 0}));
    ASSERT_TRUE(send_udp(port, {2, 0}));
    ASSERT_TRUE(send_udp(port, {4, 0}));
    ASSERT_TRUE(wait_until([&] { return sends() == 2; }));
    EXPECT_EQ(mom->counters().unknown_topic, 1u);
    EXPECT_EQ(mom->counters().at(2, Path::bq).received, 1u);
    EXPECT_EQ(mom->counters().at(4, Path::sq).received, 1u);

    // Applying the same config again changes nothing.
    const std::size_t after = read_records(record_file).size();
    ASSERT_TRUE(mom->apply(config({t1, t2_changed, t4})).is_ok());
    EXPECT_EQ(read_records(record_file).size(), after);
}

TEST_F(DispatchTest, AReloadTheAdapterRefusesIsRolledBack) {
    const auto t1 = topic(1, Qos::strict, {{endpoint(1, 9000)}});
    auto mom = start(config({t1}));
    ASSERT_TRUE(mom);
    const std::size_t before = read_records(record_file).size();
    // Topic 5 is fine; topic 6 has no group, which the recording adapter refuses.
    const Status error =
        mom->apply(config({t1, topic(5, Qos::strict, {{endpoint(5, 9000)}}), TopicConfig{6, Qos::strict, {}}}));
    ASSERT_FALSE(error.is_ok());
    EXPECT_NE(error.message().find("topic 6"), std::string::npos) << error.message();
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_EQ(mom->counters().reloads_failed, 1u);

    const auto all = read_records(record_file);
    std::vector<std::string> calls;
    for (auto it = all.begin() + before; it != all.end(); ++it) calls.push_back(it->verb + " " + (*it)["topic"]);
    EXPECT_EQ(calls, (std::vector<std::string>{"configure_qos 5", "remove_topic 6", "remove_topic 5"}));
    EXPECT_EQ(mom->running_config().topics.size(), 1u);

    ASSERT_TRUE(send_udp(mom->ingress_address().port, {5, 0}));
    ASSERT_TRUE(send_udp(mom->ingress_address().port, {1, 0}));
    // Topic 5 (unknown) and topic 1 (strict) are read by different receiver threads: wait for both.
    ASSERT_TRUE(wait_until([&] { return sends() == 1 && mom->counters().unknown_topic == 1; }))
        << sends() << " sends, " << mom->counters().unknown_topic << " unknown";
    EXPECT_EQ(sends(), 1u);
}

// Mom::update (the cluster's path): every changed topic in one call to the adapters, each on its own. A topic the
// adapter refuses keeps its running value (a new one stays absent) and is reported; the others take effect. A
// reload of the same change is all or nothing (above).
TEST_F(DispatchTest, AnUpdateRefusesEachTopicOnItsOwn) {
    const auto t1 = topic(1, Qos::strict, {{endpoint(1, 9000)}});
    const auto t2 = topic(2, Qos::strict, {{endpoint(2, 9000)}});
    auto mom = start(config({t1, t2}));
    ASSERT_TRUE(mom);
    const std::size_t before = read_records(record_file).size();
    const auto t1_changed = topic(1, Qos::best_effort, {{endpoint(1, 9000), endpoint(11, 9000)}});
    const auto t5 = topic(5, Qos::strict, {{endpoint(5, 9000)}});
    // Topic 6 is new and has no group, topic 2 loses its groups: the recording adapter refuses both.
    mom::TopicRefusals seen;
    const Status status = mom->update(
        [&](MomConfig& wanted) {
            wanted.topics[1] = t1_changed;
            wanted.topics[2] = TopicConfig{2, Qos::strict, {}};
            wanted.topics[5] = t5;
            wanted.topics[6] = TopicConfig{6, Qos::strict, {}};
            wanted.topic_locations[6] = "key 6: ";
            return Status::ok();
        },
        [&](const mom::TopicRefusals& refused) { seen = refused; });
    ASSERT_FALSE(status.is_ok());
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_NE(seen.at(2).message().find("topic 2"), std::string::npos) << seen.at(2).message();
    EXPECT_EQ(seen.at(6).message().rfind("key 6: ", 0), 0u) << seen.at(6).message();
    EXPECT_EQ(status.message(), seen.begin()->second.message());

    const MomConfig running = mom->running_config();
    EXPECT_EQ(running.topics.at(1), t1_changed);
    EXPECT_EQ(running.topics.at(2), t2);
    EXPECT_EQ(running.topics.at(5), t5);
    EXPECT_FALSE(running.topics.contains(6));
    EXPECT_FALSE(running.topic_locations.contains(6));
    EXPECT_EQ(mom->counters().reloads_ok, 1u);
    EXPECT_EQ(mom->counters().reloads_failed, 2u);
    // One batch (5, 6 added; 1, 2 changed), then each refused topic put back: 6 removed, 2's running value again.
    const auto all = read_records(record_file);
    std::vector<std::string> calls;
    for (auto it = all.begin() + before; it != all.end(); ++it) calls.push_back(it->verb + " " + (*it)["topic"]);
    EXPECT_EQ(calls, (std::vector<std::string>{"configure_qos 5", "configure_qos 1", "remove_topic 6", "configure_qos 2"}));

    // In force: 1 best-effort, 2 strict as before, 5 strict, 6 unknown.
    const std::uint16_t port = mom->ingress_address().port;
    for (std::uint8_t t : {1, 2, 5, 6}) ASSERT_TRUE(send_udp(port, {t, 0}));
    ASSERT_TRUE(wait_until([&] { return sends() == 3 && mom->counters().unknown_topic == 1; }))
        << sends() << " sends, " << mom->counters().unknown_topic << " unknown";
    EXPECT_EQ(mom->counters().at(1, Path::bq).received, 1u);
    EXPECT_EQ(mom->counters().at(2, Path::sq).received, 1u);
}

TEST_F(DispatchTest, ReloadOfAnInvalidFileKeepsTheRunningConfig) {
    auto c = config({topic(1, Qos::strict, {{endpoint(1, 9000)}})});
    c.source = dir.path() / "broken.toml";
    std::ofstream(c.source) << "[mom]\nlisten = \"127.0.0.1:9998\"\nno_such_key = 1\n";
    auto mom = start(c);
    ASSERT_TRUE(mom);
    const std::size_t before = read_records(record_file).size();
    const Status error = mom->reload();
    ASSERT_FALSE(error.is_ok());
    EXPECT_NE(error.message().find("broken.toml:3"), std::string::npos) << error.message();
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_EQ(read_records(record_file).size(), before);
    EXPECT_EQ(mom->running_config().topics.size(), 1u);
    EXPECT_EQ(mom->counters().reloads_failed, 1u);
}

TEST_F(DispatchTest, StopClosesEveryAdapterOnce) {
    auto mom = start(config({topic(1, Qos::strict, {{endpoint(1, 9000)}})}));
    ASSERT_TRUE(mom);
    mom->stop();
    EXPECT_EQ(read_records(record_file).back().verb, "close");
    mom->stop();
    mom.reset();
    EXPECT_EQ(count_records(record_file, "close"), 1u);
}

TEST_F(DispatchTest, AnAdapterThatRefusesToConnectFailsTheStart) {
    Mom mom(MomOptions{tempos::test::build_dir() / "lib"}, log);
    const Status error = mom.start(config({topic(1, Qos::strict, {{endpoint(1, 9000)}})}, {{"fail_on", "connect"}}));
    ASSERT_FALSE(error.is_ok());
    EXPECT_NE(error.message().find("'recording'"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("fail_on = connect"), std::string::npos) << error.message();
    EXPECT_EQ(error.code(), ErrorCode::unsupported) << "the host keeps the code the adapter returned";
}

TEST_F(DispatchTest, AnAdapterThatRefusesATopicFailsTheStartAndIsClosed) {
    Mom mom(MomOptions{tempos::test::build_dir() / "lib"}, log);
    const Status error =
        mom.start(config({topic(1, Qos::strict, {{endpoint(1, 9000)}})}, {{"fail_on", "configure_qos"}}));
    ASSERT_FALSE(error.is_ok());
    EXPECT_NE(error.message().find("topic 1"), std::string::npos) << error.message();
    EXPECT_EQ(read_records(record_file).back().verb, "close");
}

// The adapter's methods are noexcept: an exception inside one comes back as an internal error, the host runs on.
TEST_F(DispatchTest, AnExceptionInsideTheAdapterComesBackAsAnInternalError) {
    Mom mom(MomOptions{tempos::test::build_dir() / "lib"}, log);
    const Status error =
        mom.start(config({topic(1, Qos::strict, {{endpoint(1, 9000)}})}, {{"fail_on", "configure_qos_throws"}}));
    ASSERT_FALSE(error.is_ok());
    EXPECT_EQ(error.code(), ErrorCode::internal) << error.message();
    const std::string expected = "adapter 'recording' refuses topic 1: configure_qos: fail_on = configure_qos_throws";
    EXPECT_NE(error.message().find(expected), std::string::npos) << error.message();
    EXPECT_EQ(read_records(record_file).back().verb, "close");
}

TEST_F(DispatchTest, AMissingPluginFailsTheStartNamingTheAdapter) {
    auto c = config({});
    c.adapters[0].library = "libnot_there.so";
    Mom mom(MomOptions{tempos::test::build_dir() / "lib"}, log);
    const Status error = mom.start(c);
    ASSERT_FALSE(error.is_ok());
    EXPECT_NE(error.message().find("libnot_there.so"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("'recording'"), std::string::npos) << error.message();
    EXPECT_EQ(error.code(), ErrorCode::not_found);
}

TEST_F(DispatchTest, DisabledAdaptersAreNotLoaded) {
    auto c = config({topic(1, Qos::strict, {{endpoint(1, 9000)}})});
    c.adapters[0].enabled = false;
    auto mom = start(c);
    ASSERT_TRUE(mom);
    EXPECT_FALSE(std::filesystem::exists(record_file));
}

// Fetches http://127.0.0.1:port/path with a plain socket; the whole response.
std::string http_get(std::uint16_t port, const std::string& path) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        ::send(fd, request.data(), request.size(), 0);
        char buffer[4096];
        for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, n);
    }
    ::close(fd);
    return response;
}

TEST_F(DispatchTest, MetricsEndpointServesPrometheusText) {
    auto c = config({topic(1, Qos::strict, {{endpoint(1, 9000)}})});
    c.metrics = SocketAddress{{127, 0, 0, 1}, 0};
    auto mom = start(c);
    ASSERT_TRUE(mom);
    ASSERT_TRUE(send_udp(mom->ingress_address().port, {1, 7}));
    ASSERT_TRUE(wait_until([&] { return mom->counters().at(1, Path::sq).sent == 1; }));

    const std::string response = http_get(mom->metrics_address()->port, "/metrics");
    EXPECT_NE(response.find("200 OK"), std::string::npos) << response;
    EXPECT_NE(response.find("text/plain; version=0.0.4"), std::string::npos);
    EXPECT_NE(response.find("tempos_events_received_total{topic=\"1\",path=\"sq\"} 1\n"), std::string::npos)
        << response;
    EXPECT_NE(response.find("tempos_events_sent_total{topic=\"1\",path=\"sq\"} 1\n"), std::string::npos);
    EXPECT_NE(response.find("tempos_adapter_mode{adapter=\"recording\",mode=\"recording\"} 1\n"), std::string::npos);
    EXPECT_NE(response.find("tempos_adapter_sent_total{adapter=\"recording\",topic=\"1\"} 1\n"), std::string::npos);
    EXPECT_NE(http_get(mom->metrics_address()->port, "/nothing").find("404"), std::string::npos);
}

}  // namespace
}  // namespace tempos::mom
