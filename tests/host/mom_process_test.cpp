// tempos-mom as a process: CLI, --check, start-up errors, and a full run on loopback with the recording
// adapter (events in, send() calls out, SIGHUP reload, SIGTERM exit).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <set>
#include <tuple>

#include <gtest/gtest.h>

#include "config.hpp"
#include "plugins/recording_test_support.hpp"
#include "process/controller_config.hpp"
#include "process/mom_runner.hpp"
#include "tempos/adapter.hpp"

namespace {

using namespace tempos::test;  // build_dir, the recording adapter's records, send_udp, wait_until
using tempos::testkit::ConfigAdapter;
using tempos::testkit::ConfigTopic;
using tempos::testkit::ControllerConfig;
using tempos::testkit::line_starting_with;
using tempos::testkit::MomRunner;
using tempos::testkit::Process;
using tempos::testkit::read_text;
using tempos::testkit::sum_metric;
using tempos::Result;

std::filesystem::path source_dir() {
    std::ifstream cache(build_dir() / "CMakeCache.txt");
    const std::string key = "CMAKE_HOME_DIRECTORY:INTERNAL=";
    for (std::string line; std::getline(cache, line);)
        if (line.rfind(key, 0) == 0) return line.substr(key.size());
    return {};
}

std::filesystem::path mom_binary() { return build_dir() / "bin" / "tempos-mom"; }

// tempos-mom (the build's) with `args`, its stdout and stderr in files of its own; a failed start fails the test.
Process run_mom(const std::vector<std::string>& args) {
    std::vector<std::string> argv{mom_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Result<Process> mom = Process::start(argv);
    EXPECT_TRUE(mom) << mom.message();
    return mom ? std::move(*mom) : Process();
}

// Its exit status once it ended (waited for 10 s at most), -1 if it did not end in time.
int exit_status(Process& mom) {
    const Result<int> status = mom.wait(std::chrono::seconds(10));
    return status ? *status : -1;
}

ConfigTopic topic_one() {
    return {1, "strict", {{{"127.0.0.1", 19001, ""}, {"127.0.0.1", 19002, ""}}}};
}
ConfigTopic topic_two() { return {2, "best-effort", {{{"127.0.0.1", 19011, ""}}}}; }

class MomProcessTest : public ::testing::Test {
protected:
    tempos::test::TempDir dir;
    std::filesystem::path config_file = dir.path() / "mom.toml";
    std::filesystem::path record_file = dir.path() / "record.log";
    std::uint16_t port = tempos::test::free_udp_port();

    // The recording adapter (`library`) recording to record_file with `options` first, and `topics`.
    ControllerConfig config(const std::vector<ConfigTopic>& topics,
                            const std::vector<std::pair<std::string, std::string>>& options = {},
                            const std::string& library = "librecording_adapter.so") const {
        ControllerConfig c;
        c.mom.listen = "127.0.0.1:" + std::to_string(port);
        c.mom.sq_priority = 10;
        ConfigAdapter adapter{"recording", library, true, options};
        adapter.options.emplace_back("record_file", record_file.string());
        c.adapters.push_back(adapter);
        c.topics = topics;
        return c;
    }
    // config_file's text.
    std::string write_config(const ControllerConfig& c) {
        EXPECT_TRUE(c.write(config_file));
        return read_text(config_file);
    }
    std::string write_config(const std::vector<ConfigTopic>& topics) { return write_config(config(topics)); }
    std::vector<std::string> run_args() const {
        return {"--config", config_file.string(), "--plugin-dir", (build_dir() / "lib").string(), "--log-level",
                "debug"};
    }
    // tempos-mom running config_file with the recording adapter, ready (see MomRunner::start).
    MomRunner start_mom() {
        Result<MomRunner> mom = MomRunner::start(
            config_file, {.binary = mom_binary(), .args = {"--plugin-dir", (build_dir() / "lib").string()},
                          .log_level = "debug"});
        EXPECT_TRUE(mom) << mom.message();
        return mom ? std::move(*mom) : MomRunner();
    }
};

TEST_F(MomProcessTest, HelpDocumentsEveryOption) {
    Process mom = run_mom({"--help"});
    ASSERT_EQ(exit_status(mom), 0) << mom.errors();
    for (const char* option : {"--config", "--check", "--plugin-dir", "--log-level", "--version"})
        EXPECT_NE(mom.output().find(option), std::string::npos) << option << " missing from:\n" << mom.output();
}

TEST_F(MomProcessTest, VersionNamesTheReleaseAndTheAdapterAbi) {
    Process mom = run_mom({"--version"});
    ASSERT_EQ(exit_status(mom), 0) << mom.errors();
    EXPECT_EQ(mom.output(), "tempos-mom " TEMPOS_VERSION " (adapter ABI " + std::to_string(tempos::kAdapterAbiVersion) +
                                ")\n");
}

TEST_F(MomProcessTest, CheckAcceptsAValidConfig) {
    write_config({topic_one()});
    Process mom = run_mom({"--config", config_file.string(), "--check"});
    EXPECT_EQ(exit_status(mom), 0) << mom.errors();
    EXPECT_NE(mom.output().find("OK"), std::string::npos);
    EXPECT_NE(mom.output().find("the enabled adapters accept them"), std::string::npos) << mom.output();
    EXPECT_FALSE(std::filesystem::exists(record_file)) << "--check must not connect adapters";
}

// --check loads the adapters (never connecting them) and reports an adapter's refusal at the file:line of
// what it refuses, with exit code 2 as for any config error. The recording adapter takes at most 3 groups.
TEST_F(MomProcessTest, CheckReportsATopicAnAdapterRefusesAtTheTopicsLine) {
    ConfigTopic four_groups{4, "strict", {}};
    for (std::uint16_t port : {19021, 19022, 19023, 19024}) four_groups.groups.push_back({{"127.0.0.1", port, ""}});
    const std::string text = write_config({topic_one(), four_groups});
    const int id_line = line_starting_with(text, "id = 4");
    Process mom = run_mom({"--config", config_file.string(), "--check", "--plugin-dir", (build_dir() / "lib").string()});
    EXPECT_EQ(exit_status(mom), 2) << mom.errors();
    EXPECT_NE(mom.errors().find(config_file.string() + ":" + std::to_string(id_line) +
                                ": adapter 'recording' refuses topic 4: 4 groups"),
              std::string::npos)
        << "expected line " << id_line << " in: " << mom.errors();
    EXPECT_FALSE(std::filesystem::exists(record_file)) << "--check must not connect adapters";
}

TEST_F(MomProcessTest, CheckReportsOptionsAnAdapterRefusesAtTheAdaptersLine) {
    const std::string text = write_config(config({topic_one()}, {{"refuse", "channel"}}));
    const int name_line = line_starting_with(text, "name = ");
    Process mom = run_mom({"--config", config_file.string(), "--check", "--plugin-dir", (build_dir() / "lib").string()});
    EXPECT_EQ(exit_status(mom), 2) << mom.errors();
    EXPECT_NE(mom.errors().find(config_file.string() + ":" + std::to_string(name_line) +
                                ": adapter 'recording' (" + (build_dir() / "lib" / "librecording_adapter.so").string() +
                                ") refuses its options: refuse = channel"),
              std::string::npos)
        << "expected line " << name_line << " in: " << mom.errors();
}

TEST_F(MomProcessTest, CheckReportsAnAdapterThatCannotBeLoaded) {
    const std::string text = write_config(config({topic_one()}, {}, "libnot_there.so"));
    const int name_line = line_starting_with(text, "name = ");
    Process mom = run_mom({"--config", config_file.string(), "--check", "--plugin-dir", (build_dir() / "lib").string()});
    EXPECT_EQ(exit_status(mom), 2);
    EXPECT_NE(mom.errors().find(config_file.string() + ":" + std::to_string(name_line) + ": adapter 'recording': "),
              std::string::npos)
        << mom.errors();
    EXPECT_NE(mom.errors().find("libnot_there.so"), std::string::npos) << mom.errors();
}

// The real adapter's limits, unprivileged: a typo in its options and the kernel fan-out's 16 groups.
TEST_F(MomProcessTest, CheckAppliesTheXdpAdaptersRules) {
    // Exit code, stderr and the config's text.
    auto check = [&](const std::vector<std::pair<std::string, std::string>>& options, const ConfigTopic& topic) {
        ControllerConfig c;
        c.mom.listen = "127.0.0.1:" + std::to_string(port);
        c.mom.interface = "lo";
        c.adapters.push_back({"xdp", "libxdp_adapter.so", true, options});
        c.topics = {topic};
        const std::string text = write_config(c);
        Process mom = run_mom({"--config", config_file.string(), "--check"});
        const int code = exit_status(mom);
        return std::make_tuple(code, mom.errors(), text);
    };
    // Refused with exit code 2, "CONFIG:LINE: <says>" at the line starting with `line_start`, naming `detail`.
    auto expect_refused = [&](const auto& checked, const std::string& line_start, const std::string& says,
                              const std::string& detail) {
        SCOPED_TRACE(says);
        const auto& [code, err, text] = checked;
        EXPECT_EQ(code, 2);
        const std::string where = config_file.string() + ":" + std::to_string(line_starting_with(text, line_start));
        EXPECT_NE(err.find(where + ": " + says), std::string::npos) << err;
        EXPECT_NE(err.find(detail), std::string::npos) << err;
    };
    expect_refused(check({{"xdp_mod", "native"}}, topic_one()), "name = ", "adapter 'xdp'", "xdp_mod");

    ConfigTopic seventeen{9, "strict", {}};
    for (int g = 1; g <= 17; ++g) seventeen.groups.push_back({{"127.0.0.1", static_cast<std::uint16_t>(20000 + g), ""}});
    expect_refused(check({}, seventeen), "id = 9", "adapter 'xdp' refuses topic 9: ", "at most 16");
    EXPECT_EQ(std::get<0>(check({}, topic_one())), 0);
}

TEST_F(MomProcessTest, CheckSkipsDisabledAdapters) {
    ControllerConfig c = config({topic_one()}, {}, "libnot_there.so");
    c.adapters.front().enabled = false;
    write_config(c);
    Process mom = run_mom({"--config", config_file.string(), "--check"});
    EXPECT_EQ(exit_status(mom), 0) << mom.errors();
}

TEST_F(MomProcessTest, CheckAcceptsEverySampleConfig) {
    const auto samples = source_dir() / "config";
    ASSERT_TRUE(std::filesystem::is_directory(samples)) << samples;
    // The routes files the samples name ([mom] routes) are checked through those; alone they are no Controller file.
    std::set<std::filesystem::path> routes_files;
    for (const auto& entry : std::filesystem::directory_iterator(samples))
        if (const auto config = tempos::mom::load_config(entry.path()); config && config->routes)
            routes_files.insert(*config->routes);
    int checked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(samples)) {
        if (entry.path().extension() != ".toml" || routes_files.contains(entry.path().lexically_normal())) continue;
        Process mom = run_mom({"--config", entry.path().string(), "--check"});
        EXPECT_EQ(exit_status(mom), 0) << entry.path() << ": " << mom.errors();
        ++checked;
    }
    EXPECT_GT(checked, 0);
}

TEST_F(MomProcessTest, CheckRejectsABadConfigWithFileAndLine) {
    const std::string text = write_config({topic_one(), ConfigTopic{300, "strict", {{{"127.0.0.1", 1, ""}}}}});
    const int bad_line = line_starting_with(text, "id = 300");
    Process mom = run_mom({"--config", config_file.string(), "--check"});
    EXPECT_NE(exit_status(mom), 0);
    EXPECT_NE(mom.errors().find(config_file.string() + ":" + std::to_string(bad_line)), std::string::npos)
        << "expected line " << bad_line << " in: " << mom.errors();
}

TEST_F(MomProcessTest, ABadConfigAtStartExitsNonZeroWithFileAndLine) {
    write_config({topic_one()});
    std::ofstream(config_file, std::ios::app) << "surprise = true\n";
    const auto text = read_text(config_file);
    const int bad_line = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    Process mom = run_mom(run_args());
    EXPECT_NE(exit_status(mom), 0);
    EXPECT_NE(mom.errors().find(config_file.string() + ":" + std::to_string(bad_line)), std::string::npos)
        << mom.errors();
    EXPECT_FALSE(std::filesystem::exists(record_file));
}

TEST_F(MomProcessTest, AMissingPluginExitsNonZeroNamingIt) {
    write_config(config({topic_one()}, {}, "libnot_there.so"));
    Process mom = run_mom(run_args());
    EXPECT_EQ(exit_status(mom), 1);
    EXPECT_NE(mom.errors().find("libnot_there.so"), std::string::npos) << mom.errors();
}

TEST_F(MomProcessTest, AnAdapterFailingAtStartIsClosedAndTheExitIsNonZero) {
    const std::string text = write_config(config({topic_one()}, {{"fail_on", "configure_qos"}}));
    Process mom = run_mom(run_args());
    EXPECT_EQ(exit_status(mom), 1);
    EXPECT_NE(mom.errors().find("fail_on = configure_qos"), std::string::npos) << mom.errors();
    EXPECT_EQ(read_records(record_file).back().verb, "close");
    // The refusal points at the topic in the file: the line of its id.
    const std::string where =
        config_file.filename().string() + ":" + std::to_string(line_starting_with(text, "id = 1")) + ": adapter";
    EXPECT_NE(mom.errors().find(where), std::string::npos) << where << "\n" << mom.errors();
}

// At start an adapter that refuses to connect is reported at the line of its name, like --check does.
TEST_F(MomProcessTest, AnAdapterRefusingToConnectIsReportedAtItsLine) {
    const std::string text = write_config(config({topic_one()}, {{"refuse", "channel"}}));
    Process mom = run_mom(run_args());
    EXPECT_EQ(exit_status(mom), 1);
    const std::string where = config_file.string() + ":" + std::to_string(line_starting_with(text, "name = ")) +
                              ": adapter 'recording' (";
    EXPECT_NE(mom.errors().find(where), std::string::npos) << where << "\n" << mom.errors();
    EXPECT_NE(mom.errors().find(") refused to connect: refuse = channel"), std::string::npos) << mom.errors();
}

TEST_F(MomProcessTest, DeliversEventsReloadsOnSighupAndExitsZeroOnSigterm) {
    write_config({topic_one()});
    MomRunner mom = start_mom();
    // Topics are configured before the receiver starts, and the socket is bound before that.
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "configure_qos", "1") == 1; })) << mom.log();

    for (std::uint8_t i = 0; i < 4; ++i) ASSERT_TRUE(send_udp(port, {1, i}));
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "send", "1") == 4; })) << mom.log();
    const auto sent = records_with(read_records(record_file), "send");
    EXPECT_EQ(sent[0]["member"], "127.0.0.1:19001");
    EXPECT_EQ(sent[1]["member"], "127.0.0.1:19002");
    EXPECT_EQ(sent[2]["member"], "127.0.0.1:19001");
    EXPECT_EQ(sent[0]["thread"], "tempos-sq");

    // Topic 2 is unknown until the reload.
    write_config({topic_one(), topic_two()});
    ASSERT_TRUE(mom.reload());
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "configure_qos", "2") == 1; })) << mom.log();
    EXPECT_EQ(count_records(record_file, "configure_qos", "1"), 1u) << "unchanged topic reconfigured";
    ASSERT_TRUE(send_udp(port, {2, 0x77}));
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "send", "2") == 1; })) << mom.log();
    EXPECT_EQ(records_with(read_records(record_file), "send").back()["thread"], "tempos-bq");

    // A broken file on SIGHUP: logged, running config kept.
    std::ofstream(config_file, std::ios::app) << "oops = [\n";
    ASSERT_TRUE(mom.reload());
    ASSERT_TRUE(wait_until([&] { return mom.log().find("reload refused") != std::string::npos; })) << mom.log();
    ASSERT_TRUE(send_udp(port, {2, 0x78}));
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "send", "2") == 2; })) << mom.log();

    const auto before_term = std::chrono::steady_clock::now();
    ASSERT_TRUE(mom.process().signal(SIGTERM));
    EXPECT_EQ(exit_status(mom.process()), 0) << mom.log();
    const auto exit_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - before_term);
    RecordProperty("sigterm_to_exit_ms", static_cast<int>(exit_ms.count()));
    std::cout << "SIGTERM to exit: " << exit_ms.count() << " ms\n";
    EXPECT_EQ(read_records(record_file).back().verb, "close");
}

// The totals tempos-mom logs for a topic and path as it stops ("final counters: topic T path P: k=v ..."); empty
// when it logged none.
std::map<std::string, std::uint64_t> final_counters(const std::string& log, int topic, const std::string& path) {
    std::map<std::string, std::uint64_t> values;
    const std::string start = "final counters: topic " + std::to_string(topic) + " path " + path + ": ";
    const auto at = log.find(start);
    if (at == std::string::npos) return values;
    std::istringstream fields(log.substr(at + start.size(), log.find('\n', at) - at - start.size()));
    for (std::string field; fields >> field;) {
        const auto eq = field.find('=');
        if (eq != std::string::npos) values[field.substr(0, eq)] = std::stoull(field.substr(eq + 1));
    }
    return values;
}

// SIGTERM while events wait in both queues (the adapter holds every send until the test lets go): events queued
// when the drain starts are still delivered, within drain_timeout.
class MomDrainTest : public MomProcessTest {
protected:
    static constexpr int kEvents = 200;  // per topic, far below the queue's 4096
    std::filesystem::path hold_file = dir.path() / "hold";

    // tempos-mom with drain_timeout `drain`, its adapter held, kEvents of topic 1 (strict) and topic 2
    // (best-effort) received; then SIGTERM, and the hold released once tempos-mom began to drain.
    MomRunner run_until_drained(const std::string& drain) {
        std::ofstream(hold_file) << "held\n";
        ControllerConfig c = config({topic_one(), topic_two()}, {{"hold_file", hold_file.string()}});
        c.mom.metrics = "127.0.0.1:" + std::to_string(free_tcp_port());
        c.mom.drain_timeout = drain;
        write_config(c);
        MomRunner mom = start_mom();
        for (int i = 0; i < kEvents; ++i)
            for (std::uint8_t topic : {1, 2}) EXPECT_TRUE(send_udp(port, {topic, static_cast<std::uint8_t>(i)}));
        EXPECT_TRUE(wait_until([&] {
            const Result<std::string> text = mom.scrape_metrics();
            return text && sum_metric(*text, "tempos_events_received_total") == 2 * kEvents;
        })) << mom.log();
        EXPECT_TRUE(mom.process().signal(SIGTERM));
        EXPECT_TRUE(wait_until([&] { return mom.log().find("draining ") != std::string::npos; })) << mom.log();
        std::filesystem::remove(hold_file);
        EXPECT_EQ(exit_status(mom.process()), 0) << mom.log();
        return mom;
    }
};

TEST_F(MomDrainTest, SigtermSendsWhatIsQueuedWithinTheDrainTimeout) {
    MomRunner mom = run_until_drained("20s");
    for (const auto& [topic, path] : {std::pair{1, "sq"}, std::pair{2, "bq"}}) {
        auto c = final_counters(mom.log(), topic, path);
        ASSERT_FALSE(c.empty()) << mom.log();
        EXPECT_EQ(c["received"], static_cast<std::uint64_t>(kEvents)) << path;
        EXPECT_EQ(c["sent"], static_cast<std::uint64_t>(kEvents)) << path;
        EXPECT_EQ(c["abandoned"], 0u) << path;
        EXPECT_EQ(count_records(record_file, "send", std::to_string(topic)), static_cast<std::size_t>(kEvents));
    }
}

// drain_timeout 0: the sends in progress when SIGTERM came complete, nothing else is sent; every other event is
// counted as abandoned: received = sent + dropped + send errors + abandoned.
TEST_F(MomDrainTest, SigtermCountsWhatTheDrainCouldNotSendAsAbandoned) {
    MomRunner mom = run_until_drained("0ms");
    EXPECT_NE(mom.log().find("event(s) abandoned"), std::string::npos) << mom.log();
    for (const auto& [topic, path] : {std::pair{1, "sq"}, std::pair{2, "bq"}}) {
        auto c = final_counters(mom.log(), topic, path);
        ASSERT_FALSE(c.empty()) << mom.log();
        EXPECT_EQ(c["received"], static_cast<std::uint64_t>(kEvents)) << path;
        EXPECT_EQ(c["received"], c["sent"] + c["dropped"] + c["send_errors"] + c["abandoned"]) << path;
        EXPECT_EQ(c["sent"], 1u) << path << ": only the send held when SIGTERM came";
        EXPECT_EQ(c["abandoned"], static_cast<std::uint64_t>(kEvents - 1)) << path;
        EXPECT_EQ(count_records(record_file, "send", std::to_string(topic)), c["sent"]);
    }
}

// An editor writing the file in place leaves it empty for a moment: a SIGHUP then must not remove every topic.
// Refused (no [mom] table), counted, the running topics kept; the same for a reload naming a subscriber that is the
// MoM itself.
TEST_F(MomProcessTest, EmptyOrSelfLoopingFileOnSighupKeepsTheTopicsAndIsCounted) {
    ControllerConfig c = config({topic_one()});
    c.mom.metrics = "127.0.0.1:" + std::to_string(free_tcp_port());
    write_config(c);
    MomRunner mom = start_mom();
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "configure_qos", "1") == 1; })) << mom.log();
    auto failed_reloads = [&] {
        const Result<std::string> metrics = mom.scrape_metrics();
        return metrics ? tempos::testkit::sum_metric(*metrics, "tempos_reloads_total", {{"result", "failed"}}) : -1.0;
    };
    EXPECT_EQ(failed_reloads(), 0.0);

    std::ofstream(config_file, std::ios::trunc).close();
    ASSERT_TRUE(mom.reload());
    ASSERT_TRUE(wait_until([&] { return failed_reloads() == 1.0; })) << mom.log();
    EXPECT_NE(mom.log().find("no [mom] table"), std::string::npos) << mom.log();
    EXPECT_EQ(count_records(record_file, "remove_topic", "1"), 0u) << "the empty file removed topic 1";
    ASSERT_TRUE(send_udp(port, {1, 0x01}));
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "send", "1") == 1; })) << mom.log();

    ControllerConfig looping = c;
    looping.topics.push_back({2, "best-effort", {{{"127.0.0.1", port, ""}}}});
    write_config(looping);
    ASSERT_TRUE(mom.reload());
    ASSERT_TRUE(wait_until([&] { return failed_reloads() == 2.0; })) << mom.log();
    EXPECT_NE(mom.log().find("is the MoM's own listen endpoint"), std::string::npos) << mom.log();
    EXPECT_EQ(count_records(record_file, "configure_qos", "2"), 0u);
    EXPECT_TRUE(mom.stop()) << mom.log_tail();
}

TEST_F(MomProcessTest, CheckAndStartRefuseASubscriberThatIsTheMomItself) {
    const std::string text = write_config({ConfigTopic{1, "strict", {{{"127.0.0.1", 19001, ""}, {"127.0.0.1", port, ""}}}}});
    const int line = line_starting_with(text, "  \"127.0.0.1:" + std::to_string(port) + "\"");
    ASSERT_GT(line, 0) << text;
    for (bool check : {true, false}) {
        SCOPED_TRACE(check ? "--check" : "start");
        std::vector<std::string> args = run_args();
        if (check) args.push_back("--check");
        Process mom = run_mom(args);
        EXPECT_EQ(exit_status(mom), check ? 2 : 1);
        const std::string where = config_file.string() + ":" + std::to_string(line) + ": topic 1: subscriber 127.0.0.1:" +
                                  std::to_string(port) + " is the MoM's own listen endpoint";
        EXPECT_NE(mom.errors().find(where), std::string::npos) << where << "\n" << mom.errors();
    }
}

TEST_F(MomProcessTest, StartRefusesAFileWithoutMomTable) {
    std::ofstream(config_file) << "[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [\"127.0.0.1:19001\"]\n";
    for (bool check : {true, false}) {
        std::vector<std::string> args = run_args();
        if (check) args.push_back("--check");
        Process mom = run_mom(args);
        EXPECT_EQ(exit_status(mom), 2);
        EXPECT_NE(mom.errors().find(config_file.string() + ": no [mom] table"), std::string::npos) << mom.errors();
    }
}

// A thread that dies ends the process with status 3 and the reason, so Restart=on-failure acts; the faults are
// injected by the test-only build tempos-mom-faults (tests/host/fault_injection.cpp).
TEST_F(MomProcessTest, AThreadThatDiesEndsTheProcessWithStatus3AndTheReason) {
    write_config({topic_one()});
    for (const auto& [fault, reason] : {std::pair{"ingress_poll", "receiver stopped: poll(): "},
                                        std::pair{"dispatcher_loop", "the sq dispatcher stopped: injected fault"}}) {
        SCOPED_TRACE(fault);
        Result<MomRunner> mom = MomRunner::start(
            config_file, {.wrapper = {"/usr/bin/env", std::string("TEMPOS_INJECT_FAULT=") + fault},
                          .binary = TEMPOS_MOM_FAULTS_PATH,
                          .args = {"--plugin-dir", (build_dir() / "lib").string()},
                          .log_level = "debug"});
        ASSERT_TRUE(mom) << mom.message();
        ASSERT_TRUE(send_udp(port, {1, 0x01}));
        EXPECT_EQ(exit_status(mom->process()), 3) << mom->log();
        EXPECT_NE(mom->log().find(reason), std::string::npos) << mom->log();
        EXPECT_EQ(read_records(record_file).back().verb, "close") << "stopped in order";
    }
}

// The same production binary ignores the variable: nothing but the test build can inject a fault.
TEST_F(MomProcessTest, TheProductionBinaryIgnoresFaultInjection) {
    write_config({topic_one()});
    Result<MomRunner> mom = MomRunner::start(
        config_file, {.wrapper = {"/usr/bin/env", "TEMPOS_INJECT_FAULT=ingress_poll"}, .binary = mom_binary(),
                      .args = {"--plugin-dir", (build_dir() / "lib").string()}, .log_level = "debug"});
    ASSERT_TRUE(mom) << mom.message();
    ASSERT_TRUE(send_udp(port, {1, 0x01}));
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "send", "1") == 1; })) << mom->log();
    EXPECT_TRUE(mom->stop()) << mom->log_tail();
}

// A reload that fails half-way and whose undo fails too leaves adapters and running state apart: logged as an
// error and the process exits with status 3 (the supervisor restarts it from the file), never a silent mismatch.
TEST_F(MomProcessTest, AFailedRollbackEndsTheProcessWithStatus3) {
    write_config(config({topic_one()}, {{"fail_topic", "3"}, {"fail_on", "remove_topic"}}));
    MomRunner mom = start_mom();
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "configure_qos", "1") == 1; })) << mom.log();
    // Topic 2 is added, topic 3 refused; removing topic 2 again fails.
    write_config(config({topic_one(), topic_two(), ConfigTopic{3, "best-effort", {{{"127.0.0.1", 19031, ""}}}}},
                        {{"fail_topic", "3"}, {"fail_on", "remove_topic"}}));
    ASSERT_TRUE(mom.reload());
    EXPECT_EQ(exit_status(mom.process()), 3) << mom.log();
    EXPECT_NE(mom.log().find("undoing it failed too"), std::string::npos) << mom.log();
    EXPECT_NE(mom.log().find("[error]"), std::string::npos) << mom.log();
}

TEST_F(MomProcessTest, ExitsZeroOnSigint) {
    write_config({topic_one()});
    MomRunner mom = start_mom();
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "configure_qos", "1") == 1; })) << mom.log();
    ASSERT_TRUE(mom.process().signal(SIGINT));
    EXPECT_EQ(exit_status(mom.process()), 0) << mom.log();
    EXPECT_EQ(read_records(record_file).back().verb, "close");
}

}  // namespace
