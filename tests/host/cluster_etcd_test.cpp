// tempos-mom following the topics of a real etcd (docs/cluster.md): the test starts its own single-member etcd on
// loopback (testkit EtcdRunner), writes keys with the project's own client, and reads what the MoM routes from its
// /metrics and from datagrams sent to it. No adapter is loaded: a known topic's datagrams are counted as received,
// an unknown one's as unknown_topic, which tells what the MoM's table holds. Without etcd installed it skips,
// except under CI or TEMPOS_REQUIRE_PRIVILEGED=1, where it fails.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "etcd_client.hpp"
#include "plugins/recording_test_support.hpp"
#include "process/etcd_runner.hpp"
#include "process/mom_runner.hpp"

using namespace tempos;
using namespace tempos::testkit;
using tempos::cluster::EtcdClient;
using tempos::cluster::RangeResult;

namespace {

bool etcd_required() {
    const char* required = std::getenv("TEMPOS_REQUIRE_PRIVILEGED");
    const char* ci = std::getenv("CI");
    return (required && std::string(required) == "1") || (ci && *ci);
}

constexpr std::chrono::seconds kWait{20};

std::string strict_topic(std::uint16_t port) {
    return R"({"qos": "strict", "subscribers": ["127.0.0.1:)" + std::to_string(port) + R"("]})";
}

class ClusterEtcdTest : public ::testing::Test {
protected:
    virtual int etcd_members() const { return 1; }
    virtual EtcdOptions etcd_options() const { return {.members = etcd_members()}; }
    virtual mom::EtcdTls client_tls() const { return {}; }
    void SetUp() override {
        Result<EtcdRunner> started = EtcdRunner::start(etcd_options());
        if (!started) {
            if (started.code() == ErrorCode::not_found && !etcd_required()) GTEST_SKIP() << started.message();
            FAIL() << "cannot start etcd: " << started.message();
        }
        etcd = std::move(*started);
        client.emplace(etcd.endpoints(), client_tls());
    }

    ControllerConfig config(std::vector<std::string> endpoints = {}) const {
        ControllerConfig c;
        c.mom.listen = "127.0.0.1:" + std::to_string(port);
        c.mom.metrics = "127.0.0.1:" + std::to_string(metrics_port);
        c.cluster.etcd = endpoints.empty() ? etcd.endpoints() : endpoints;
        c.cluster.node = "test-node";
        c.topics = {{1, "best-effort", {{{"127.0.0.1", 19101, ""}}}}};
        return c;
    }

    MomRunner start_mom(std::vector<std::string> endpoints = {}) {
        Result<MomRunner> mom = MomRunner::start(config(std::move(endpoints)), {.binary = test::build_dir() / "bin" / "tempos-mom",
                                                            .log_level = "debug"});
        EXPECT_TRUE(mom) << mom.message();
        return mom ? std::move(*mom) : MomRunner();
    }

    static double metric(const MomRunner& mom, const std::string& name,
                         const std::vector<std::pair<std::string, std::string>>& labels = {}) {
        const Result<std::string> text = mom.scrape_metrics();
        return text ? sum_metric(*text, name, labels) : -1;
    }
    // What the MoM did with one datagram of `topic`: counted as received (a topic of its table) or discarded as
    // of an unknown topic.
    enum class Seen { received, unknown, nothing };
    Seen probe(const MomRunner& mom, int topic) {
        const std::string id = std::to_string(topic);
        auto received = [&] { return metric(mom, "tempos_events_received_total", {{"topic", id}}); };
        auto discarded = [&] { return metric(mom, "tempos_ingress_discarded_total", {{"reason", "unknown_topic"}}); };
        const double received_before = received(), discarded_before = discarded();
        if (!test::send_udp(port, {static_cast<std::uint8_t>(topic), 0x42})) return Seen::nothing;
        Seen seen = Seen::nothing;
        poll_until(
            [&] {
                if (received() > received_before) seen = Seen::received;
                else if (discarded() > discarded_before) seen = Seen::unknown;
                return seen != Seen::nothing;
            },
            kWait);
        return seen;
    }
    bool routes(const MomRunner& mom, int topic) { return probe(mom, topic) == Seen::received; }
    bool unknown(const MomRunner& mom, int topic) { return probe(mom, topic) == Seen::unknown; }
    // Probes until the MoM treats `topic` as `seen` (a change it has not applied yet shows the old treatment).
    bool becomes(const MomRunner& mom, int topic, Seen seen) {
        return poll_until([&] { return probe(mom, topic) == seen; }, kWait);
    }
    bool wait_metric(const MomRunner& mom, const std::string& name, double value) {
        return poll_until([&] { return metric(mom, name) == value; }, kWait);
    }

    // A tool of the build (tempos-ctl, tempos-sub) run to its end: its exit status and what it printed.
    static std::pair<int, std::string> run_tool(const std::string& tool, const std::vector<std::string>& args) {
        std::vector<std::string> argv{(test::build_dir() / "bin" / tool).string()};
        argv.insert(argv.end(), args.begin(), args.end());
        Result<Process> run = Process::start(argv);
        if (!run) return {-1, run.message()};
        const Result<int> status = run->wait(kWait);
        return {status ? *status : -1, run->output() + run->errors()};
    }
    std::pair<int, std::string> run_ctl(std::vector<std::string> args) const {
        std::string endpoints;
        for (const std::string& e : etcd.endpoints()) endpoints += (endpoints.empty() ? "" : ",") + e;
        args.insert(args.begin(), {"--etcd", endpoints});
        return run_tool("tempos-ctl", args);
    }

    EtcdRunner etcd;
    std::optional<EtcdClient> client;
    std::uint16_t port = test::free_udp_port();
    std::uint16_t metrics_port = test::free_tcp_port();
};

TEST_F(ClusterEtcdTest, MomFollowsPutsDeletesAndRefusesBadValues) {
    // Read at start (the range), before any watch.
    ASSERT_TRUE(client->put("/tempos/topics/5", strict_topic(19105)));
    MomRunner mom = start_mom();
    ASSERT_TRUE(mom.pid() > 0);
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_connected", 1)) << mom.log_tail(20);
    ASSERT_TRUE(becomes(mom, 5, Seen::received)) << mom.log_tail(20);
    EXPECT_TRUE(routes(mom, 5));
    EXPECT_TRUE(unknown(mom, 6));

    // A put seen by the watch.
    ASSERT_TRUE(client->put("/tempos/topics/6", strict_topic(19106)));
    ASSERT_TRUE(becomes(mom, 6, Seen::received)) << mom.log_tail(20);
    EXPECT_TRUE(routes(mom, 6));

    // A bad value: refused for that topic only, which keeps its last value; the others are untouched.
    ASSERT_TRUE(client->put("/tempos/topics/6", R"({"qos": "strict", "subscribers": ["127.0.0.1:700000"]})"));
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_refused_keys_total", 1)) << mom.log_tail(20);
    EXPECT_NE(mom.log().find("cluster key refused: /tempos/topics/6: subscriber: invalid port \"700000\""),
              std::string::npos)
        << mom.log_tail(20);
    EXPECT_TRUE(routes(mom, 6));
    EXPECT_TRUE(routes(mom, 5));
    EXPECT_TRUE(routes(mom, 1));

    // A key for the file's topic: refused, the file's topic stays.
    ASSERT_TRUE(client->put("/tempos/topics/1", strict_topic(19107)));
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_refused_keys_total", 2)) << mom.log_tail(20);
    EXPECT_NE(mom.log().find("/tempos/topics/1: topic 1 is defined by the file at"), std::string::npos);
    EXPECT_TRUE(routes(mom, 1));

    // A subscriber that is the MoM itself: refused as a reload refuses it, at the key.
    ASSERT_TRUE(client->put("/tempos/topics/8", strict_topic(port)));
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_refused_keys_total", 3)) << mom.log_tail(20);
    EXPECT_NE(mom.log().find("cluster key refused: /tempos/topics/8: "), std::string::npos) << mom.log_tail(20);
    EXPECT_NE(mom.log().find("is the MoM's own listen endpoint"), std::string::npos) << mom.log_tail(20);
    EXPECT_TRUE(unknown(mom, 8));

    // A delete.
    const Result<std::int64_t> deleted = client->erase("/tempos/topics/6");
    ASSERT_TRUE(deleted) << deleted.message();
    ASSERT_TRUE(becomes(mom, 6, Seen::unknown)) << mom.log_tail(20);
    EXPECT_TRUE(unknown(mom, 6));
    EXPECT_TRUE(routes(mom, 5));
    EXPECT_TRUE(wait_metric(mom, "tempos_cluster_revision_applied", static_cast<double>(*deleted)));

    // A SIGHUP re-reads the file and keeps the cluster's topics.
    const double reloads = metric(mom, "tempos_reloads_total", {{"result", "ok"}});
    ASSERT_TRUE(mom.reload());
    ASSERT_TRUE(poll_until([&] { return metric(mom, "tempos_reloads_total", {{"result", "ok"}}) > reloads; }, kWait))
        << mom.log_tail(20);
    EXPECT_TRUE(routes(mom, 5));
    EXPECT_TRUE(mom.stop());
}

TEST_F(ClusterEtcdTest, KeepsItsRoutesWithoutEtcdAndCatchesUpAfterACompaction) {
    ASSERT_TRUE(client->put("/tempos/topics/5", strict_topic(19105)));
    MomRunner mom = start_mom();
    ASSERT_TRUE(mom.pid() > 0);
    ASSERT_TRUE(becomes(mom, 5, Seen::received)) << mom.log_tail(20);

    ASSERT_TRUE(etcd.stop());
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_connected", 0)) << mom.log_tail(20);
    EXPECT_TRUE(routes(mom, 5));  // the last applied table stays in force

    // Changes and a compaction while this MoM cannot see them: it is stopped when etcd comes back.
    ASSERT_TRUE(mom.process().signal(SIGSTOP));
    ASSERT_TRUE(etcd.restart()) << etcd.log_tail();
    const Result<std::int64_t> erased = client->erase("/tempos/topics/5");
    ASSERT_TRUE(erased) << erased.message();
    const Result<std::int64_t> last = client->put("/tempos/topics/7", strict_topic(19107));
    ASSERT_TRUE(last) << last.message();
    ASSERT_TRUE(client->compact(*last));
    ASSERT_TRUE(mom.process().signal(SIGCONT));

    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_connected", 1)) << mom.log_tail(20);
    ASSERT_TRUE(becomes(mom, 7, Seen::received)) << mom.log_tail(20);
    ASSERT_TRUE(becomes(mom, 5, Seen::unknown)) << mom.log_tail(20);
    EXPECT_NE(mom.log().find("was compacted"), std::string::npos) << mom.log_tail(20);
    EXPECT_TRUE(routes(mom, 7));
    EXPECT_TRUE(unknown(mom, 5));
    // Read again at the store's revision: this MoM's own registration may have written since.
    EXPECT_GE(metric(mom, "tempos_cluster_revision_applied"), static_cast<double>(*last));
    EXPECT_GE(metric(mom, "tempos_cluster_watch_restarts_total"), 1);
    EXPECT_TRUE(mom.stop());
}

// The first endpoint listed is down (nothing listens there): the MoM and the client go on to the next.
TEST_F(ClusterEtcdTest, ADeadEndpointIsPassedOver) {
    const std::string dead = "http://127.0.0.1:" + std::to_string(free_tcp_port());
    EtcdClient both({dead, etcd.endpoint()});
    ASSERT_TRUE(both.put("/tempos/topics/5", strict_topic(19105)));
    MomRunner mom = start_mom({dead, etcd.endpoint()});
    ASSERT_TRUE(mom.pid() > 0);
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_connected", 1)) << mom.log_tail(20);
    EXPECT_TRUE(becomes(mom, 5, Seen::received)) << mom.log_tail(20);
    ASSERT_TRUE(both.put("/tempos/topics/6", strict_topic(19106)));
    EXPECT_TRUE(becomes(mom, 6, Seen::received)) << mom.log_tail(20);
    EXPECT_TRUE(mom.stop());
}

// A member under a lease joins its group; when the lease goes, so does the member. The recording adapter records
// which member each event was sent to (round robin within the group).
TEST_F(ClusterEtcdTest, AMemberWithALeaseIsRoutedToWhileTheLeaseLives) {
    TempDir dir("members");
    const auto records = dir.path() / "record.log";
    ControllerConfig c = config();
    c.adapters.push_back(ConfigAdapter{"recording", "librecording_adapter.so", true, {{"record_file", records.string()}}});
    Result<MomRunner> started = MomRunner::start(
        c, {.binary = test::build_dir() / "bin" / "tempos-mom",
            .args = {"--plugin-dir", (test::build_dir() / "lib").string()}, .log_level = "debug"});
    ASSERT_TRUE(started) << started.message();
    MomRunner& mom = *started;
    ASSERT_TRUE(client->put("/tempos/topics/5", strict_topic(19105)));
    const Result<cluster::Lease> lease = client->grant_lease(30);
    ASSERT_TRUE(lease) << lease.message();
    ASSERT_TRUE(client->put("/tempos/members/5/0/127.0.0.1:19205", "", lease->id));

    // The member each event of topic 5 went to, from the latest send records.
    auto last_members = [&](std::size_t count) {
        std::vector<std::string> members;
        for (const auto& r : test::records_with(test::read_records(records), "send"))
            if (r["topic"] == "5") members.push_back(r["member"]);
        if (members.size() > count) members.erase(members.begin(), members.end() - static_cast<long>(count));
        return members;
    };
    auto sent_to = [&](const std::string& member) {
        return poll_until(
            [&] {
                test::send_udp(port, {5, 0x42});
                const auto members = last_members(1);
                return !members.empty() && members.back() == member;
            },
            kWait);
    };
    EXPECT_TRUE(sent_to("127.0.0.1:19205")) << mom.log_tail(20);
    EXPECT_TRUE(sent_to("127.0.0.1:19105"));

    ASSERT_TRUE(client->revoke_lease(lease->id));
    // Once applied, every event goes to the static member: two in a row, which round robin over two never gives.
    EXPECT_TRUE(poll_until(
        [&] {
            test::send_udp(port, {5, 0x42});
            test::send_udp(port, {5, 0x42});
            const auto members = last_members(2);
            return members.size() == 2 && members[0] == "127.0.0.1:19105" && members[1] == "127.0.0.1:19105";
        },
        kWait))
        << mom.log_tail(20);
    EXPECT_NE(mom.log().find("member /tempos/members/5/0/127.0.0.1:19205 left"), std::string::npos) << mom.log_tail(20);
    EXPECT_TRUE(mom.stop());
}

// tempos-ctl against the same etcd, and the broker key the MoM keeps under a lease.
TEST_F(ClusterEtcdTest, TempoCtlRoundTripAndTheBrokerKey) {
    MomRunner mom = start_mom();
    ASSERT_TRUE(mom.pid() > 0);
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_connected", 1)) << mom.log_tail(20);
    TempDir dir("ctl");
    const auto file = dir.path() / "topic.json";
    std::ofstream(file) << R"({"id": 9, "qos": "strict", "subscribers": ["127.0.0.1:19109"]})";
    const auto [put_status, put_out] = run_ctl({"topics", "put", file.string()});
    ASSERT_EQ(put_status, 0) << put_out;
    EXPECT_NE(put_out.find("/tempos/topics/9 written at revision"), std::string::npos) << put_out;
    ASSERT_TRUE(becomes(mom, 9, Seen::received)) << mom.log_tail(20);

    const auto [get_status, get_out] = run_ctl({"topics", "get", "9"});
    EXPECT_EQ(get_status, 0);
    EXPECT_NE(get_out.find("\"127.0.0.1:19109\""), std::string::npos) << get_out;
    const auto [list_status, list_out] = run_ctl({"topics", "list"});
    EXPECT_EQ(list_status, 0);
    EXPECT_NE(list_out.find("/tempos/topics/9\t"), std::string::npos) << list_out;

    // A value every MoM would refuse is refused before it is written, with the MoMs' message.
    std::ofstream(file) << R"({"id": 9, "qos": "fast", "subscribers": ["127.0.0.1:19109"]})";
    const auto [bad_status, bad_out] = run_ctl({"topics", "put", file.string()});
    EXPECT_EQ(bad_status, 1);
    EXPECT_NE(bad_out.find("/tempos/topics/9: topic 9 qos must be \"strict\" or \"best-effort\", got \"fast\""),
              std::string::npos)
        << bad_out;
    EXPECT_TRUE(routes(mom, 9));

    // The broker key: this MoM, at the revision of the last topic write.
    const Result<std::int64_t> newest = client->put("/tempos/topics/10", strict_topic(19110));
    ASSERT_TRUE(newest);
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_revision_applied", static_cast<double>(*newest)));
    std::string brokers;
    EXPECT_TRUE(poll_until(
        [&] {
            const auto [status, out] = run_ctl({"brokers", "--json"});
            brokers = out;
            return status == 0 && out.find("\"revision\": " + std::to_string(*newest)) != std::string::npos;
        },
        kWait))
        << brokers;
    EXPECT_NE(brokers.find("\"node\": \"test-node\""), std::string::npos) << brokers;
    EXPECT_NE(brokers.find("\"listen\": \"127.0.0.1:" + std::to_string(port) + "\""), std::string::npos) << brokers;
    EXPECT_NE(brokers.find("\"behind\": false"), std::string::npos) << brokers;
    EXPECT_NE(brokers.find("\"lag\": 0"), std::string::npos) << brokers;
    // No adapter has an xdp_mode option: no mode, granted or configured.
    EXPECT_NE(brokers.find("\"xdp_mode\": \"\""), std::string::npos) << brokers;

    // A broker that has not applied the newest write (stopped) is shown behind, by how many revisions.
    ASSERT_TRUE(mom.process().signal(SIGSTOP));
    const Result<std::int64_t> unseen = client->put("/tempos/topics/11", strict_topic(19111));
    ASSERT_TRUE(unseen);
    const auto [lag_status, lag_out] = run_ctl({"brokers"});
    EXPECT_EQ(lag_status, 0) << lag_out;
    EXPECT_NE(lag_out.find("LAG"), std::string::npos) << lag_out;
    EXPECT_NE(lag_out.find(" " + std::to_string(*unseen - *newest) + " "), std::string::npos) << lag_out;
    EXPECT_NE(lag_out.find("behind"), std::string::npos) << lag_out;
    ASSERT_TRUE(mom.process().signal(SIGCONT));
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_revision_applied", static_cast<double>(*unseen)));

    const auto [delete_status, delete_out] = run_ctl({"topics", "delete", "9"});
    EXPECT_EQ(delete_status, 0) << delete_out;
    EXPECT_TRUE(becomes(mom, 9, Seen::unknown)) << mom.log_tail(20);

    // Stopped, the MoM revokes its lease: the key goes at once.
    EXPECT_TRUE(mom.stop());
    const Result<RangeResult> left = client->range_prefix("/tempos/brokers/");
    ASSERT_TRUE(left) << left.message();
    EXPECT_TRUE(left->kvs.empty());
}

// tempos-sub --register: its member key under a lease, kept alive beyond the TTL, listed by tempos-ctl, revoked
// when it ends cleanly; after a SIGKILL the key stays until the lease expires.
TEST_F(ClusterEtcdTest, TempoSubRegistersItsEndpointUnderALease) {
    const std::uint16_t sub_port = test::free_udp_port();
    const std::string key = "/tempos/members/5/0/127.0.0.1:" + std::to_string(sub_port);
    TempDir dir("register");
    auto start_sub = [&](const std::string& ready) {
        return Process::start({(test::build_dir() / "bin" / "tempos-sub").string(), "--listen",
                               "127.0.0.1:" + std::to_string(sub_port), "--timeout", "60", "--json", "--ready-file",
                               ready, "--register", etcd.endpoint(), "--topic", "5", "--group", "0", "--lease-ttl",
                               "2", "--mac", "02:00:00:00:00:05"});
    };
    auto member = [&]() -> std::optional<cluster::KeyValue> {
        const Result<RangeResult> range = client->range_prefix(key);
        if (!range || range->kvs.empty()) return std::nullopt;
        return range->kvs.front();
    };
    const std::string ready = (dir.path() / "sub.ready").string();
    Result<Process> sub = start_sub(ready);
    ASSERT_TRUE(sub) << sub.message();
    // Registered before it says it is ready.
    ASSERT_TRUE(sub->wait_until([&] { return std::filesystem::exists(ready); }, kWait, "the ready file"));
    const std::optional<cluster::KeyValue> registered = member();
    ASSERT_TRUE(registered) << sub->output_tail();
    EXPECT_NE(registered->lease, 0);
    EXPECT_EQ(registered->value, R"({"mac":"02:00:00:00:00:05"})");

    // Kept alive: the key outlives three TTLs (it would be gone after one without keep-alives).
    const auto three_ttls = std::chrono::steady_clock::now() + std::chrono::seconds(6);
    bool kept = true;
    poll_until(
        [&] {
            kept = kept && member().has_value();
            return !kept || std::chrono::steady_clock::now() >= three_ttls;
        },
        std::chrono::seconds(10));
    EXPECT_TRUE(kept) << sub->output_tail();

    const auto [list_status, list_out] = run_ctl({"members", "list", "--topic", "5", "--json"});
    ASSERT_EQ(list_status, 0) << list_out;
    const nlohmann::json listed = nlohmann::json::parse(list_out, nullptr, false);
    ASSERT_TRUE(listed.is_array() && listed.size() == 1) << list_out;
    EXPECT_EQ(listed[0].value("endpoint", ""), "127.0.0.1:" + std::to_string(sub_port)) << list_out;
    EXPECT_EQ(listed[0].value("topic", -1), 5) << list_out;
    EXPECT_EQ(listed[0].value("group", -1), 0) << list_out;
    EXPECT_EQ(listed[0].value("mac", ""), "02:00:00:00:00:05") << list_out;
    EXPECT_EQ(listed[0].value("lease", std::int64_t{0}), registered->lease) << list_out;
    // What is left of a 2 s lease kept alive every third of it.
    ASSERT_TRUE(listed[0]["ttl_left"].is_number_integer()) << list_out;
    EXPECT_LE(listed[0]["ttl_left"].get<int>(), 2) << list_out;
    const auto [table_status, table_out] = run_ctl({"members", "list"});
    EXPECT_EQ(table_status, 0) << table_out;
    EXPECT_NE(table_out.find("TOPIC GROUP ENDPOINT"), std::string::npos) << table_out;
    const auto [other_status, other_out] = run_ctl({"members", "list", "--topic", "6", "--json"});
    EXPECT_EQ(other_status, 0);
    EXPECT_EQ(other_out, "[]\n");

    // A clean end revokes the lease: the key is gone when tempos-sub has exited.
    ASSERT_TRUE(sub->signal(SIGTERM));
    const Result<int> ended = sub->wait(kWait);
    ASSERT_TRUE(ended);
    EXPECT_EQ(*ended, 0) << sub->output_tail();
    EXPECT_FALSE(member().has_value());
    EXPECT_NE(sub->output().find("\"registration\":{\"key\":\"" + key + "\""), std::string::npos) << sub->output();

    // SIGKILL: nothing revokes; the lease expires within its TTL (bounded wait, generous for a loaded machine).
    std::filesystem::remove(ready);
    Result<Process> killed = start_sub(ready);
    ASSERT_TRUE(killed) << killed.message();
    ASSERT_TRUE(killed->wait_until([&] { return std::filesystem::exists(ready); }, kWait, "the ready file"));
    ASSERT_TRUE(member().has_value());
    killed->kill_and_reap();
    EXPECT_TRUE(poll_until([&] { return !member().has_value(); }, kWait));
}

// etcd hung (SIGSTOP) for longer than every lease's TTL: once it runs again it finds the leases expired (a
// keep-alive of an expired lease waits for its revocation and is told "not found"), deletes their keys, and the
// broker (TTL 10 s) and a registered tempos-sub (TTL 2 s) each grant a new lease and write their key again. A
// restarted etcd would not do: it gives every lease a full TTL again when it starts.
TEST_F(ClusterEtcdTest, BrokerAndSubscriberRegisterAgainAfterTheirLeasesExpired) {
    MomRunner mom = start_mom();
    ASSERT_TRUE(mom.pid() > 0);
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_connected", 1)) << mom.log_tail(20);
    const std::string listen = "127.0.0.1:" + std::to_string(test::free_udp_port());
    const std::string member_key = "/tempos/members/5/0/" + listen, broker_key = "/tempos/brokers/test-node";
    TempDir dir("reregister");
    const std::string ready = (dir.path() / "sub.ready").string();
    Result<Process> sub = Process::start({(test::build_dir() / "bin" / "tempos-sub").string(), "--listen", listen,
                                          "--timeout", "120", "--ready-file", ready, "--register", etcd.endpoint(),
                                          "--topic", "5", "--lease-ttl", "2"});
    ASSERT_TRUE(sub) << sub.message();
    ASSERT_TRUE(sub->wait_until([&] { return std::filesystem::exists(ready); }, kWait, "the ready file"));
    auto lease_of = [&](const std::string& key) -> std::int64_t {
        const Result<RangeResult> range = client->range_prefix(key);
        return range && range->kvs.size() == 1 ? range->kvs.front().lease : 0;
    };
    std::int64_t broker_lease = 0;
    ASSERT_TRUE(poll_until([&] { return (broker_lease = lease_of(broker_key)) != 0; }, kWait)) << mom.log_tail(20);
    const std::int64_t member_lease = lease_of(member_key);
    ASSERT_NE(member_lease, 0) << sub->output_tail();

    ASSERT_EQ(::kill(etcd.pid(), SIGSTOP), 0);
    // The outage itself: longer than the broker's TTL counted from its last keep-alive, whatever it was.
    std::this_thread::sleep_for(std::chrono::seconds(12));
    ASSERT_EQ(::kill(etcd.pid(), SIGCONT), 0);

    auto renewed = [&](const std::string& key, std::int64_t old) {
        return poll_until([&] { const std::int64_t now = lease_of(key); return now != 0 && now != old; }, kWait);
    };
    EXPECT_TRUE(renewed(member_key, member_lease)) << sub->output_tail();
    EXPECT_TRUE(renewed(broker_key, broker_lease)) << mom.log_tail(20);
    for (const std::int64_t old : {member_lease, broker_lease}) {
        const Result<std::int64_t> left = client->lease_time_to_live(old);
        EXPECT_TRUE(!left && left.code() == ErrorCode::not_found) << "lease " << old << " still lives";
    }
    // Each kept its new lease alive: still there after two of tempos-sub's TTLs.
    const std::int64_t new_member = lease_of(member_key);
    EXPECT_FALSE(poll_until([&] { return lease_of(member_key) != new_member; }, std::chrono::seconds(4)))
        << sub->output_tail();
    EXPECT_TRUE(wait_metric(mom, "tempos_cluster_connected", 1)) << mom.log_tail(20);
    EXPECT_TRUE(sub->terminate(std::chrono::seconds(5)));
    EXPECT_TRUE(mom.stop());
}

// tempos-sub --register refuses what it cannot register, with why, before it is ready.
TEST_F(ClusterEtcdTest, TempoSubRegisterErrors) {
    const std::string listen = "127.0.0.1:" + std::to_string(test::free_udp_port());
    auto sub = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--listen", listen, "--timeout", "5"});
        return run_tool("tempos-sub", args);
    };
    const std::string closed = "http://127.0.0.1:" + std::to_string(free_tcp_port());
    const auto [unreachable, unreachable_out] = sub({"--register", closed, "--topic", "5"});
    EXPECT_EQ(unreachable, 1) << unreachable_out;
    EXPECT_NE(unreachable_out.find("tempos-sub: --register: cannot register /tempos/members/5/0/" + listen +
                                   ": lease grant at " + closed + ": cannot connect"),
              std::string::npos)
        << unreachable_out;
    const auto [bad_url, bad_url_out] = sub({"--register", "127.0.0.1:2379", "--topic", "5"});
    EXPECT_EQ(bad_url, 2) << bad_url_out;
    EXPECT_NE(bad_url_out.find("etcd endpoint '127.0.0.1:2379': expected http://HOST:PORT or https://HOST:PORT"),
              std::string::npos)
        << bad_url_out;
    const auto [tls, tls_out] = sub({"--register", etcd.endpoint(), "--topic", "5", "--cacert", "/nonexistent"});
    EXPECT_EQ(tls, 2) << tls_out;
    EXPECT_NE(tls_out.find("--register: --cacert: cannot read /nonexistent"), std::string::npos) << tls_out;
    const auto [no_topic, no_topic_out] = sub({"--register", etcd.endpoint()});
    EXPECT_EQ(no_topic, 2) << no_topic_out;
    EXPECT_NE(no_topic_out.find("--register needs --topic"), std::string::npos) << no_topic_out;
    const auto [bad_mac, bad_mac_out] = sub({"--register", etcd.endpoint(), "--topic", "5", "--mac", "nope"});
    EXPECT_EQ(bad_mac, 2) << bad_mac_out;
    EXPECT_NE(bad_mac_out.find("member mac: invalid MAC address"), std::string::npos) << bad_mac_out;
    const auto [any, any_out] = run_tool("tempos-sub", {"--listen", "0.0.0.0:9999", "--timeout", "5", "--register",
                                                       etcd.endpoint(), "--topic", "5"});
    EXPECT_EQ(any, 2) << any_out;
    EXPECT_NE(any_out.find("0.0.0.0 is not a subscriber address"), std::string::npos) << any_out;
    const Result<RangeResult> members = client->range_prefix("/tempos/members/");
    ASSERT_TRUE(members);
    EXPECT_TRUE(members->kvs.empty());
}

// A 3-member etcd: the MoM lists all three; the member it watches through is killed; it keeps its routes and
// resumes its watch through another member (a change made after the kill is applied).
class ClusterEtcdThreeMembersTest : public ClusterEtcdTest {
protected:
    int etcd_members() const override { return 3; }
};

TEST_F(ClusterEtcdThreeMembersTest, KeepsWatchingWhenItsMemberIsKilled) {
    ASSERT_EQ(etcd.size(), 3u);
    ASSERT_TRUE(client->put("/tempos/topics/5", strict_topic(19105)));
    MomRunner mom = start_mom();
    ASSERT_TRUE(mom.pid() > 0);
    ASSERT_TRUE(wait_metric(mom, "tempos_cluster_connected", 1)) << mom.log_tail(20);
    ASSERT_TRUE(becomes(mom, 5, Seen::received)) << mom.log_tail(20);
    const double restarts = metric(mom, "tempos_cluster_watch_restarts_total");

    // The first endpoint listed is the one a client starts with and stays on while it answers.
    ASSERT_TRUE(etcd.kill_member(0));
    // Its watch broke (counted) and was renewed at another member.
    ASSERT_TRUE(poll_until([&] { return metric(mom, "tempos_cluster_watch_restarts_total") > restarts; }, kWait))
        << mom.log_tail(20);
    EXPECT_TRUE(routes(mom, 5));
    const Result<std::int64_t> put = client->put("/tempos/topics/6", strict_topic(19106));
    ASSERT_TRUE(put) << put.message();
    EXPECT_TRUE(becomes(mom, 6, Seen::received)) << mom.log_tail(20) << etcd.log_tail();
    EXPECT_TRUE(wait_metric(mom, "tempos_cluster_connected", 1)) << mom.log_tail(20);
    EXPECT_TRUE(routes(mom, 5));
    EXPECT_TRUE(mom.stop());
}

// etcd speaking TLS to its clients and requiring their certificates, with certificates openssl makes for this test:
// one CA signing etcd's (for 127.0.0.1) and the client's, and another CA that signs neither.
class ClusterEtcdTlsTest : public ClusterEtcdTest {
protected:
    void SetUp() override {
        if (certs.path().empty()) FAIL() << "no temporary directory";
        const Result<std::filesystem::path> openssl = find_program("openssl");
        if (!openssl) {
            if (!etcd_required()) GTEST_SKIP() << "openssl is not installed";
            FAIL() << "openssl is not installed";
        }
        auto run = [&](std::vector<std::string> args) {
            args.insert(args.begin(), openssl->string());
            Result<Process> p = Process::start(args);
            const Result<int> status = p ? p->wait(kWait) : Result<int>(p.status());
            return status && *status == 0 ? std::string() : args[1] + " " + args[2] + ": " + (p ? p->output_tail() : p.message());
        };
        const std::string dir = certs.path().string() + "/";
        std::ofstream(dir + "server.ext") << "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n";
        std::ofstream(dir + "client.ext") << "extendedKeyUsage = clientAuth\n";
        const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
        for (const std::string ca : {"ca", "wrong-ca"}) {
            std::vector<std::string> args{"req", "-x509", "-days", "1", "-subj", "/CN=tempos test " + ca};
            args.insert(args.end(), ec.begin(), ec.end());
            args.insert(args.end(), {"-keyout", dir + ca + ".key", "-out", dir + ca + ".pem"});
            ASSERT_EQ(run(args), "");
        }
        for (const std::string side : {"server", "client"}) {
            std::vector<std::string> args{"req", "-subj", "/CN=tempos test " + side};
            args.insert(args.end(), ec.begin(), ec.end());
            args.insert(args.end(), {"-keyout", dir + side + ".key", "-out", dir + side + ".csr"});
            ASSERT_EQ(run(args), "");
            ASSERT_EQ(run({"x509", "-req", "-days", "1", "-in", dir + side + ".csr", "-CA", dir + "ca.pem", "-CAkey",
                           dir + "ca.key", "-CAcreateserial", "-extfile", dir + side + ".ext", "-out",
                           dir + side + ".pem"}),
                      "");
        }
        ClusterEtcdTest::SetUp();
    }
    EtcdOptions etcd_options() const override {
        return {.tls = {.ca = file("ca.pem"), .cert = file("server.pem"), .key = file("server.key"),
                        .client_cert = file("client.pem"), .client_key = file("client.key")}};
    }
    mom::EtcdTls client_tls() const override {
        const Result<mom::EtcdTls> tls =
            mom::read_etcd_tls({"https://127.0.0.1:1"}, file("ca.pem"), file("client.pem"), file("client.key"));
        EXPECT_TRUE(tls) << tls.message();
        return tls ? *tls : mom::EtcdTls{};
    }
    std::string file(const std::string& name) const { return (certs.path() / name).string(); }
    MomRunner start_tls_mom(const std::string& ca) {
        ControllerConfig c = config();
        c.cluster.cacert = file(ca);
        c.cluster.cert = file("client.pem");
        c.cluster.key = file("client.key");
        Result<MomRunner> mom =
            MomRunner::start(c, {.binary = test::build_dir() / "bin" / "tempos-mom", .log_level = "debug"});
        EXPECT_TRUE(mom) << mom.message();
        return mom ? std::move(*mom) : MomRunner();
    }

    TempDir certs{"etcd-tls"};
};

TEST_F(ClusterEtcdTlsTest, AppliesTopicsOverTlsAndRefusesAWrongCa) {
    ASSERT_EQ(etcd.endpoint().rfind("https://", 0), 0u) << etcd.endpoint();
    ASSERT_TRUE(client->put("/tempos/topics/5", strict_topic(19105)));
    {
        MomRunner mom = start_tls_mom("ca.pem");
        ASSERT_TRUE(mom.pid() > 0);
        ASSERT_TRUE(wait_metric(mom, "tempos_cluster_connected", 1)) << mom.log_tail(20);
        ASSERT_TRUE(becomes(mom, 5, Seen::received)) << mom.log_tail(20);  // the range
        ASSERT_TRUE(client->put("/tempos/topics/6", strict_topic(19106)));
        EXPECT_TRUE(becomes(mom, 6, Seen::received)) << mom.log_tail(20);  // the watch
        // Its registration (a lease, kept alive) over TLS too.
        EXPECT_TRUE(poll_until([&] { const auto b = client->range_prefix("/tempos/brokers/test-node");
                                     return b && b->kvs.size() == 1; }, kWait));
        const auto [got, got_out] = run_ctl({"--cacert", file("ca.pem"), "--cert", file("client.pem"), "--key",
                                             file("client.key"), "topics", "get", "6"});
        EXPECT_EQ(got, 0) << got_out;
        EXPECT_NE(got_out.find("19106"), std::string::npos) << got_out;
        EXPECT_TRUE(mom.stop());
    }
    // A CA that did not sign etcd's certificate: no connection, said in the log, the cluster's topics not applied.
    MomRunner wrong = start_tls_mom("wrong-ca.pem");
    ASSERT_TRUE(wrong.pid() > 0);
    ASSERT_TRUE(poll_until([&] { return wrong.log().find("etcd lost") != std::string::npos; }, kWait)) << wrong.log_tail(20);
    const std::string log = wrong.log();
    const std::string lost = log.substr(log.find("etcd lost"));
    EXPECT_NE(lost.find("range at " + etcd.endpoint() + ": cannot connect"), std::string::npos) << lost;
    EXPECT_NE(lost.find("certificate verify failed"), std::string::npos) << lost;
    EXPECT_EQ(metric(wrong, "tempos_cluster_connected"), 0);
    EXPECT_TRUE(unknown(wrong, 5));
    EXPECT_TRUE(wrong.stop());
    const auto [refused, refused_out] = run_ctl({"--cacert", file("wrong-ca.pem"), "--cert", file("client.pem"),
                                                 "--key", file("client.key"), "topics", "list"});
    EXPECT_EQ(refused, 1) << refused_out;
    EXPECT_NE(refused_out.find("certificate verify failed"), std::string::npos) << refused_out;
    // Without TLS options, a plain http:// client is not answered by etcd's https port.
    const auto [plain, plain_out] = run_tool("tempos-ctl", {"--etcd", "http" + etcd.endpoint().substr(5), "topics", "list"});
    EXPECT_EQ(plain, 1) << plain_out;
}

}  // namespace
