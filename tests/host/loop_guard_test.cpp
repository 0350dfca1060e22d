// What keeps an event from looping through the MoM: a subscriber that is the MoM's own listen endpoint is refused
// (loop_check.hpp), and an event reaching the socket path with TTL <= 1 is dropped and counted (received_ttl.hpp).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config.hpp"
#include "ingress.hpp"
#include "loop_check.hpp"
#include "plugins/recording_test_support.hpp"

namespace tempos::mom {
namespace {

namespace fs = std::filesystem;

class SelfSubscriberTest : public ::testing::Test {
protected:
    test::TempDir dir;
    fs::path file = dir.path() / "mom.toml";

    // A Controller file listening on `listen` with one topic whose subscribers are `subscribers` (one per line,
    // the first at line 6).
    MomConfig load(const std::string& listen, const std::vector<std::string>& subscribers) {
        std::ofstream out(file);
        out << "[mom]\nlisten = \"" << listen << "\"\n[[topics]]\nid = 3\nsubscribers = [\n";
        for (const std::string& s : subscribers) out << "  \"" << s << "\",\n";
        out << "]\nqos = \"best-effort\"\n";
        out.close();
        Result<MomConfig> config = load_config(file);
        EXPECT_TRUE(config) << config.message();
        return config ? *config : MomConfig{};
    }
    std::string at(int line) const { return file.string() + ":" + std::to_string(line) + ": "; }
};

TEST_F(SelfSubscriberTest, TheListenEndpointItselfIsRefusedAtItsLine) {
    const MomConfig config = load("127.0.0.1:9998", {"127.0.0.1:9999", "127.0.0.1:9998"});
    const Status refused = check_no_self_subscriber(config, {});
    ASSERT_FALSE(refused.is_ok());
    EXPECT_EQ(refused.code(), ErrorCode::invalid_argument);
    EXPECT_TRUE(refused.message().starts_with(at(7) + "topic 3: subscriber 127.0.0.1:9998 is the MoM's own listen "
                                                      "endpoint"))
        << refused.message();
}

TEST_F(SelfSubscriberTest, ListeningOnAnyAddressRefusesLoopbackAndThisHostsAddresses) {
    const MomConfig loopback = load("0.0.0.0:9998", {"10.1.1.1:9998", "127.0.0.5:9998"});
    const Status refused = check_no_self_subscriber(loopback, {});
    ASSERT_FALSE(refused.is_ok());
    EXPECT_TRUE(refused.message().starts_with(at(7))) << refused.message();
    EXPECT_NE(refused.message().find("127.0.0.0/8"), std::string::npos) << refused.message();

    const MomConfig local = load("0.0.0.0:9998", {"10.1.1.1:9998", "10.9.9.9:9998"});
    EXPECT_TRUE(check_no_self_subscriber(local, HostAddresses{{{10, 1, 1, 2}}, {}}).is_ok());
    const Status own = check_no_self_subscriber(local, HostAddresses{{{10, 1, 1, 2}, {10, 9, 9, 9}}, {}});
    ASSERT_FALSE(own.is_ok());
    EXPECT_TRUE(own.message().starts_with(at(7) + "topic 3: subscriber 10.9.9.9:9998")) << own.message();
}

TEST_F(SelfSubscriberTest, OtherPortsAndOtherAddressesAreFine) {
    // Another port of this host, and loopback when the MoM listens on a specific address (it never receives it).
    EXPECT_TRUE(check_no_self_subscriber(load("127.0.0.1:9998", {"127.0.0.1:9000"}), {}).is_ok());
    EXPECT_TRUE(check_no_self_subscriber(load("10.0.0.1:9998", {"127.0.0.1:9998", "10.0.0.2:9998"}), {}).is_ok());
}

TEST_F(SelfSubscriberTest, ThisHostsOwnAddressesIncludeLoopback) {
    const HostAddresses host = host_addresses();
    EXPECT_TRUE(host.ipv4.contains(Ipv4{127, 0, 0, 1}));
    // ::1 only where IPv6 is enabled on lo.
    if (!host.ipv6.empty()) {
        EXPECT_TRUE(host.ipv6.contains(*parse_ipv6("::1")));
    }
}

TEST_F(SelfSubscriberTest, AnIpv6ListenerRefusesItsOwnAddressesOfTheFamiliesItTakes) {
    const HostAddresses local{{{10, 9, 9, 9}}, {*parse_ipv6("2001:db8::9")}};
    // [::] dual-stack: ::1, this host's IPv6 addresses, and its IPv4 ones (it receives IPv4 too).
    for (const char* subscriber : {"[::1]:9998", "[2001:db8::9]:9998", "127.0.0.1:9998", "10.9.9.9:9998"}) {
        const Status refused = check_no_self_subscriber(load("[::]:9998", {"[2001:db8::1]:9998", subscriber}), local);
        ASSERT_FALSE(refused.is_ok()) << subscriber;
        EXPECT_TRUE(refused.message().starts_with(at(7) + "topic 3: subscriber " + subscriber + " is the MoM's own"))
            << refused.message();
    }
    EXPECT_TRUE(check_no_self_subscriber(load("[::]:9998", {"[::1]:9000", "[2001:db8::1]:9998"}), local).is_ok());
    // An IPv4 listener never receives IPv6, a specific IPv6 one only its own address.
    EXPECT_TRUE(check_no_self_subscriber(load("0.0.0.0:9998", {"[::1]:9998", "[2001:db8::9]:9998"}), local).is_ok());
    EXPECT_TRUE(check_no_self_subscriber(load("[2001:db8::9]:9998", {"[::1]:9998", "10.9.9.9:9998"}), local).is_ok());
    EXPECT_FALSE(check_no_self_subscriber(load("[2001:db8::9]:9998", {"[2001:db8::9]:9998"}), local).is_ok());
}

TEST_F(SelfSubscriberTest, AnIpv6OnlyListenerTakesNoIpv4) {
    const HostAddresses local{{{10, 9, 9, 9}}, {}};
    std::ofstream(file) << "[mom]\nlisten = \"[::]:9998\"\nv6only = true\n[[topics]]\nid = 3\n"
                           "subscribers = [\"127.0.0.1:9998\", \"10.9.9.9:9998\"]\nqos = \"best-effort\"\n";
    const Result<MomConfig> v6only = load_config(file);
    ASSERT_TRUE(v6only) << v6only.message();
    EXPECT_TRUE(check_no_self_subscriber(*v6only, local).is_ok());
    EXPECT_FALSE(check_no_self_subscriber(load("[::]:9998", {"10.9.9.9:9998"}), local).is_ok()) << "dual-stack";
}

// An ingress for topic 1 (best-effort), bound to `listen` and started.
class IngressTtl : public ::testing::Test {
protected:
    LogContext log{spdlog::level::warn};
    TopicTable topics;
    EventQueue sq{8}, bq{8};
    MomCounters counters;
    Ingress ingress{topics, sq, bq, counters, log};

    std::uint16_t start(const SocketAddress& listen) {
        topics.set(1, Qos::best_effort);
        EXPECT_TRUE(ingress.bind(listen).is_ok());
        ingress.start();
        return ingress.local_address().port;
    }
    // Once expired + received events are handled (bounded wait), stops the ingress and checks their split.
    void expect_handled(std::uint64_t expired, std::uint64_t received) {
        ASSERT_TRUE(test::wait_until(
            [&] { return counters.ttl_expired + counters.at(1, Path::bq).received == expired + received; }));
        ingress.stop();
        EXPECT_EQ(counters.ttl_expired, expired);
        EXPECT_EQ(counters.at(1, Path::bq).received, received);
    }
};

TEST_F(IngressTtl, EventsWithTtlOneOrLessAreDroppedAndCountedNotQueued) {
    const std::uint16_t port = start({{127, 0, 0, 1}, 0});
    ASSERT_TRUE(test::send_udp(port, {1, 0xaa}, 1));
    ASSERT_TRUE(test::send_udp(port, {1, 0xbb}, 2));
    ASSERT_NO_FATAL_FAILURE(expect_handled(1, 1));
    auto queued = bq.pop_for(std::chrono::milliseconds(0));
    ASSERT_TRUE(queued);
    EXPECT_EQ(queued->payload, (std::vector<std::uint8_t>{1, 0xbb})) << "only the TTL 2 event is sent on";
    EXPECT_FALSE(bq.pop_for(std::chrono::milliseconds(0)));
}

// The IPv6 hop limit is IPv4's TTL: <= 1 is dropped and counted, on a dual-stack socket for both families.
TEST_F(IngressTtl, Ipv6HopLimitOneOrLessIsDroppedLikeTtl) {
    const std::uint16_t port = start({{}, 0, Ipv6{}});
    ASSERT_TRUE(test::send_udp6(port, {1, 0xaa}, 1));
    ASSERT_TRUE(test::send_udp6(port, {1, 0xbb}, 2));
    ASSERT_TRUE(test::send_udp(port, {1, 0xcc}, 1));
    ASSERT_TRUE(test::send_udp(port, {1, 0xdd}, 2));
    expect_handled(2, 2);
}

}  // namespace
}  // namespace tempos::mom
