// The test kit's Process, ControllerConfig and MomRunner (testing/process): exit statuses, signals, bounded
// waits that fail, environment and namespace of the child, and a written config that tempos-mom accepts and
// runs (its readiness, /metrics, UDP counters, reload and stop).
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "process/controller_config.hpp"
#include "process/held_sockets.hpp"
#include "process/mom_runner.hpp"
#include "process/process.hpp"
#include "plugins/recording_test_support.hpp"
#include "privileged.hpp"
#include "topology/command.hpp"

namespace tempos::testkit {
namespace {

using namespace std::chrono_literals;

using tempos::test::build_dir;
using tempos::test::free_udp_port;

Process run(const std::vector<std::string>& argv, ProcessOptions options = {}) {
    Result<Process> p = Process::start(argv, std::move(options));
    EXPECT_TRUE(p) << p.message();
    return p ? std::move(*p) : Process();
}

TEST(Process, ReportsTheExitStatusAndTheOutput) {
    Process p = run({"sh", "-c", "echo out; echo err >&2; exit 3"});
    const Result<int> status = p.wait(10s);
    ASSERT_TRUE(status) << status.message();
    EXPECT_EQ(*status, 3);
    EXPECT_EQ(p.output(), "out\n");
    EXPECT_EQ(p.errors(), "err\n");
    EXPECT_EQ(p.how_it_ended(), "exited with status 3");
    EXPECT_FALSE(p.running());
}

TEST(Process, ASignalEndsItWith128PlusTheSignal) {
    Process p = run({"sleep", "60"});
    ASSERT_TRUE(p.running());
    ASSERT_TRUE(p.signal(SIGTERM));
    const Result<int> status = p.wait(10s);
    ASSERT_TRUE(status) << status.message();
    EXPECT_EQ(*status, 128 + SIGTERM);
    EXPECT_FALSE(p.signal(SIGTERM)) << "signalling an ended process is an error";
}

TEST(Process, AWaitThatTimesOutIsAnErrorAndTheProcessKeepsRunning) {
    Process p = run({"sleep", "60"});
    EXPECT_FALSE(p.wait(50ms));
    EXPECT_TRUE(p.running());
    const Status output = p.wait_for_output("never printed", 100ms);
    EXPECT_FALSE(output);
    EXPECT_NE(output.message().find("within 100 ms"), std::string::npos) << output.message();
    EXPECT_EQ(p.kill_and_reap(), 128 + SIGKILL);
}

TEST(Process, WaitingForOutputEndsWhenItAppearsOrWhenTheProcessEnds) {
    Process talker = run({"sh", "-c", "echo ready; exec sleep 60"});
    EXPECT_TRUE(talker.wait_for_output("ready", 10s));
    Process quitter = run({"sh", "-c", "echo bye >&2; exit 4"});
    const Status awaited = quitter.wait_for_output("ready", 10s);
    ASSERT_FALSE(awaited);
    EXPECT_NE(awaited.message().find("exited with status 4"), std::string::npos) << awaited.message();
    EXPECT_NE(awaited.message().find("bye"), std::string::npos) << "the end of its output: " << awaited.message();
}

TEST(Process, TerminateEscalatesToSigkillWhenSigtermIsIgnored) {
    Process p = run({"sh", "-c", "trap '' TERM; echo trapped; while :; do sleep 0.1; done"});
    ASSERT_TRUE(p.wait_for_output("trapped", 10s));
    const Result<int> status = p.terminate(200ms);
    EXPECT_FALSE(status);
    EXPECT_NE(status.message().find("ignored SIGTERM"), std::string::npos) << status.message();
    EXPECT_FALSE(p.running());
}

TEST(Process, AProgramThatCannotBeExecutedIsAnErrorSayingWhy) {
    const Result<Process> missing = Process::start({"/nonexistent/program"});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.code(), ErrorCode::not_found) << missing.message();
    const TempDir dir;
    const std::filesystem::path script = dir.path() / "script";
    std::ofstream(script) << "#!/bin/sh\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const Result<Process> not_executable = Process::start({script.string()});
    ASSERT_FALSE(not_executable);
    EXPECT_EQ(not_executable.code(), ErrorCode::permission_denied) << not_executable.message();
    EXPECT_NE(not_executable.message().find("Permission denied"), std::string::npos) << not_executable.message();
}

TEST(Process, TheChildGetsTheExtraEnvironmentAndTheCpu) {
    Process p = run({"sh", "-c", "echo \"$TESTKIT_PROBE\"; grep Cpus_allowed_list /proc/self/status"},
                    {.cpu = 0, .env = {"TESTKIT_PROBE=42"}});
    ASSERT_TRUE(p.wait(10s));
    EXPECT_NE(p.output().find("42\n"), std::string::npos) << p.output();
    EXPECT_NE(p.output().find("Cpus_allowed_list:\t0\n"), std::string::npos) << p.output();
}

TEST(Process, OneFileForBothStreams) {
    const TempDir dir;
    const std::filesystem::path log = dir.path() / "log";
    Process p = run({"sh", "-c", "echo one; echo two >&2"}, {.stdout_file = log, .stderr_file = log});
    ASSERT_TRUE(p.wait(10s));
    EXPECT_EQ(read_text(log), "one\ntwo\n");
    EXPECT_EQ(p.output_tail(1), "two\n");
}

TEST(Process, TheDestructorKillsTheChild) {
    pid_t pid = -1;
    {
        Process p = run({"sleep", "60"});
        pid = p.pid();
        ASSERT_GT(pid, 0);
    }
    EXPECT_NE(::kill(pid, 0), 0) << "pid " << pid << " still exists";
}

TEST(Process, FindsProgramsAndTheExecutablesDirectory) {
    const Result<std::filesystem::path> sh = find_program("sh");
    ASSERT_TRUE(sh) << sh.message();
    EXPECT_EQ(sh->filename(), "sh");
    EXPECT_FALSE(find_program("no-such-program-tempos"));
    EXPECT_TRUE(std::filesystem::exists(executable_dir() / "process_test"));
}

TEST(ControllerConfig, WritesTheFormOfEachEndpointAndGroup) {
    ControllerConfig c;
    c.mom.listen = "127.0.0.1:9998";
    c.adapters.push_back(xdp_adapter("generic"));
    c.topics.push_back({1, "strict", {{{"10.0.0.1", 9000, ""}, {"10.0.0.2", 0, "02:00:00:00:00:02"}}}});
    c.topics.push_back({2, "best-effort", {{{"10.0.0.3", 9001, ""}}, {{"10.0.0.4", 9002, "02:00:00:00:00:04"}}}});
    EXPECT_EQ(c.text(),
              "[mom]\nlisten = \"127.0.0.1:9998\"\n\n"
              "[[adapters]]\nname = \"xdp\"\nlibrary = \"libxdp_adapter.so\"\nxdp_mode = \"generic\"\n\n"
              "[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [\n  \"10.0.0.1:9000\",\n"
              "  { ip = \"10.0.0.2\", mac = \"02:00:00:00:00:02\" },\n]\n\n"
              "[[topics]]\nid = 2\nqos = \"best-effort\"\n"
              "  [[topics.groups]]\n  subscribers = [\n    \"10.0.0.3:9001\",\n  ]\n"
              "  [[topics.groups]]\n  subscribers = [\n    { ip = \"10.0.0.4\", port = 9002, mac = \"02:00:00:00:00:04\" },\n  ]\n\n");
    EXPECT_EQ(line_starting_with(c.text(), "id = 2"), 18);
}

TEST(ControllerConfig, ParsesTheCommandLinesFormOfAnEndpoint) {
    // Port 0: none given (the [mom] listen port applies).
    const struct {
        const char* text;
        ConfigEndpoint endpoint;
    } parsed[] = {
        {"10.0.0.1:9998@02:00:00:00:00:01", {"10.0.0.1", 9998, "02:00:00:00:00:01"}},
        {"10.0.0.1@02:00:00:00:00:01", {"10.0.0.1", 0, "02:00:00:00:00:01"}},
        {"[fd77::11]:9998@02:00:00:00:00:01", {"fd77::11", 9998, "02:00:00:00:00:01"}},
        {"fd77::11@02:00:00:00:00:01", {"fd77::11", 0, "02:00:00:00:00:01"}},
    };
    for (const auto& c : parsed) {
        const Result<ConfigEndpoint> endpoint = parse_endpoint(c.text);
        ASSERT_TRUE(endpoint) << c.text << ": " << endpoint.message();
        EXPECT_EQ(endpoint->ip, c.endpoint.ip) << c.text;
        EXPECT_EQ(endpoint->port, c.endpoint.port) << c.text;
        EXPECT_EQ(endpoint->mac, c.endpoint.mac) << c.text;
    }
    for (const char* refused : {"10.0.0.1", "10.0.0.1:70000", "fd77::11", "[fd77::11"})
        EXPECT_FALSE(parse_endpoint(refused)) << refused;
    EXPECT_EQ(topic_toml({1, "best-effort", {{{"fd77::11", 9998, ""}, {"fd77::12", 0, "02:00:00:00:00:02"}}}}),
              "[[topics]]\nid = 1\nqos = \"best-effort\"\nsubscribers = [\n  \"[fd77::11]:9998\",\n"
              "  { ip = \"fd77::12\", mac = \"02:00:00:00:00:02\" },\n]\n\n");
}

// Every form the writer produces, as tempos-mom reads it: --check accepts the file.
TEST(ControllerConfig, TempoMomChecksAWrittenConfigAsValid) {
    ControllerConfig c;
    c.mom = {.listen = "127.0.0.1:9998", .interface = "lo", .metrics = "127.0.0.1:9100", .sq_priority = 10,
             .receive_buffer = 1 << 20};
    c.adapters.push_back(xdp_adapter("off"));
    c.topics.push_back({1, "strict", {{{"127.0.0.1", 9000, ""}, {"127.0.0.2", 0, "02:00:00:00:00:02"}}}});
    c.topics.push_back({2, "best-effort", {{{"127.0.0.3", 9001, ""}}, {{"127.0.0.4", 9002, "02:00:00:00:00:04"}}}});
    const TempDir dir;
    const std::filesystem::path file = dir.path() / "mom.toml";
    ASSERT_TRUE(c.write(file));
    Process check = run({(build_dir() / "bin" / "tempos-mom").string(), "--config", file.string(), "--check"});
    const Result<int> status = check.wait(30s);
    ASSERT_TRUE(status) << status.message();
    EXPECT_EQ(*status, 0) << check.errors() << "\n" << c.text();
    EXPECT_NE(check.output().find("OK"), std::string::npos) << check.output();
}

ControllerConfig recording_config(std::uint16_t port, std::uint16_t metrics_port, const std::filesystem::path& record) {
    ControllerConfig c;
    c.mom.listen = "127.0.0.1:" + std::to_string(port);
    c.mom.metrics = "127.0.0.1:" + std::to_string(metrics_port);
    c.mom.sq_priority = 10;
    c.adapters.push_back({"recording", "librecording_adapter.so", true, {{"record_file", record.string()}}});
    c.topics.push_back({1, "best-effort", {{{"127.0.0.1", 19001, ""}}}});
    return c;
}

MomOptions recording_options() {
    return {.binary = build_dir() / "bin" / "tempos-mom", .args = {"--plugin-dir", (build_dir() / "lib").string()}};
}

// Ready means bound: a datagram sent right after start() reaches its socket, which the namespace's Udp
// InDatagrams counts, and /metrics counts the event.
TEST(MomRunner, IsReadyWhenStartReturnsAndServesMetrics) {
    const TempDir dir;
    const std::uint16_t port = free_udp_port();
    Result<MomRunner> mom = MomRunner::start(recording_config(port, free_udp_port(), dir.path() / "record"),
                                             recording_options());
    ASSERT_TRUE(mom) << mom.message();
    EXPECT_TRUE(udp_port_bound(mom->pid(), port));
    const Result<std::uint64_t> before = mom->udp_in_datagrams();
    ASSERT_TRUE(before) << before.message();

    ASSERT_TRUE(tempos::test::send_udp(port, {1, 0x42}));

    double received = 0;
    std::string text;
    EXPECT_TRUE(poll_until(
        [&] {
            Result<std::string> metrics = mom->scrape_metrics();
            text = metrics ? *metrics : metrics.message();
            received = metrics ? sum_metric(*metrics, "tempos_events_received_total", {{"topic", "1"}}) : 0;
            return received == 1;
        },
        10s))
        << text;
    const Result<std::uint64_t> after = mom->udp_in_datagrams();
    ASSERT_TRUE(after) << after.message();
    EXPECT_GE(*after - *before, 1u);
    EXPECT_TRUE(mom->reload());
    EXPECT_TRUE(mom->process().wait_for_output("reload", 10s));
    EXPECT_TRUE(mom->stop()) << mom->log_tail();
}

TEST(MomRunner, AMomThatExitsDuringStartIsAnErrorWithItsLog) {
    ControllerConfig c = recording_config(free_udp_port(), 0, "/nonexistent/record");
    c.mom.metrics.clear();
    c.adapters.front().library = "libnot_there.so";
    const Result<MomRunner> mom = MomRunner::start(c, recording_options());
    ASSERT_FALSE(mom);
    EXPECT_NE(mom.message().find("exited with status 1"), std::string::npos) << mom.message();
    EXPECT_NE(mom.message().find("libnot_there.so"), std::string::npos) << mom.message();
}

TEST(Metrics, SumsTheSamplesOfOneNameWithTheGivenLabels) {
    const std::string text =
        "# HELP tempos_sent_total sent\n# TYPE tempos_sent_total counter\n"
        "tempos_sent_total{path=\"sq\",topic=\"1\"} 3\ntempos_sent_total{path=\"bq\",topic=\"1\"} 4\n"
        "tempos_sent_total{path=\"sq\",topic=\"2\"} 5\ntempos_sent_totals 100\ntempos_up 1\n";
    EXPECT_EQ(sum_metric(text, "tempos_sent_total"), 12);
    EXPECT_EQ(sum_metric(text, "tempos_sent_total", {{"topic", "1"}}), 7);
    EXPECT_EQ(sum_metric(text, "tempos_sent_total", {{"path", "sq"}, {"topic", "2"}}), 5);
    EXPECT_EQ(sum_metric(text, "tempos_up"), 1);
    EXPECT_EQ(sum_metric(text, "tempos_absent"), 0);
}

// A namespace of its own: the child's network namespace is the one named, its loopback the only interface.
TEST(Process, RunsInANamedNetworkNamespace) {
    TEMPOS_REQUIRE_PRIVILEGED();
    const std::string ns = "tempos-proc-" + std::to_string(::getpid());
    ASSERT_EQ(run_command({"ip", "netns", "add", ns}).message(), "");
    struct Remove {
        std::string ns;
        ~Remove() { (void)run_command({"ip", "netns", "del", ns}); }
    } remove{ns};
    Process p = run({"sh", "-c", "readlink /proc/self/ns/net; cat /proc/net/dev"}, {.netns = ns});
    ASSERT_TRUE(p.wait(10s));
    struct stat ns_file {};
    ASSERT_EQ(::stat(("/run/netns/" + ns).c_str(), &ns_file), 0);
    EXPECT_NE(p.output().find("net:[" + std::to_string(ns_file.st_ino) + "]"), std::string::npos) << p.output();
    EXPECT_EQ(p.output().find("eth"), std::string::npos) << "only lo in a new namespace: " << p.output();
}

// Held sockets (a restart's listening sockets): both families, each bound to the address, and `::` dual-stack as
// [mom]'s default, which tempos-mom's adoption checks (Linux makes a socket bound to any other IPv6 address
// IPv6-only).
TEST(HeldSockets, BindsTheListenAddressOfEitherFamilyWithReusePort) {
    for (const std::string host : {"127.0.0.1", "[::1]", "[::]"}) {
        const std::string listen = host + ":" + std::to_string(free_udp_port());
        Result<std::vector<UniqueFd>> sockets = bind_listen_sockets("", listen, 2);
        ASSERT_TRUE(sockets) << listen << ": " << sockets.message();
        ASSERT_EQ(sockets->size(), 2u);
        for (const UniqueFd& fd : *sockets) {
            sockaddr_storage bound{};
            socklen_t length = sizeof bound;
            int reuse_port = 0;
            socklen_t reuse_length = sizeof reuse_port;
            ASSERT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length), 0);
            EXPECT_EQ(bound.ss_family, host.starts_with('[') ? AF_INET6 : AF_INET) << listen;
            ASSERT_EQ(::getsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &reuse_port, &reuse_length), 0);
            EXPECT_EQ(reuse_port, 1) << listen;
            if (bound.ss_family != AF_INET6) continue;
            int only = -1;
            socklen_t only_length = sizeof only;
            ASSERT_EQ(::getsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &only, &only_length), 0);
            EXPECT_EQ(only, host == "[::]" ? 0 : 1) << listen;
        }
    }
    EXPECT_FALSE(bind_listen_sockets("", "localhost:9998", 2)) << "a name is not an address";
}

}  // namespace
}  // namespace tempos::testkit
