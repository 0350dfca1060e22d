// tempos-mom's capabilities once started (docs/install.md), read from /proc/<pid>/task/*/status: every thread but
// the control thread and the neighbour resolver holds none, the resolver keeps CAP_NET_ADMIN and CAP_BPF, and the
// control thread keeps what the XDP adapter names
// (Adapter::capabilities_kept): CAP_BPF with a bpf_link, CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN through libxdp
// (when it has them), nothing with
// xdp_mode off. With what is left a reload still publishes a new kernel route, /metrics still reads every
// counter, and SIGTERM still detaches the router.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "privileged.hpp"
#include "process/controller_config.hpp"
#include "process/mom_runner.hpp"
#include "topology/interface.hpp"
#include "topology/netns.hpp"
#include "topology/private_netns.hpp"

namespace tempos::test {
namespace {

constexpr std::uint64_t kCapBpf = std::uint64_t{1} << CAP_BPF;
constexpr std::uint64_t kCapNetAdmin = std::uint64_t{1} << CAP_NET_ADMIN;
constexpr std::uint64_t kCapSysAdmin = std::uint64_t{1} << CAP_SYS_ADMIN;
// It asks the kernel to resolve neighbours and republishes the routes that depend on them in fresh inner maps.
constexpr std::uint64_t kNeighbourResolverKeeps = kCapNetAdmin | kCapBpf;
// It asks veth peers in other namespaces for their drops (RTM_GETLINK by nsid); nothing else.
constexpr std::uint64_t kVethPeerCountersKeep = kCapNetAdmin;
constexpr const char* kIface = "capx0";

struct TaskCapabilities {
    std::string name;
    std::uint64_t effective = ~std::uint64_t{0};
    std::uint64_t permitted = ~std::uint64_t{0};
};

// Name, CapEff and CapPrm of every thread of `pid`.
std::map<std::string, TaskCapabilities> capabilities_of(pid_t pid) {
    std::map<std::string, TaskCapabilities> tasks;
    std::error_code ignored;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ignored)) {
        TaskCapabilities caps;
        std::ifstream in(task.path() / "status");
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("Name:", 0) == 0) caps.name = line.substr(line.find_first_not_of(" \t", 5));
            if (line.rfind("CapEff:", 0) == 0) caps.effective = std::stoull(line.substr(7), nullptr, 16);
            if (line.rfind("CapPrm:", 0) == 0) caps.permitted = std::stoull(line.substr(7), nullptr, 16);
        }
        tasks[task.path().filename()] = caps;
    }
    return tasks;
}

std::string describe(const std::map<std::string, TaskCapabilities>& tasks) {
    std::string text;
    char line[128];
    for (const auto& [tid, caps] : tasks) {
        std::snprintf(line, sizeof line, "%s (%s): CapEff %#llx CapPrm %#llx\n", tid.c_str(), caps.name.c_str(),
                      static_cast<unsigned long long>(caps.effective), static_cast<unsigned long long>(caps.permitted));
        text += line;
    }
    return text;
}

class MomCapabilities : public ::testing::Test {
protected:
    void SetUp() override {
        TEMPOS_REQUIRE_PRIVILEGED();
        ASSERT_EQ(testkit::enter_private_netns().message(), "");
        ASSERT_EQ(testkit::add_veth_pair({.a = kIface, .b = "capx1", .a_addresses = {"10.0.0.1/24"}}).message(), "");
    }

    // tempos-mom on kIface in generic XDP (or `xdp_mode`), with `options` added to the adapter, one strict topic
    // and /metrics; returns once every thread has dropped to what is expected (bounded wait), failing otherwise.
    void start(const std::string& xdp_mode, const std::vector<std::pair<std::string, std::string>>& options,
               std::uint64_t main_keeps) {
        config_ = testkit::xdp_mom_config("10.0.0.1:9998", kIface, xdp_mode, {strict(1, "10.0.0.2")});
        for (const auto& option : options) config_.adapters.front().options.push_back(option);
        config_.mom.metrics = "127.0.0.1:19998";
        const char* build = std::getenv("TEMPOS_BUILD_DIR");
        ASSERT_NE(build, nullptr);
        Result<testkit::MomRunner> mom =
            testkit::MomRunner::start(config_, {.binary = std::filesystem::path(build) / "bin" / "tempos-mom"});
        ASSERT_TRUE(mom) << mom.message();
        mom_ = std::move(*mom);
        // The threads drop theirs as they start, the control thread after the start: wait until all have.
        std::map<std::string, TaskCapabilities> tasks;
        const std::string main_tid = std::to_string(mom_.pid());
        const bool dropped = testkit::poll_until(
            [&] {
                tasks = capabilities_of(mom_.pid());
                for (const auto& [tid, caps] : tasks) {
                    const std::uint64_t want = tid == main_tid                ? main_keeps
                                               : caps.name == "tempos-neigh" ? kNeighbourResolverKeeps
                                               : caps.name == "tempos-vethpeer" ? kVethPeerCountersKeep
                                                                              : 0;
                    if (caps.effective != want || caps.permitted != want) return false;
                }
                // control, two receivers, two dispatchers, /metrics, and with XDP the address watcher, the
                // neighbour resolver and the veth peer counters
                return tasks.size() >= (xdp_mode == "off" ? 6u : 9u);
            },
            std::chrono::seconds(10));
        ASSERT_TRUE(dropped) << describe(tasks) << mom_.log_tail(20);
        std::printf("%s", describe(tasks).c_str());
    }

    static testkit::ConfigTopic strict(int id, const std::string& ip) {
        return {id, "strict", {{{ip, 7000, "02:00:00:00:00:0" + std::to_string(id)}}}};
    }

    // A reload adding strict topic 2 (a fresh inner route map with XDP) succeeds, and /metrics reads every
    // counter with the capabilities left.
    void reload_and_scrape() {
        config_.topics.push_back(strict(2, "10.0.0.3"));
        ASSERT_TRUE(config_.write(mom_.config_file()));
        ASSERT_TRUE(mom_.reload());
        ASSERT_TRUE(mom_.process().wait_for_output("reload: topic 2 added", std::chrono::seconds(10)))
            << mom_.log_tail(20);
        EXPECT_EQ(mom_.log().find("reload refused"), std::string::npos) << mom_.log_tail(20);
        const Result<std::string> metrics = mom_.scrape_metrics();
        ASSERT_TRUE(metrics) << metrics.message();
        EXPECT_EQ(testkit::sum_metric(*metrics, "tempos_reloads_total", {{"result", "ok"}}), 1) << *metrics;
        EXPECT_NE(metrics->find("topic=\"2\""), std::string::npos) << *metrics;
        EXPECT_EQ(mom_.log().find("unreadable"), std::string::npos) << mom_.log_tail(20);
    }

    // SIGTERM: tempos-mom exits cleanly and its router leaves kIface.
    void stop_and_expect_detached() {
    EXPECT_TRUE(mom_.stop()) << mom_.log_tail();
    const Result<testkit::XdpMode> left = testkit::xdp_mode_of(kIface);
    ASSERT_TRUE(left) << left.message();
    EXPECT_EQ(*left, testkit::XdpMode::none) << "the router is still attached: " << mom_.log_tail(12);
    }

    testkit::ControllerConfig config_;
    testkit::MomRunner mom_;
};

TEST_F(MomCapabilities, WithABpfLinkTheControlThreadKeepsCapBpfOnly) {
    ASSERT_NO_FATAL_FAILURE(start("generic", {}, kCapBpf));
    EXPECT_NE(mom_.log().find("the control thread keeps CAP_BPF\n"), std::string::npos) << mom_.log_tail(20);
    ASSERT_NO_FATAL_FAILURE(reload_and_scrape());
    ASSERT_NO_FATAL_FAILURE(stop_and_expect_detached());
}

// libxdp finds its program by id (CAP_SYS_ADMIN) and detaches it over netlink (CAP_NET_ADMIN) at close: both
// stay, and the router does leave at SIGTERM (with CAP_NET_ADMIN alone it stayed: "couldn't get program fd").
TEST_F(MomCapabilities, ThroughLibxdpTheControlThreadAlsoKeepsNetAdminAndSysAdmin) {
    ASSERT_NO_FATAL_FAILURE(start("generic", {{"xdp_attach", "libxdp"}}, kCapBpf | kCapNetAdmin | kCapSysAdmin));
    ASSERT_NO_FATAL_FAILURE(reload_and_scrape());
    ASSERT_NO_FATAL_FAILURE(stop_and_expect_detached());
}

TEST_F(MomCapabilities, WithXdpOffNoThreadKeepsAny) {
    ASSERT_NO_FATAL_FAILURE(start("off", {}, 0));
    EXPECT_NE(mom_.log().find("the control thread keeps none"), std::string::npos) << mom_.log_tail(20);
    ASSERT_NO_FATAL_FAILURE(reload_and_scrape());
    EXPECT_TRUE(mom_.stop()) << mom_.log_tail();
}

}  // namespace
}  // namespace tempos::test
