// tempos-mom as a process: CLI, --check, start-up errors, and a full run on loopback with the recording
// adapter (events in, send() calls out, SIGHUP reload, SIGTERM exit).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "plugins/recording_test_support.hpp"
#include "tempos/adapter.hpp"

namespace {

using tempos::test::build_dir;
using tempos::test::count_records;
using tempos::test::read_records;
using tempos::test::records_with;
using tempos::test::send_udp;
using tempos::test::wait_until;

std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::filesystem::path source_dir() {
    std::ifstream cache(build_dir() / "CMakeCache.txt");
    const std::string key = "CMAKE_HOME_DIRECTORY:INTERNAL=";
    for (std::string line; std::getline(cache, line);)
        if (line.rfind(key, 0) == 0) return line.substr(key.size());
    return {};
}

// One tempos-mom child process; killed and reaped by the destructor if still running.
class MomProcess {
public:
    MomProcess(const std::vector<std::string>& args, const std::filesystem::path& out_dir)
        : stdout_file_(out_dir / "stdout.txt"), stderr_file_(out_dir / "stderr.txt") {
        const std::string binary = (build_dir() / "bin" / "tempos-mom").string();
        std::vector<std::string> argv_storage{binary};
        argv_storage.insert(argv_storage.end(), args.begin(), args.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            const int out = ::open(stdout_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int err = ::open(stderr_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(out, STDOUT_FILENO);
            ::dup2(err, STDERR_FILENO);
            std::vector<char*> argv;
            for (auto& a : argv_storage) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(binary.c_str(), argv.data());
            ::_exit(127);
        }
    }
    ~MomProcess() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    bool signal(int signo) const { return ::kill(pid_, signo) == 0; }
    // Waits (bounded) for the process to end; its exit code, or -1 if it did not exit normally in time.
    int wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        int status = 0;
        const bool ended = wait_until(
            [&] {
                if (exited_) return true;
                if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                    exited_ = true;
                    status_ = status;
                }
                return exited_;
            },
            limit);
        if (!ended || !WIFEXITED(status_)) return -1;
        return WEXITSTATUS(status_);
    }
    std::string out() const { return slurp(stdout_file_); }
    std::string err() const { return slurp(stderr_file_); }

private:
    std::filesystem::path stdout_file_, stderr_file_;
    pid_t pid_ = -1;
    bool exited_ = false;
    int status_ = 0;
};

class MomProcessTest : public ::testing::Test {
protected:
    tempos::test::TempDir dir;
    std::filesystem::path config_file = dir.path() / "mom.toml";
    std::filesystem::path record_file = dir.path() / "record.log";
    std::uint16_t port = tempos::test::free_udp_port();

    void write_config(const std::string& topics, const std::string& library = "librecording_adapter.so") {
        std::ofstream(config_file) << "[mom]\nlisten = \"127.0.0.1:" << port << "\"\nsq_priority = 10\n\n"
                                   << "[[adapters]]\nname = \"recording\"\nlibrary = \"" << library << "\"\n"
                                   << "record_file = \"" << record_file.string() << "\"\n\n"
                                   << topics;
    }
    std::vector<std::string> run_args() const {
        return {"--config", config_file.string(), "--plugin-dir", (build_dir() / "lib").string(), "--log-level",
                "debug"};
    }
};

const std::string kTopicOne =
    "[[topics]]\nid = 1\nqos = \"strict\"\nsubscribers = [\"127.0.0.1:19001\", \"127.0.0.1:19002\"]\n\n";
const std::string kTopicTwo =
    "[[topics]]\nid = 2\nqos = \"best-effort\"\nsubscribers = [\"127.0.0.1:19011\"]\n\n";

TEST_F(MomProcessTest, HelpDocumentsEveryOption) {
    MomProcess mom({"--help"}, dir.path());
    ASSERT_EQ(mom.wait_exit(), 0) << mom.err();
    for (const char* option : {"--config", "--check", "--plugin-dir", "--log-level", "--version"})
        EXPECT_NE(mom.out().find(option), std::string::npos) << option << " missing from:\n" << mom.out();
}

TEST_F(MomProcessTest, VersionNamesTheReleaseAndTheAdapterAbi) {
    MomProcess mom({"--version"}, dir.path());
    ASSERT_EQ(mom.wait_exit(), 0) << mom.err();
    EXPECT_EQ(mom.out(), "tempos-mom " TEMPOS_VERSION " (adapter ABI " + std::to_string(tempos::kAdapterAbiVersion) +
                             ")\n");
}

TEST_F(MomProcessTest, CheckAcceptsAValidConfig) {
    write_config(kTopicOne);
    MomProcess mom({"--config", config_file.string(), "--check"}, dir.path());
    EXPECT_EQ(mom.wait_exit(), 0) << mom.err();
    EXPECT_NE(mom.out().find("OK"), std::string::npos);
    EXPECT_NE(mom.out().find("the enabled adapters accept them"), std::string::npos) << mom.out();
    EXPECT_FALSE(std::filesystem::exists(record_file)) << "--check must not connect adapters";
}

// --check loads the adapters (never connecting them) and reports an adapter's refusal at the file:line of
// what it refuses, with exit code 2 as for any config error. The recording adapter takes at most 3 groups.
TEST_F(MomProcessTest, CheckReportsATopicAnAdapterRefusesAtTheTopicsLine) {
    write_config(kTopicOne + "[[topics]]\nid = 4\nqos = \"strict\"\ngroups = [\n" +
                 "  { subscribers = [\"127.0.0.1:19021\"] }, { subscribers = [\"127.0.0.1:19022\"] },\n" +
                 "  { subscribers = [\"127.0.0.1:19023\"] }, { subscribers = [\"127.0.0.1:19024\"] },\n]\n");
    const auto text = slurp(config_file);
    const int id_line = static_cast<int>(std::count(text.begin(), text.begin() + text.find("id = 4"), '\n')) + 1;
    MomProcess mom({"--config", config_file.string(), "--check", "--plugin-dir", (build_dir() / "lib").string()},
                   dir.path());
    EXPECT_EQ(mom.wait_exit(), 2) << mom.err();
    EXPECT_NE(mom.err().find(config_file.string() + ":" + std::to_string(id_line) +
                             ": adapter 'recording' refuses topic 4: 4 groups"),
              std::string::npos)
        << "expected line " << id_line << " in: " << mom.err();
    EXPECT_FALSE(std::filesystem::exists(record_file)) << "--check must not connect adapters";
}

TEST_F(MomProcessTest, CheckReportsOptionsAnAdapterRefusesAtTheAdaptersLine) {
    write_config(kTopicOne);
    std::string text = slurp(config_file);
    text.insert(text.find("record_file"), "refuse = \"channel\"\n");
    std::ofstream(config_file) << text;
    const int name_line = static_cast<int>(std::count(text.begin(), text.begin() + text.find("name ="), '\n')) + 1;
    MomProcess mom({"--config", config_file.string(), "--check", "--plugin-dir", (build_dir() / "lib").string()},
                   dir.path());
    EXPECT_EQ(mom.wait_exit(), 2) << mom.err();
    EXPECT_NE(mom.err().find(config_file.string() + ":" + std::to_string(name_line) +
                             ": adapter 'recording' (" + (build_dir() / "lib" / "librecording_adapter.so").string() +
                             ") refuses its options: refuse = channel"),
              std::string::npos)
        << "expected line " << name_line << " in: " << mom.err();
}

TEST_F(MomProcessTest, CheckReportsAnAdapterThatCannotBeLoaded) {
    write_config(kTopicOne, "libnot_there.so");
    MomProcess mom({"--config", config_file.string(), "--check", "--plugin-dir", (build_dir() / "lib").string()},
                   dir.path());
    EXPECT_EQ(mom.wait_exit(), 2);
    EXPECT_NE(mom.err().find(config_file.string() + ":6: adapter 'recording': "), std::string::npos) << mom.err();
    EXPECT_NE(mom.err().find("libnot_there.so"), std::string::npos) << mom.err();
}

// The real adapter's limits, unprivileged: a typo in its options and the kernel fan-out's 16 groups.
TEST_F(MomProcessTest, CheckAppliesTheXdpAdaptersRules) {
    auto check = [&](const std::string& adapter_keys, const std::string& topics) {
        std::ofstream(config_file) << "[mom]\nlisten = \"127.0.0.1:" << port << "\"\ninterface = \"lo\"\n\n"
                                   << "[[adapters]]\nname = \"xdp\"\nlibrary = \"libxdp_adapter.so\"\n"
                                   << adapter_keys << "\n" << topics;
        MomProcess mom({"--config", config_file.string(), "--check"}, dir.path());
        const int code = mom.wait_exit();
        return std::make_pair(code, mom.err());
    };
    const auto [typo_code, typo_err] = check("xdp_mod = \"native\"\n", kTopicOne);
    EXPECT_EQ(typo_code, 2);
    EXPECT_NE(typo_err.find(config_file.string() + ":6: adapter 'xdp'"), std::string::npos) << typo_err;
    EXPECT_NE(typo_err.find("xdp_mod"), std::string::npos) << typo_err;

    std::string groups;
    for (int g = 1; g <= 17; ++g) groups += "  { subscribers = [\"127.0.0.1:" + std::to_string(20000 + g) + "\"] },\n";
    const std::string seventeen = "[[topics]]\nid = 9\nqos = \"strict\"\ngroups = [\n" + groups + "]\n";
    const auto [groups_code, groups_err] = check("", seventeen);
    EXPECT_EQ(groups_code, 2);
    EXPECT_NE(groups_err.find(config_file.string() + ":10: adapter 'xdp' refuses topic 9: "), std::string::npos)
        << groups_err;
    EXPECT_NE(groups_err.find("at most 16"), std::string::npos) << groups_err;
    EXPECT_EQ(check("", kTopicOne).first, 0);
}

TEST_F(MomProcessTest, CheckSkipsDisabledAdapters) {
    write_config(kTopicOne, "libnot_there.so");
    std::string text = slurp(config_file);
    text.insert(text.find("record_file"), "enabled = false\n");
    std::ofstream(config_file) << text;
    MomProcess mom({"--config", config_file.string(), "--check"}, dir.path());
    EXPECT_EQ(mom.wait_exit(), 0) << mom.err();
}

TEST_F(MomProcessTest, CheckAcceptsEverySampleConfig) {
    const auto samples = source_dir() / "config";
    ASSERT_TRUE(std::filesystem::is_directory(samples)) << samples;
    int checked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(samples)) {
        if (entry.path().extension() != ".toml") continue;
        MomProcess mom({"--config", entry.path().string(), "--check"}, dir.path());
        EXPECT_EQ(mom.wait_exit(), 0) << entry.path() << ": " << mom.err();
        ++checked;
    }
    EXPECT_GT(checked, 0);
}

TEST_F(MomProcessTest, CheckRejectsABadConfigWithFileAndLine) {
    write_config(kTopicOne + "[[topics]]\nid = 300\nsubscribers = [\"127.0.0.1:1\"]\n");
    const auto text = slurp(config_file);
    const int bad_line = static_cast<int>(std::count(text.begin(), text.end(), '\n')) - 1;  // the id line
    MomProcess mom({"--config", config_file.string(), "--check"}, dir.path());
    EXPECT_NE(mom.wait_exit(), 0);
    EXPECT_NE(mom.err().find(config_file.string() + ":" + std::to_string(bad_line)), std::string::npos)
        << "expected line " << bad_line << " in: " << mom.err();
}

TEST_F(MomProcessTest, ABadConfigAtStartExitsNonZeroWithFileAndLine) {
    write_config(kTopicOne + "surprise = true\n");
    const auto text = slurp(config_file);
    const int bad_line = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    MomProcess mom(run_args(), dir.path());
    EXPECT_NE(mom.wait_exit(), 0);
    EXPECT_NE(mom.err().find(config_file.string() + ":" + std::to_string(bad_line)), std::string::npos)
        << mom.err();
    EXPECT_FALSE(std::filesystem::exists(record_file));
}

TEST_F(MomProcessTest, AMissingPluginExitsNonZeroNamingIt) {
    write_config(kTopicOne, "libnot_there.so");
    MomProcess mom(run_args(), dir.path());
    EXPECT_EQ(mom.wait_exit(), 1);
    EXPECT_NE(mom.err().find("libnot_there.so"), std::string::npos) << mom.err();
}

TEST_F(MomProcessTest, AnAdapterFailingAtStartIsClosedAndTheExitIsNonZero) {
    write_config(kTopicOne);
    std::string text = slurp(config_file);
    text.insert(text.find("record_file"), "fail_on = \"configure_qos\"\n");
    std::ofstream(config_file) << text;
    MomProcess mom(run_args(), dir.path());
    EXPECT_EQ(mom.wait_exit(), 1);
    EXPECT_NE(mom.err().find("fail_on = configure_qos"), std::string::npos) << mom.err();
    EXPECT_EQ(read_records(record_file).back().verb, "close");
    // The refusal points at the topic in the file: the line of its id.
    const std::size_t id_at = text.find("id = 1");
    const long id_line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(id_at), '\n');
    const std::string where = config_file.filename().string() + ":" + std::to_string(id_line) + ": adapter";
    EXPECT_NE(mom.err().find(where), std::string::npos) << where << "\n" << mom.err();
}

// At start an adapter that refuses to connect is reported at the line of its name, like --check does.
TEST_F(MomProcessTest, AnAdapterRefusingToConnectIsReportedAtItsLine) {
    write_config(kTopicOne);
    std::string text = slurp(config_file);
    text.insert(text.find("record_file"), "refuse = \"channel\"\n");
    std::ofstream(config_file) << text;
    MomProcess mom(run_args(), dir.path());
    EXPECT_EQ(mom.wait_exit(), 1);
    const long name_line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(text.find("name =")), '\n');
    const std::string where = config_file.string() + ":" + std::to_string(name_line) + ": adapter 'recording' (";
    EXPECT_NE(mom.err().find(where), std::string::npos) << where << "\n" << mom.err();
    EXPECT_NE(mom.err().find(") refused to connect: refuse = channel"), std::string::npos) << mom.err();
}

TEST_F(MomProcessTest, DeliversEventsReloadsOnSighupAndExitsZeroOnSigterm) {
    write_config(kTopicOne);
    MomProcess mom(run_args(), dir.path());
    // Topics are configured before the receiver starts, and the socket is bound before that.
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "configure_qos", "1") == 1; })) << mom.err();

    for (std::uint8_t i = 0; i < 4; ++i) ASSERT_TRUE(send_udp(port, {1, i}));
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "send", "1") == 4; })) << mom.err();
    const auto sent = records_with(read_records(record_file), "send");
    EXPECT_EQ(sent[0]["member"], "127.0.0.1:19001");
    EXPECT_EQ(sent[1]["member"], "127.0.0.1:19002");
    EXPECT_EQ(sent[2]["member"], "127.0.0.1:19001");
    EXPECT_EQ(sent[0]["thread"], "tempos-sq");

    // Topic 2 is unknown until the reload.
    write_config(kTopicOne + kTopicTwo);
    ASSERT_TRUE(mom.signal(SIGHUP));
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "configure_qos", "2") == 1; })) << mom.err();
    EXPECT_EQ(count_records(record_file, "configure_qos", "1"), 1u) << "unchanged topic reconfigured";
    ASSERT_TRUE(send_udp(port, {2, 0x77}));
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "send", "2") == 1; })) << mom.err();
    EXPECT_EQ(records_with(read_records(record_file), "send").back()["thread"], "tempos-bq");

    // A broken file on SIGHUP: logged, running config kept.
    std::ofstream(config_file, std::ios::app) << "oops = [\n";
    ASSERT_TRUE(mom.signal(SIGHUP));
    ASSERT_TRUE(wait_until([&] { return mom.err().find("reload refused") != std::string::npos; })) << mom.err();
    ASSERT_TRUE(send_udp(port, {2, 0x78}));
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "send", "2") == 2; })) << mom.err();

    const auto before_term = std::chrono::steady_clock::now();
    ASSERT_TRUE(mom.signal(SIGTERM));
    EXPECT_EQ(mom.wait_exit(), 0) << mom.err();
    const auto exit_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - before_term);
    RecordProperty("sigterm_to_exit_ms", static_cast<int>(exit_ms.count()));
    std::cout << "SIGTERM to exit: " << exit_ms.count() << " ms\n";
    EXPECT_EQ(read_records(record_file).back().verb, "close");
}

TEST_F(MomProcessTest, ExitsZeroOnSigint) {
    write_config(kTopicOne);
    MomProcess mom(run_args(), dir.path());
    ASSERT_TRUE(wait_until([&] { return count_records(record_file, "configure_qos", "1") == 1; })) << mom.err();
    ASSERT_TRUE(mom.signal(SIGINT));
    EXPECT_EQ(mom.wait_exit(), 0) << mom.err();
    EXPECT_EQ(read_records(record_file).back().verb, "close");
}

}  // namespace
