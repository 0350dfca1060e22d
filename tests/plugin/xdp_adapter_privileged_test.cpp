// The adapter with the kernel: each test in its own network namespace with a veth pair (xdp0 <-> xdp1).
#include <arpa/inet.h>
#include <fcntl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <chrono>
#include <thread>

#include "adapter_fixture.hpp"
#include "attach_holder.hpp"
#include "pin_set.hpp"
#include "frames/packet_builder.hpp"
#include "frames/prog_test_run.hpp"
#include "privileged.hpp"
#include "tempos/unique_fd.hpp"
#include "process/process.hpp"
#include "topology/command.hpp"
#include "topology/interface.hpp"
#include "topology/netns.hpp"
#include "topology/private_netns.hpp"
#include "topology/topology.hpp"
#include "tempos/xdp_abi.h"
#include "udp_receiver.hpp"

namespace tempos::test {
namespace {

using test::UdpReceiver;

constexpr const char* kIface = "xdp0";
constexpr std::uint16_t kMomPort = 9998;

struct XdpState {
    __u32 prog_id = 0;
    __u8 attach_mode = XDP_ATTACHED_NONE;
};

XdpState xdp_state(const char* iface) {
    LIBBPF_OPTS(bpf_xdp_query_opts, opts);
    XdpState state;
    if (bpf_xdp_query(static_cast<int>(if_nametoindex(iface)), 0, &opts) == 0) {
        state.prog_id = opts.prog_id;
        state.attach_mode = opts.attach_mode;
    }
    return state;
}

// The kernel releases the link when the last fd closes; poll (bounded: 2 s) for it to show.
bool wait_detached(const char* iface) {
    return testkit::poll_until([&] { return xdp_state(iface).prog_id == 0; }, std::chrono::seconds(2));
}

// Ethernet / IPv4 (20 bytes) / UDP (checksum 0) / payload, addressed to the MoM on xdp0.
std::vector<std::uint8_t> event_frame(const Mac& dst_mac, Ipv4 src, Ipv4 dst, std::uint8_t topic) {
    return testkit::PacketBuilder()
        .eth(dst_mac, {0x02, 0xee, 0, 0, 0, 0x01})
        .ipv4(src, dst)
        .ip_id(0)
        .udp(40000, kMomPort)
        .udp_checksum_none()
        .payload({topic, 0xab, 0xcd, 0xef})
        .build();
}

// argv run to its end through the test kit's process runner (bounded at 850 s, within the test's TIMEOUT of
// tests/plugin/CMakeLists.txt): its exit status; the end of its output goes to the test log when it is not 0.
Result<int> exit_status_of(const std::vector<std::string>& argv, std::vector<std::string> env = {}) {
    Result<testkit::Process> child = testkit::Process::start(argv, {.env = std::move(env)});
    if (!child) return child.status();
    const Result<int> status = child->wait(std::chrono::seconds(850));
    if (!status || *status != 0) std::printf("%s\n", child->output_tail(40).c_str());
    return status;
}

// One run of `frame` as if received on `ingress_ifindex` (the test kit's prog_test_run).
Result<testkit::ProgRun> test_run(int prog_fd, const std::vector<std::uint8_t>& frame, int ingress_ifindex) {
    xdp_md ctx{};
    ctx.data_end = static_cast<__u32>(frame.size());
    ctx.ingress_ifindex = static_cast<__u32>(ingress_ifindex);
    return testkit::prog_test_run(prog_fd, frame, testkit::context_bytes(ctx));
}

class XdpAdapterKernel : public LoadedXdpAdapterTest {
protected:
    void SetUp() override {
        TEMPOS_REQUIRE_PRIVILEGED();
        ASSERT_EQ(testkit::enter_private_netns().message(), "");
        ASSERT_EQ(testkit::add_veth_pair({.a = kIface, .b = "xdp1", .a_addresses = {"10.0.0.1/24", "10.1.0.1/24"}})
                      .message(),
                  "");
        ifindex_ = static_cast<int>(if_nametoindex(kIface));
        ASSERT_GT(ifindex_, 0);
        const Result<Mac> mac = testkit::mac_of(kIface);
        ASSERT_TRUE(mac) << mac.message();
        mac_ = *mac;
        LoadedXdpAdapterTest::SetUp();
    }

    Status connect(const std::string& mode, const std::string& iface = kIface,
                   std::map<std::string, std::string> options = {}) {
        return connect_channel(iface, kMomPort, mode, std::move(options));
    }
    // A topic with one member.
    Status route(std::uint8_t topic, Qos qos, const Endpoint& member) {
        return adapter().configure_qos(TopicConfig{topic, qos, {SubscriptionGroup{{member}}}});
    }
    // One run of an event of `topic` from 10.0.0.9 to `dst`, as received on xdp0.
    Result<testkit::ProgRun> run_event(int prog, std::uint8_t topic, Ipv4 dst) {
        return test_run(prog, event_frame(mac_, {10, 0, 0, 9}, dst, topic), ifindex_);
    }
    // The program attached to xdp0, as a fd the test can BPF_PROG_TEST_RUN.
    int attached_program_fd() {
        const XdpState state = xdp_state(kIface);
        return state.prog_id == 0 ? -1 : bpf_prog_get_fd_by_id(state.prog_id);
    }
    // One run of `frame` through the program attached to xdp0, as received there. The test fails unless a program
    // is attached, the run succeeds and returns `action`. The output frame (empty when there was no run).
    std::vector<std::uint8_t> expect_action(const std::vector<std::uint8_t>& frame, int action) {
        const UniqueFd prog(attached_program_fd());
        EXPECT_GE(prog.get(), 0) << "no program attached to " << kIface;
        if (prog.get() < 0) return {};
        const Result<testkit::ProgRun> run = test_run(prog.get(), frame, ifindex_);
        EXPECT_TRUE(run) << run.message();
        if (!run) return {};
        EXPECT_EQ(run->action, action);
        return run->output;
    }
    // The same for an event of `topic` from 10.0.0.9 to `dst`.
    std::vector<std::uint8_t> expect_action(std::uint8_t topic, Ipv4 dst, int action) {
        return expect_action(event_frame(mac_, {10, 0, 0, 9}, dst, topic), action);
    }

    int ifindex_ = 0;
    Mac mac_{};
};

// The mode chosen depends on whether the veth's peer xdp1 runs a native XDP program (plugin/xdp_mode_choice.hpp):
// native XDP_TX into xdp0 is received only then.
struct ModeCase {
    const char* requested;
    bool peer_program;
    const char* reported;
    __u8 attach_mode;
    int warnings;         // native on a veth whose peer cannot receive: one
    const char* log_says;  // a line of the log names the choice and its reason ("" = nothing to check)
};

void PrintTo(const ModeCase& c, std::ostream* os) {
    *os << "xdp_mode=" << c.requested << (c.peer_program ? " with" : " without") << " peer program";
}

class XdpAdapterAttach : public XdpAdapterKernel, public ::testing::WithParamInterface<ModeCase> {};

TEST_P(XdpAdapterAttach, AttachesReportsTheModeAndDetachesOnClose) {
    const ModeCase& c = GetParam();
    if (c.peer_program) {
        ASSERT_EQ(testkit::attach_peer_pass("xdp1").message(), "");
    }
    const Status connected = connect(c.requested);
    ASSERT_TRUE(connected.is_ok()) << connected.message();
    EXPECT_EQ(adapter().stats().mode, c.reported);
    if (*c.log_says) {
        EXPECT_TRUE(sink_->contains(c.log_says)) << sink_->text();
    }
    const XdpState state = xdp_state(kIface);
    EXPECT_NE(state.prog_id, 0u);
    EXPECT_EQ(state.attach_mode, c.attach_mode);
    const Result<std::string> link = testkit::run_command({"ip", "link", "show", "dev", "xdp0"});
    ASSERT_TRUE(link) << link.message();
    EXPECT_NE(link->find("prog/xdp id " + std::to_string(state.prog_id) + " "), std::string::npos) << *link;
    // ip's word for the mode: " xdp " (native) or " xdpgeneric ".
    EXPECT_NE(link->find(c.attach_mode == XDP_ATTACHED_SKB ? " xdpgeneric " : " xdp "), std::string::npos) << *link;
    EXPECT_EQ(sink_->count(spdlog::level::warn), c.warnings) << sink_->text();

    adapter().close();
    EXPECT_TRUE(wait_detached(kIface));
    const Result<std::string> detached = testkit::run_command({"ip", "link", "show", "dev", "xdp0"});
    ASSERT_TRUE(detached) << detached.message();
    EXPECT_EQ(detached->find("prog/xdp"), std::string::npos) << *detached;
    adapter().close();  // idempotent
}

INSTANTIATE_TEST_SUITE_P(Modes, XdpAdapterAttach,
                         ::testing::Values(
                             ModeCase{"native", true, "native", XDP_ATTACHED_DRV, 0, ""},
                             ModeCase{"native", false, "native", XDP_ATTACHED_DRV, 1,
                                      "xdp_mode native on veth xdp0: its peer xdp1 runs no native XDP program"},
                             ModeCase{"generic", false, "generic", XDP_ATTACHED_SKB, 0, ""},
                             ModeCase{"auto", true, "native", XDP_ATTACHED_DRV, 0,
                                      "xdp_mode auto: native on veth xdp0 (its peer xdp1 runs a native XDP program"},
                             ModeCase{"auto", false, "generic", XDP_ATTACHED_SKB, 0,
                                      "xdp_mode auto: generic on veth xdp0: its peer xdp1 runs no native XDP program"}),
                         [](const auto& info) {
                             return std::string(info.param.requested) +
                                    (info.param.peer_program ? "WithPeerProgram" : "WithoutPeerProgram");
                         });

// The loopback device has no native XDP: native is refused, auto falls back to generic.
TEST_F(XdpAdapterKernel, NativeRefusedOnLoopbackAndAutoFallsBackToGeneric) {
    const Status native = connect("native", "lo");
    EXPECT_EQ(native.code(), ErrorCode::unsupported) << native.message();
    EXPECT_EQ(xdp_state("lo").prog_id, 0u);
    const Status automatic = connect("auto", "lo");
    ASSERT_TRUE(automatic.is_ok()) << automatic.message();
    EXPECT_EQ(adapter().stats().mode, "generic");
    EXPECT_EQ(xdp_state("lo").attach_mode, XDP_ATTACHED_SKB);
}

// A second adapter finds the first one's router: named in a busy error (also in auto, which must not fall back to
// the socket path next to another program's XDP), and left attached.
TEST_F(XdpAdapterKernel, SecondProgramOnTheSameInterfaceIsRefused) {
    ASSERT_TRUE(connect("native").is_ok());
    const XdpState first = xdp_state(kIface);
    ASSERT_NE(first.prog_id, 0u);
    Result<mom::LoadedAdapter> other = mom::load_adapter(TEMPOS_XDP_ADAPTER_PATH, env_);
    ASSERT_TRUE(other.is_ok()) << other.message();
    for (const char* mode : {"native", "auto"}) {
        SCOPED_TRACE(mode);
        ChannelConfig channel;
        channel.interface = kIface;
        channel.options["xdp_mode"] = mode;
        const Status second = other->adapter().connect(channel);
        EXPECT_EQ(second.code(), ErrorCode::busy) << second.message();
        EXPECT_NE(second.message().find("tempos_router (id " + std::to_string(first.prog_id) + ", native)"),
                  std::string::npos)
            << second.message();
        EXPECT_EQ(xdp_state(kIface).prog_id, first.prog_id);
    }
}

// Somebody else's XDP program (attached through netlink, as ip link or a libxdp tool does it): every attach method
// and mode refuses with busy, names it, and leaves it attached, also after close().
TEST_F(XdpAdapterKernel, ForeignProgramIsNamedAndLeftAttachedByEveryAttachMethod) {
    // r0 = XDP_PASS; exit
    const bpf_insn pass[] = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    const int foreign = bpf_prog_load(BPF_PROG_TYPE_XDP, "foreign_pass", "GPL", pass, 2, nullptr);
    ASSERT_GE(foreign, 0) << std::strerror(errno);
    ASSERT_EQ(bpf_xdp_attach(ifindex_, foreign, XDP_FLAGS_SKB_MODE, nullptr), 0) << std::strerror(errno);
    const XdpState before = xdp_state(kIface);
    ASSERT_EQ(before.attach_mode, XDP_ATTACHED_SKB);
    for (const char* attach : {"link", "libxdp"}) {
        for (const char* mode : {"native", "generic", "auto"}) {
            SCOPED_TRACE(std::string(attach) + " " + mode);
            Result<mom::LoadedAdapter> adapter = mom::load_adapter(TEMPOS_XDP_ADAPTER_PATH, env_);
            ASSERT_TRUE(adapter.is_ok()) << adapter.message();
            ChannelConfig channel;
            channel.interface = kIface;
            channel.options = {{"xdp_mode", mode}, {"xdp_attach", attach}};
            const Status refused = adapter->adapter().connect(channel);
            EXPECT_EQ(refused.code(), ErrorCode::busy) << refused.message();
            EXPECT_NE(refused.message().find("foreign_pass (id " + std::to_string(before.prog_id) + ", generic)"),
                      std::string::npos)
                << refused.message();
            adapter->adapter().close();
            EXPECT_EQ(xdp_state(kIface).prog_id, before.prog_id);
            EXPECT_EQ(xdp_state(kIface).attach_mode, XDP_ATTACHED_SKB);
        }
    }
    ::close(foreign);
    EXPECT_EQ(xdp_state(kIface).prog_id, before.prog_id) << "netlink-attached: it outlives its fd";
    EXPECT_EQ(bpf_xdp_detach(ifindex_, XDP_FLAGS_SKB_MODE, nullptr), 0);
}

// xdp_attach = "libxdp": libxdp decides where the router goes (its dispatcher where the kernel allows freplace,
// else alone through netlink); either way the router routes, reports its mode, and close() removes it.
TEST_F(XdpAdapterKernel, LibxdpAttachRoutesAndDetachesOnClose) {
    const Status connected = connect("native", kIface, {{"xdp_attach", "libxdp"}, {"xdp_priority", "20"}});
    ASSERT_TRUE(connected.is_ok()) << connected.message();
    EXPECT_EQ(adapter().stats().mode, "native");
    EXPECT_EQ(xdp_state(kIface).attach_mode, XDP_ATTACHED_DRV);
    // The one warning is explicit native on a veth whose peer runs no XDP program (xdp_mode_choice.cpp), as with
    // a bpf_link; libxdp itself adds none.
    int other_warnings = 0;
    for (const auto& r : sink_->records())
        other_warnings += r.level == spdlog::level::warn && r.text.find("runs no native XDP program") == std::string::npos;
    EXPECT_EQ(other_warnings, 0) << sink_->text();
    const Mac sub_mac{0x02, 0x0a, 0, 0, 0, 0x02};
    ASSERT_EQ(route(7, Qos::strict, Endpoint{{10, 0, 0, 2}, 7000, sub_mac}).message(), "");
    // The program on the interface is the router or libxdp's dispatcher running it: either routes the event.
    expect_action(7, {10, 0, 0, 1}, XDP_TX);
    adapter().close();
    EXPECT_TRUE(wait_detached(kIface));
}

TEST_F(XdpAdapterKernel, StrictTopicIsRoutedInTheKernelAndCounted) {
    // Best-effort isolation off: the best-effort event below is passed, as without a cpumap.
    ASSERT_TRUE(connect("native", kIface, {{"best_effort_cpus", ""}}).is_ok());
    const Mac sub_mac{0x02, 0x0a, 0, 0, 0, 0x02};
    ASSERT_EQ(route(7, Qos::strict, Endpoint{{10, 0, 0, 2}, 7000, sub_mac}).message(), "");
    const auto frame = event_frame(mac_, {10, 0, 0, 9}, {10, 0, 0, 1}, 7);

    const std::vector<std::uint8_t> routed = expect_action(frame, XDP_TX);
    ASSERT_EQ(routed.size(), frame.size());
    EXPECT_EQ(0, std::memcmp(routed.data(), sub_mac.data(), 6)) << "Ethernet destination = subscriber";
    EXPECT_EQ(0, std::memcmp(routed.data() + 6, mac_.data(), 6)) << "Ethernet source = xdp0";
    EXPECT_EQ(0, std::memcmp(routed.data() + 14 + 12, Ipv4{10, 0, 0, 1}.data(), 4)) << "IP source = the MoM";
    EXPECT_EQ(0, std::memcmp(routed.data() + 14 + 16, Ipv4{10, 0, 0, 2}.data(), 4));
    EXPECT_EQ(routed[14 + 20 + 2] << 8 | routed[14 + 20 + 3], 7000);

    // Best-effort: out of the map, the kernel passes the event to the socket path.
    ASSERT_EQ(route(7, Qos::best_effort, Endpoint{{10, 0, 0, 2}, 7000, sub_mac}).message(), "");
    EXPECT_EQ(expect_action(frame, XDP_PASS), frame);

    // Strict with two groups: fanned out by the TC program (docs/fanout.md); XDP passes it up, no warning.
    const int warnings_before = sink_->count(spdlog::level::warn);
    ASSERT_TRUE(adapter()
                    .configure_qos(TopicConfig{7, Qos::strict,
                                               {SubscriptionGroup{{Endpoint{{10, 0, 0, 2}, 7000, sub_mac}}},
                                                SubscriptionGroup{{Endpoint{{10, 0, 0, 3}, 7000, Mac{2, 0, 0, 0, 0, 3}}}}}})
                    .is_ok());
    EXPECT_EQ(sink_->count(spdlog::level::warn), warnings_before);
    expect_action(frame, XDP_PASS);

    EXPECT_EQ(adapter().stats().mode, "native");
    const std::optional<TopicStats> topic = stats_of(7);
    ASSERT_TRUE(topic);
    EXPECT_EQ(topic->kernel_packets, 1u);
    EXPECT_EQ(topic->kernel_bytes, frame.size());
    // The best-effort event was passed to the socket path; the fan-out one was handed to the TC program, which
    // is not a pass to the socket path (TEMPOS_PASS_FANOUT).
    EXPECT_EQ(topic->kernel_passed, 1u);
    EXPECT_EQ(topic->kernel_dropped, 0u);
}

// Best-effort isolation (docs/isolation.md): a best-effort event is redirected to the cpumap of the configured CPU,
// a strict topic on the socket path is passed; with real frames (sent from the peer xdp1, received by the router
// on xdp0) the cpumap's entry program counts every arrival, so offered = arrived and nothing is reported dropped.
TEST_F(XdpAdapterKernel, BestEffortGoesThroughTheCpumapAndEveryArrivalIsCounted) {
    ASSERT_TRUE(connect("native", kIface, {{"best_effort_cpus", "0"}, {"best_effort_queue", "256"}}).is_ok());
    const Endpoint sub{{10, 0, 0, 2}, 7000, Mac{0x02, 0x0a, 0, 0, 0, 0x02}};
    ASSERT_EQ(route(5, Qos::best_effort, sub).message(), "");
    const auto frame = event_frame(mac_, {10, 0, 0, 9}, {10, 0, 0, 1}, 5);
    expect_action(frame, XDP_REDIRECT);
    const int prog = attached_program_fd();
    ASSERT_GE(prog, 0);

    constexpr std::uint64_t kFrames = 200;  // within the veth's ring and the cpumap queue: none may be dropped
    const Result<std::size_t> dropped =
        testkit::send_frames("xdp1", std::vector<std::vector<std::uint8_t>>(kFrames, frame));
    ASSERT_TRUE(dropped) << dropped.message();
    ASSERT_EQ(*dropped, 0u) << "xdp1 dropped frames as it sent them";
    TopicStats topic{};
    for (int attempt = 0; attempt < 500; ++attempt) {  // the cpumap thread drains asynchronously: bounded wait
        const std::optional<TopicStats> reported = stats_of(5);
        ASSERT_TRUE(reported);
        topic = *reported;
        if (topic.kernel_passed == kFrames) break;  // every frame arrived
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // The single BPF_PROG_TEST_RUN above was not performed, so it was offered and never arrives: one "dropped".
    EXPECT_EQ(topic.best_effort_offloaded, kFrames + 1);
    EXPECT_EQ(topic.best_effort_queue_dropped, 1u);
    EXPECT_EQ(topic.kernel_passed, kFrames);
    EXPECT_EQ(topic.kernel_packets, 0u);
    ::close(prog);
}

// A subscriber without a MAC, IPv4 forwarding off (a new namespace's default, under which bpf_fib_lookup refuses):
// the adapter resolves the neighbour itself and writes its MAC into the route, follows an announced change (a
// gratuitous ARP) and a silent one (found when the entry is re-verified: here forced stale instead of waiting for
// its reachable time), and when it fails the member's events take the socket path, counted as unresolved.
TEST_F(XdpAdapterKernel, MacLessSubscriberIsResolvedAndFollowedWithForwardingOff) {
    ASSERT_EQ(testkit::set_sysctl("net.ipv4.conf.xdp0.forwarding", "0").message(), "");
    ASSERT_EQ(testkit::set_sysctl("net.ipv4.conf.all.forwarding", "0").message(), "");
    testkit::Topology peer(testkit::Topology::new_id());
    ASSERT_EQ(peer.add_node("sub").message(), "");
    ASSERT_EQ(testkit::run_command({"ip", "link", "set", "xdp1", "netns", peer.ns("sub")}).message(), "");
    auto in_sub = [&](std::vector<std::string> argv) { return peer.exec("sub", argv).status().message(); };
    ASSERT_EQ(in_sub({"ip", "addr", "add", "10.0.0.2/24", "dev", "xdp1"}), "");
    ASSERT_EQ(in_sub({"ip", "link", "set", "xdp1", "up"}), "");

    ASSERT_TRUE(connect("generic").is_ok());
    ASSERT_EQ(route(3, Qos::strict, Endpoint{{10, 0, 0, 2}, 7000, std::nullopt}).message(), "");
    const int prog = attached_program_fd();
    ASSERT_GE(prog, 0);
    // What the router does with one event now: the destination MAC it writes (XDP_TX), or nothing (passed up).
    auto routed_to = [&]() -> std::optional<Mac> {
        const Result<testkit::ProgRun> r = run_event(prog, 3, {10, 0, 0, 1});
        if (!r || r->action != XDP_TX || r->output.size() < 6) return std::nullopt;
        Mac dst;
        std::memcpy(dst.data(), r->output.data(), dst.size());
        return dst;
    };
    auto routed_to_is = [&](const Mac& mac, std::chrono::seconds within) {
        return testkit::poll_until([&] { return routed_to() == mac; }, within);
    };
    auto unresolved_passes = [&]() -> std::uint64_t {
        for (const TopicStats& t : adapter().stats().topics)
            if (t.topic == 3) return t.kernel_passed_unresolved;
        return 0;
    };
    auto set_sub_mac = [&](const Mac& mac) { return in_sub({"ip", "link", "set", "dev", "xdp1", "address", testkit::mac_text(mac)}); };
    // The frames the router sent never confirm the entry: the kernel re-verifies it once it is stale.
    auto force_stale = [&] {
        return testkit::run_command({"ip", "neigh", "change", "10.0.0.2", "dev", "xdp0", "nud", "stale"}).message();
    };

    const Result<Mac> first = peer.mac("sub", "xdp1");
    ASSERT_TRUE(first) << first.message();
    EXPECT_TRUE(routed_to_is(*first, std::chrono::seconds(5))) << "the neighbour was not resolved into the route";
    EXPECT_TRUE(sink_->contains("neighbour 10.0.0.2")) << [&] { std::string all; for (const auto& r : sink_->records()) all += r.text + "\n"; return all; }();

    const Mac announced{0x02, 0x5e, 0, 0, 0, 0x02};
    ASSERT_EQ(in_sub({"sysctl", "-qw", "net.ipv4.conf.xdp1.arp_notify=1"}), "");
    ASSERT_EQ(set_sub_mac(announced), "");
    EXPECT_TRUE(routed_to_is(announced, std::chrono::seconds(5))) << "an announced MAC change was not followed";

    // Silent: no gratuitous ARP. The re-verification's unicast probes to the old MAC fail, the entry fails, the
    // kernel is asked again and broadcasts: delay_first_probe_time (5 s) + 3 probes (3 s) + the answer.
    const Mac silent{0x02, 0x5e, 0, 0, 0, 0x03};
    ASSERT_EQ(in_sub({"sysctl", "-qw", "net.ipv4.conf.xdp1.arp_notify=0"}), "");
    ASSERT_EQ(set_sub_mac(silent), "");
    ASSERT_EQ(force_stale(), "");
    EXPECT_TRUE(routed_to_is(silent, std::chrono::seconds(20))) << "a silent MAC change was not followed";

    // Gone: nothing answers any more. Once the entry failed the route has no MAC, the event is passed up (to the
    // socket path) and counted as unresolved.
    ASSERT_EQ(in_sub({"ip", "addr", "del", "10.0.0.2/24", "dev", "xdp1"}), "");
    ASSERT_EQ(force_stale(), "");
    EXPECT_TRUE(testkit::poll_until([&] { return !routed_to().has_value(); }, std::chrono::seconds(20)))
        << "a failed neighbour stayed in the route";
    const std::uint64_t before = unresolved_passes();
    EXPECT_FALSE(routed_to().has_value());
    EXPECT_EQ(unresolved_passes(), before + 1) << "the passed event was not counted as unresolved";

    // Back: resolved again by the recheck of unresolved neighbours, without any traffic to it.
    ASSERT_EQ(in_sub({"ip", "addr", "add", "10.0.0.2/24", "dev", "xdp1"}), "");
    EXPECT_TRUE(routed_to_is(silent, std::chrono::seconds(20))) << "a neighbour that came back was not resolved";
    ::close(prog);
    EXPECT_FALSE(sink_->contains("forwarding=1"));
    adapter().close();  // before the peer's namespace, and xdp0 with it, goes
}

TEST_F(XdpAdapterKernel, ConfiguredMomAddressIsTheRewriteSource) {
    ASSERT_EQ(connect_channel(kIface, kMomPort, "generic", {}, {10, 0, 0, 77}).message(), "");
    ASSERT_EQ(route(4, Qos::strict, Endpoint{{10, 0, 0, 2}, 7000, Mac{2, 0, 0, 0, 0, 2}}).message(), "");
    // To the listen address: the only one this MoM takes frames for (bpf/destination.h).
    const std::vector<std::uint8_t> routed = expect_action(4, {10, 0, 0, 77}, XDP_TX);
    ASSERT_GE(routed.size(), 14u + 20u);
    EXPECT_EQ(0, std::memcmp(routed.data() + 14 + 12, Ipv4{10, 0, 0, 77}.data(), 4));
}

// On the wire (generic mode): the peer end xdp1 lives in a second namespace that hosts both the publisher and the subscriber
// (10.0.0.2). A datagram to the MoM (10.0.0.1:9998) is rewritten by the program on xdp0 and sent straight back
// (XDP_TX) to the subscriber's port: it arrives with the MoM as its source, and nothing reaches the MoM's stack.
TEST_F(XdpAdapterKernel, StrictEventTravelsThroughTheKernelOnTheWire) {
    // The peer namespace is held by a bounded child (the test kit's process runner kills it at the end); its fd
    // keeps it alive for the sockets made inside it. xdp1's MAC is read before it moves (a move keeps it).
    const Result<Mac> peer_mac = testkit::mac_of("xdp1");
    ASSERT_TRUE(peer_mac) << peer_mac.message();
    Result<testkit::Process> holder = testkit::Process::start({"unshare", "-n", "sleep", "60"});
    ASSERT_TRUE(holder) << holder.message();
    const std::string peer_ns = "/proc/" + std::to_string(holder->pid()) + "/ns/net";
    const std::filesystem::path own_ns = std::filesystem::read_symlink("/proc/self/ns/net");
    auto in_peer_ns = [&] {
        std::error_code ec;
        const std::filesystem::path ns = std::filesystem::read_symlink(peer_ns, ec);
        return !ec && ns != own_ns;
    };
    ASSERT_EQ(holder->wait_until(in_peer_ns, std::chrono::seconds(2), "unshare -n has run in the child").message(), "");
    auto ip_in_peer = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"nsenter", "--net=" + peer_ns, "ip"});
        return testkit::run_command(args).message();
    };
    ASSERT_EQ(testkit::run_command({"ip", "link", "set", "xdp1", "netns", std::to_string(holder->pid())}).message(), "");
    ASSERT_EQ(ip_in_peer({"addr", "add", "10.0.0.2/24", "dev", "xdp1"}), "");
    ASSERT_EQ(ip_in_peer({"link", "set", "xdp1", "up"}), "");

    // Generic mode: in native mode the program's XDP_TX frames were counted as sent (xdp_tx) by veth xdp0 but
    // never reached the peer's IP layer here, even with GRO on the peer (see plugin/README.md).
    ASSERT_TRUE(connect("generic").is_ok());
    ASSERT_EQ(route(7, Qos::strict, Endpoint{{10, 0, 0, 2}, 7000, *peer_mac}).message(), "");

    // Sockets of the peer namespace, made by a thread that enters it (a socket stays in its namespace).
    int subscriber = -1, publisher = -1;
    std::thread maker([&] {
        const int ns = ::open(peer_ns.c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) return;
        ::close(ns);
        subscriber = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        publisher = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    });
    maker.join();
    ASSERT_GE(subscriber, 0);
    ASSERT_GE(publisher, 0);
    sockaddr_in sub_addr{};
    sub_addr.sin_family = AF_INET;
    sub_addr.sin_port = htons(7000);
    inet_pton(AF_INET, "10.0.0.2", &sub_addr.sin_addr);
    ASSERT_EQ(::bind(subscriber, reinterpret_cast<sockaddr*>(&sub_addr), sizeof(sub_addr)), 0);
    timeval timeout{2, 0};
    ::setsockopt(subscriber, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    // UDP checksum 0 ("none"): a locally sent datagram on a veth only carries a partial checksum otherwise.
    const int no_check = 1;
    ::setsockopt(publisher, SOL_SOCKET, SO_NO_CHECK, &no_check, sizeof(no_check));
    sockaddr_in mom{};
    mom.sin_family = AF_INET;
    mom.sin_port = htons(kMomPort);
    inet_pton(AF_INET, "10.0.0.1", &mom.sin_addr);

    constexpr int kEvents = 5;
    int received = 0;
    for (int i = 0; i < kEvents; ++i) {
        const std::uint8_t event[] = {7, static_cast<std::uint8_t>(i), 0x42};
        ASSERT_EQ(::sendto(publisher, event, sizeof(event), 0, reinterpret_cast<sockaddr*>(&mom), sizeof(mom)),
                  static_cast<ssize_t>(sizeof(event)));
        std::uint8_t buffer[64];
        sockaddr_in from{};
        socklen_t from_len = sizeof(from);
        const ssize_t n = ::recvfrom(subscriber, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
        ASSERT_EQ(n, static_cast<ssize_t>(sizeof(event))) << "event " << i << " not delivered";
        EXPECT_EQ(0, std::memcmp(buffer, event, sizeof(event)));
        char source[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &from.sin_addr, source, sizeof(source));
        EXPECT_STREQ(source, "10.0.0.1");
        ++received;
    }
    ::close(subscriber);
    ::close(publisher);
    EXPECT_EQ(received, kEvents);
    const std::optional<TopicStats> topic = stats_of(7);
    ASSERT_TRUE(topic);
    EXPECT_EQ(topic->kernel_packets, static_cast<std::uint64_t>(kEvents)) << "delivered by the kernel, not the MoM";
    EXPECT_EQ(topic->socket_sent, 0u);
}

// A subscriber routed through another interface (xdp2): that interface's MAC is the new source and the frame is
// redirected through the egress_ports device map, which the adapter filled.
TEST_F(XdpAdapterKernel, SubscriberOnAnotherInterfaceIsRedirectedThroughIt) {
    ASSERT_EQ(testkit::add_veth_pair({.a = "xdp2", .b = "xdp3", .a_addresses = {"10.2.0.1/24"}}).message(), "");
    ASSERT_EQ(testkit::attach_peer_pass("xdp3").message(), "");  // what native redirect into xdp2 needs
    ASSERT_TRUE(connect("native").is_ok());
    const Mac sub_mac{0x02, 0x0c, 0, 0, 0, 0x05};
    ASSERT_EQ(route(6, Qos::strict, Endpoint{{10, 2, 0, 5}, 7000, sub_mac}).message(), "");
    const std::vector<std::uint8_t> redirected = expect_action(6, {10, 0, 0, 1}, XDP_REDIRECT);
    ASSERT_GE(redirected.size(), 14u);
    EXPECT_EQ(0, std::memcmp(redirected.data(), sub_mac.data(), 6));
    const Result<Mac> xdp2_mac = testkit::mac_of("xdp2");
    ASSERT_TRUE(xdp2_mac) << xdp2_mac.message();
    EXPECT_EQ(0, std::memcmp(redirected.data() + 6, xdp2_mac->data(), 6)) << "Ethernet source = the egress interface";
}

// Egress tagging (docs/config.md#vlan). A tagged event for a member on plain xdp2 leaves untagged. Members behind
// The egress interface's tagging, not the ingress tags (docs/config.md#vlan). The events, routes and checks of
// the tests below.
class XdpAdapterEgressTagging : public XdpAdapterKernel {
protected:
    struct Case {
        std::uint8_t topic;
        std::uint16_t in_vid;
        int action;
        std::vector<std::uint8_t> tag;  // bytes 12..15 of the output: TPID and TCI, or the IPv4 ethertype
    };
    const Mac sub_mac_{0x02, 0x0c, 0, 0, 0, 0x07};

    void SetUp() override {
        XdpAdapterKernel::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        ASSERT_EQ(testkit::add_veth_pair({.a = "xdp2", .b = "xdp3", .a_addresses = {"10.2.0.1/24"}}).message(), "");
        ASSERT_EQ(testkit::attach_peer_pass("xdp3").message(), "");
        ASSERT_TRUE(connect("native").is_ok());
    }
    std::vector<std::uint8_t> event(std::uint8_t topic, std::uint16_t in_vid) {
        testkit::PacketBuilder b;
        b.eth(mac_, {0x02, 0xee, 0, 0, 0, 0x01});
        if (in_vid != 0) b.vlan(testkit::PacketBuilder::kVlan8021Q, in_vid);
        return b.ipv4({10, 0, 0, 9}, {10, 0, 0, 1}).udp(40000, kMomPort).udp_checksum_none().payload({topic, 1}).build();
    }
    void check(int prog, const Case& c) {
        SCOPED_TRACE("topic " + std::to_string(c.topic) + ", ingress VLAN " + std::to_string(c.in_vid));
        const Result<testkit::ProgRun> r = test_run(prog, event(c.topic, c.in_vid), ifindex_);
        ASSERT_TRUE(r) << r.message();
        EXPECT_EQ(r->action, c.action);
        ASSERT_GE(r->output.size(), 16u);
        EXPECT_EQ(std::vector<std::uint8_t>(r->output.begin() + 12, r->output.begin() + 16), c.tag);
        EXPECT_EQ(0, std::memcmp(r->output.data(), sub_mac_.data(), 6));
    }
};

// A tagged event for a member behind another, plain interface leaves that interface untagged.
TEST_F(XdpAdapterEgressTagging, APlainEgressInterfaceGetsUntaggedCopies) {
    const int prog = attached_program_fd();
    ASSERT_GE(prog, 0);
    ASSERT_EQ(route(8, Qos::strict, Endpoint{{10, 2, 0, 5}, 7000, sub_mac_}).message(), "");
    check(prog, Case{8, 9, XDP_REDIRECT, {0x08, 0x00, 0x45, 0x00}});
    ::close(prog);
}

// VLAN sub-interfaces: the router tags the copy with the sub-interface's VLAN and hands it to the lower device:
// XDP_TX for a VLAN of xdp0 itself, a redirect to xdp2 (in egress_ports, not its VLAN device, which has no XDP
// transmit) for a VLAN of xdp2. Two stacked VLANs are left to the socket path (no_egress). Needs VLAN devices in
// the kernel (CONFIG_VLAN_8021Q): skipped, saying so, without them (the router's side is covered by the fixtures'
// synthetic egress_vlans entries either way).
TEST_F(XdpAdapterEgressTagging, VlanSubInterfacesGetTheirTag) {
    const int prog = attached_program_fd();
    ASSERT_GE(prog, 0);

    const Result<std::string> vlan_support =
        testkit::run_command({"ip", "link", "add", "link", kIface, "name", "xdp0.7", "type", "vlan", "id", "7"});
    if (!vlan_support && vlan_support.message().find("Unknown device type") != std::string::npos) {
        ::close(prog);
        GTEST_SKIP() << "this kernel has no VLAN devices (CONFIG_VLAN_8021Q): " << vlan_support.message();
    }
    ASSERT_TRUE(vlan_support) << vlan_support.message();
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {"ip", "link", "add", "link", "xdp2", "name", "xdp2.42", "type", "vlan", "proto", "802.1ad", "id", "42"},
             {"ip", "link", "add", "link", "xdp2.42", "name", "xdp2.42.5", "type", "vlan", "id", "5"},
             {"ip", "addr", "add", "10.4.0.1/24", "dev", "xdp0.7"},
             {"ip", "addr", "add", "10.3.0.1/24", "dev", "xdp2.42"},
             {"ip", "addr", "add", "10.5.0.1/24", "dev", "xdp2.42.5"},
             {"ip", "link", "set", "xdp0.7", "up"},
             {"ip", "link", "set", "xdp2.42", "up"},
             {"ip", "link", "set", "xdp2.42.5", "up"}}) {
        const Result<std::string> done = testkit::run_command(argv);
        ASSERT_TRUE(done) << done.message();
    }
    ASSERT_EQ(route(6, Qos::strict, Endpoint{{10, 4, 0, 5}, 7000, sub_mac_}).message(), "");
    ASSERT_EQ(route(7, Qos::strict, Endpoint{{10, 3, 0, 5}, 7000, sub_mac_}).message(), "");
    ASSERT_EQ(route(9, Qos::strict, Endpoint{{10, 5, 0, 5}, 7000, sub_mac_}).message(), "");
    check(prog, Case{6, 0, XDP_TX, {0x81, 0x00, 0x00, 0x07}});
    check(prog, Case{6, 9, XDP_TX, {0x81, 0x00, 0x00, 0x07}});
    check(prog, Case{7, 0, XDP_REDIRECT, {0x88, 0xa8, 0x00, 0x2a}});
    const Result<testkit::ProgRun> stacked = test_run(prog, event(9, 0), ifindex_);
    ::close(prog);
    ASSERT_TRUE(stacked) << stacked.message();
    EXPECT_EQ(stacked->action, XDP_PASS);
    const std::optional<TopicStats> passed = stats_of(9);
    ASSERT_TRUE(passed);
    EXPECT_EQ(passed->kernel_passed, 1u) << "two stacked VLANs: no_egress, to the socket path";
}

// What the router passes as too_big (longer than the egress MTU) the socket path must still deliver: its sockets
// keep the default path-MTU mode, so the kernel fragments the datagram instead of refusing it with EMSGSIZE. Here
// over lo with a 1500-byte MTU: a 3000-byte event arrives whole, counted as sent, no error.
TEST_F(XdpAdapterKernel, AnEventLongerThanTheEgressMtuIsSentFragmentedByTheSocketPath) {
    const Result<std::string> mtu = testkit::run_command({"ip", "link", "set", "lo", "mtu", "1500"});
    ASSERT_TRUE(mtu) << mtu.message();
    ASSERT_TRUE(connect("native").is_ok());
    UdpReceiver subscriber;
    ASSERT_EQ(route(5, Qos::strict, subscriber.endpoint()).message(), "");
    std::vector<std::uint8_t> event(3000, 0x5a);
    event[0] = 5;
    ASSERT_EQ(adapter().send(5, event).message(), "");
    EXPECT_EQ(subscriber.receive(), event);
    const std::optional<TopicStats> topic = stats_of(5);
    ASSERT_TRUE(topic);
    EXPECT_EQ(topic->socket_sent, 1u);
    EXPECT_EQ(topic->socket_errors, 0u);
}

// Native redirect into a veth whose peer runs no XDP program would be dropped by the veth: the adapter keeps that
// interface out of egress_ports, so the router passes such events up (no_egress) for the socket path, and says so.
TEST_F(XdpAdapterKernel, NativeRedirectIntoAVethThatCannotReceiveIsLeftToTheSocketPath) {
    ASSERT_EQ(testkit::add_veth_pair({.a = "xdp2", .b = "xdp3", .a_addresses = {"10.2.0.1/24"}}).message(), "");
    ASSERT_EQ(testkit::attach_peer_pass("xdp1").message(), "");
    ASSERT_TRUE(connect("native").is_ok());
    ASSERT_EQ(route(6, Qos::strict, Endpoint{{10, 2, 0, 5}, 7000, Mac{2, 0x0c, 0, 0, 0, 5}}).message(), "");
    EXPECT_TRUE(sink_->contains("native XDP cannot redirect into veth xdp2: its peer xdp3 runs no native XDP program"))
        << sink_->text();
    expect_action(6, {10, 0, 0, 1}, XDP_PASS);
    const std::optional<TopicStats> topic = stats_of(6);
    ASSERT_TRUE(topic);
    EXPECT_EQ(topic->kernel_packets, 0u);
    EXPECT_EQ(topic->kernel_passed, 1u);
    // Both interfaces the kernel path sends on report their drop counters.
    std::vector<std::string> devices;
    for (const DeviceStats& d : adapter().stats().devices) devices.push_back(d.interface);
    EXPECT_EQ(devices, (std::vector<std::string>{"xdp0", "xdp2"}));
}

// A frame the MoM's veth cannot take in (its receive ring full under a flood; here: longer than its MTU) is
// counted by the kernel on the sending side only, the peer's tx_dropped. The adapter reads it through rtnetlink
// and reports it with the device (tempos_device_peer_tx_dropped_total), so that loss is in /metrics too.
TEST_F(XdpAdapterKernel, FramesTheVethCouldNotReceiveAreReportedFromItsPeer) {
    ASSERT_TRUE(testkit::run_command({"ip", "link", "set", kIface, "mtu", "1000"})) << "mtu";
    ASSERT_TRUE(connect("generic").is_ok());
    const auto peer_tx_dropped = [] {
        const Result<std::vector<testkit::InterfaceDrops>> all = testkit::interface_drops();
        if (all)
            for (const testkit::InterfaceDrops& d : *all)
                if (d.ifname == "xdp1") return d.tx_dropped;
        return ~std::uint64_t{0};
    };
    const auto reported = [this]() -> std::optional<DeviceStats> {
        for (const DeviceStats& d : adapter().stats().devices)
            if (d.interface == kIface) return d;
        return std::nullopt;
    };
    const std::uint64_t before = peer_tx_dropped();
    ASSERT_NE(before, ~std::uint64_t{0});
    std::vector<std::uint8_t> too_long = event_frame(mac_, {10, 0, 0, 9}, {10, 0, 0, 1}, 6);
    too_long.resize(1200);  // trailing bytes past the IPv4 length: the receiver's MTU check drops it first
    const Result<std::size_t> refused = testkit::send_frames("xdp1", {too_long, too_long, too_long});
    ASSERT_TRUE(refused) << refused.message();
    EXPECT_EQ(*refused, 3u) << "xdp1 reports each drop to its sender (NET_XMIT_DROP)";

    EXPECT_EQ(peer_tx_dropped(), before + 3) << "the kernel counts the drops on the sending peer";
    const std::optional<DeviceStats> device = reported();
    ASSERT_TRUE(device);
    EXPECT_EQ(device->peer, "xdp1");
    ASSERT_TRUE(device->peer_tx_dropped);
    EXPECT_EQ(*device->peer_tx_dropped, before + 3);
}

// persist = true (docs/restart.md): closing leaves the router attached on its pinned link; the next adapter reuses
// the pinned maps (the counters go on, the route is still served before it is configured again) and swaps its own
// program into the same link. release_pins removes everything; TearDown releases whatever a test left.
class XdpAdapterPersist : public XdpAdapterKernel {
protected:
    void TearDown() override {
        if (ifindex_ > 0) (void)xdp::release_pins(kIface);
    }

    // No best-effort CPUs: a topic that is not routed then passes (XDP_PASS) instead of going to the cpumap.
    static std::map<std::string, std::string> persist(const char* value = "true") {
        return {{"persist", value}, {"best_effort_cpus", ""}};
    }
    std::filesystem::path set_dir() {
        const Result<std::filesystem::path> dir = xdp::interface_pin_dir(kIface);
        EXPECT_TRUE(dir) << dir.message();
        return dir ? *dir / xdp::schema_dir_name(TEMPOS_PIN_SCHEMA) : std::filesystem::path();
    }
    std::uint32_t pinned_link_id(const char* name = TEMPOS_PIN_ROUTER_LINK) {
        const int fd = bpf_obj_get((set_dir() / name).c_str());
        if (fd < 0) return 0;
        bpf_link_info info{};
        std::uint32_t length = sizeof(info);
        const int read = bpf_obj_get_info_by_fd(fd, &info, &length);
        ::close(fd);
        return read == 0 ? info.id : 0;
    }
    // One strict event through the attached program (BPF_PROG_TEST_RUN); the action it got (-1: the run failed).
    int route_one_event() {
        const int prog = attached_program_fd();
        EXPECT_GE(prog, 0);
        const Result<testkit::ProgRun> run =
            test_run(prog, event_frame(mac_, {10, 0, 0, 9}, {10, 0, 0, 1}, 7), ifindex_);
        ::close(prog);
        EXPECT_TRUE(run) << run.message();
        return run ? run->action : -1;
    }
    static std::uint64_t kernel_packets(Adapter& adapter) {
        for (const TopicStats& topic : adapter.stats().topics)
            if (topic.topic == 7) return topic.kernel_packets;
        return 0;
    }
    static TopicConfig topic7() {
        return TopicConfig{7, Qos::strict, {SubscriptionGroup{{Endpoint{{10, 0, 0, 2}, 7000, Mac{2, 0xa, 0, 0, 0, 2}}}}}};
    }
    // A second adapter, as the next tempos-mom loads it.
    Result<mom::LoadedAdapter> next_adapter() { return mom::load_adapter(TEMPOS_XDP_ADAPTER_PATH, env_); }
    static Status connect_next(mom::LoadedAdapter& next, const std::string& mode,
                               std::map<std::string, std::string> options) {
        ChannelConfig channel;
        channel.interface = kIface;
        channel.port = kMomPort;
        channel.options = std::move(options);
        channel.options["xdp_mode"] = mode;
        return next.adapter().connect(channel);
    }
};

TEST_F(XdpAdapterPersist, RestartReusesTheMapsAndSwapsTheProgramIntoThePinnedLink) {
    ASSERT_TRUE(connect("native", kIface, persist()).is_ok());
    ASSERT_TRUE(adapter().configure_qos(topic7()).is_ok());
    EXPECT_EQ(route_one_event(), XDP_TX);
    EXPECT_EQ(kernel_packets(adapter()), 1u);
    const std::uint32_t link = pinned_link_id();
    const std::uint32_t fanout_link = pinned_link_id(TEMPOS_PIN_FANOUT_LINK);
    const XdpState first = xdp_state(kIface);
    ASSERT_NE(link, 0u);
    ASSERT_NE(fanout_link, 0u) << "the tcx fan-out link is pinned too";
    adapter().close();
    EXPECT_EQ(xdp_state(kIface).prog_id, first.prog_id) << "persist: the router stays after close";
    EXPECT_EQ(route_one_event(), XDP_TX) << "and routes on its last route";

    Result<mom::LoadedAdapter> next = next_adapter();
    ASSERT_TRUE(next.is_ok()) << next.message();
    const Status again = connect_next(*next, "native", persist());
    ASSERT_TRUE(again.is_ok()) << again.message();
    const XdpState second = xdp_state(kIface);
    EXPECT_NE(second.prog_id, first.prog_id) << "a new program";
    EXPECT_EQ(second.attach_mode, XDP_ATTACHED_DRV);
    EXPECT_EQ(pinned_link_id(), link) << "in the same link";
    EXPECT_EQ(pinned_link_id(TEMPOS_PIN_FANOUT_LINK), fanout_link) << "the fan-out's too";
    EXPECT_EQ(kernel_packets(next->adapter()), 2u) << "the counters go on (reported before any configure_qos)";
    EXPECT_EQ(route_one_event(), XDP_TX) << "the adopted route is served";
    ASSERT_TRUE(next->adapter().configure_qos(topic7()).is_ok());
    EXPECT_EQ(route_one_event(), XDP_TX);
    EXPECT_EQ(kernel_packets(next->adapter()), 4u);
    // An adopted topic the configuration drops is removed like any other.
    ASSERT_TRUE(next->adapter().remove_topic(7).is_ok());
    EXPECT_EQ(route_one_event(), XDP_PASS);
    next->adapter().close();
    EXPECT_EQ(xdp_state(kIface).prog_id, second.prog_id);

    const Result<std::vector<std::string>> released = xdp::release_pins(kIface);
    ASSERT_TRUE(released) << released.message();
    EXPECT_GE(released->size(), 3u) << "at least the two links and a map";
    EXPECT_TRUE(wait_detached(kIface)) << "--release-pins: the router leaves";
    EXPECT_FALSE(std::filesystem::exists(set_dir()));
    EXPECT_FALSE(std::filesystem::exists(set_dir().parent_path())) << "nothing of the interface is left in bpffs";
}

// A topic adopted and never configured again is reported (so tempos-mom can remove it) and removed on request.
TEST_F(XdpAdapterPersist, AnAdoptedTopicIsReportedUntilRemoved) {
    ASSERT_TRUE(connect("native", kIface, persist()).is_ok());
    ASSERT_TRUE(adapter().configure_qos(topic7()).is_ok());
    adapter().close();
    Result<mom::LoadedAdapter> next = next_adapter();
    ASSERT_TRUE(next.is_ok()) << next.message();
    ASSERT_TRUE(connect_next(*next, "native", persist()).is_ok());
    const AdapterStats stats = next->adapter().stats();
    ASSERT_EQ(stats.topics.size(), 1u);
    EXPECT_EQ(stats.topics[0].topic, 7);
    ASSERT_TRUE(next->adapter().remove_topic(7).is_ok());
    EXPECT_TRUE(next->adapter().stats().topics.empty());
    EXPECT_EQ(route_one_event(), XDP_PASS);
    next->adapter().close();
}

// A set pinned under another schema (simulated: the directory renamed) is refused with a clear error: not reused,
// not removed, its router left serving; --release-pins removes it.
TEST_F(XdpAdapterPersist, SchemaMismatchIsRefusedAndTheOldSetKeepsServing) {
    ASSERT_TRUE(connect("native", kIface, persist()).is_ok());
    ASSERT_TRUE(adapter().configure_qos(topic7()).is_ok());
    const XdpState first = xdp_state(kIface);
    adapter().close();
    const std::filesystem::path old_dir = set_dir().parent_path() / xdp::schema_dir_name(TEMPOS_PIN_SCHEMA + 1);
    std::filesystem::rename(set_dir(), old_dir);

    Result<mom::LoadedAdapter> next = next_adapter();
    ASSERT_TRUE(next.is_ok()) << next.message();
    for (const char* persist_value : {"true", "false"}) {
        const Status refused = connect_next(*next, "native", persist(persist_value));
        ASSERT_FALSE(refused.is_ok()) << "persist = " << persist_value;
        EXPECT_EQ(refused.code(), ErrorCode::busy);
        EXPECT_NE(refused.message().find("pinned under another schema is at " + old_dir.string()), std::string::npos)
            << refused.message();
        EXPECT_NE(refused.message().find("tempos-mom --release-pins xdp0"), std::string::npos) << refused.message();
    }
    EXPECT_TRUE(std::filesystem::exists(old_dir));
    EXPECT_EQ(xdp_state(kIface).prog_id, first.prog_id) << "the old router still holds the interface";
    EXPECT_EQ(route_one_event(), XDP_TX) << "and routes";
    next->adapter().close();

    const Result<std::vector<std::string>> released = xdp::release_pins(kIface);
    ASSERT_TRUE(released) << released.message();
    EXPECT_TRUE(wait_detached(kIface));
    EXPECT_FALSE(std::filesystem::exists(old_dir));
}

// Without persist a set pinned earlier is taken over all the same (no gap, counters go on), then unpinned: the
// router leaves with this adapter again.
TEST_F(XdpAdapterPersist, WithoutPersistThePinnedSetIsTakenOverThenUnpinned) {
    ASSERT_TRUE(connect("native", kIface, persist()).is_ok());
    ASSERT_TRUE(adapter().configure_qos(topic7()).is_ok());
    EXPECT_EQ(route_one_event(), XDP_TX);
    adapter().close();

    Result<mom::LoadedAdapter> next = next_adapter();
    ASSERT_TRUE(next.is_ok()) << next.message();
    const Status taken = connect_next(*next, "native", persist("false"));
    ASSERT_TRUE(taken.is_ok()) << taken.message();
    EXPECT_FALSE(std::filesystem::exists(set_dir())) << "persist off: nothing stays pinned";
    EXPECT_EQ(kernel_packets(next->adapter()), 1u);
    EXPECT_EQ(route_one_event(), XDP_TX);
    next->adapter().close();
    EXPECT_TRUE(wait_detached(kIface)) << "the router left with the adapter";
}

// A link keeps the mode it was made in: an explicit other mode is refused, and the pinned router stays.
TEST_F(XdpAdapterPersist, APinnedLinkInAnotherModeIsRefusedForAnExplicitMode) {
    ASSERT_TRUE(connect("generic", kIface, persist()).is_ok());
    const XdpState first = xdp_state(kIface);
    adapter().close();
    Result<mom::LoadedAdapter> next = next_adapter();
    ASSERT_TRUE(next.is_ok()) << next.message();
    const Status refused = connect_next(*next, "native", persist());
    ASSERT_FALSE(refused.is_ok());
    EXPECT_EQ(refused.code(), ErrorCode::invalid_argument);
    EXPECT_NE(refused.message().find("runs in generic mode"), std::string::npos) << refused.message();
    EXPECT_EQ(xdp_state(kIface).prog_id, first.prog_id);
    EXPECT_EQ(xdp_state(kIface).attach_mode, XDP_ATTACHED_SKB);
    next->adapter().close();
}

TEST_F(XdpAdapterKernel, SubscriberWithoutRouteIsAnError) {
    ASSERT_TRUE(connect("native").is_ok());
    ASSERT_EQ(testkit::run_command({"ip", "route", "add", "unreachable", "10.9.0.0/16"}).message(), "");
    const Status status = adapter().configure_qos(
        TopicConfig{3, Qos::strict, {SubscriptionGroup{{Endpoint{{10, 9, 9, 9}, 7000, Mac{2, 0, 0, 0, 0, 9}}}}}});
    EXPECT_FALSE(status.is_ok());
    EXPECT_NE(status.message().find("10.9.9.9"), std::string::npos) << status.message();
}

// A child process holds the adapter attached and is SIGKILLed: its link fd dies with it, so the program
// leaves the interface (no blackhole after a crash).
TEST_F(XdpAdapterKernel, ProgramLeavesWhenTheHolderIsKilled) {
    Result<testkit::Process> held = start_attach_holder(kIface, "native");
    ASSERT_TRUE(held) << held.message();
    const std::string output = held->output();
    EXPECT_NE(output.find("mode=native"), std::string::npos) << output;
    EXPECT_EQ(xdp_state(kIface).attach_mode, XDP_ATTACHED_DRV);

    ASSERT_TRUE(held->signal(SIGKILL));
    const Result<int> status = held->wait(std::chrono::seconds(10));
    ASSERT_TRUE(status) << status.message();
    EXPECT_EQ(*status, 128 + SIGKILL) << held->how_it_ended();
    EXPECT_TRUE(wait_detached(kIface)) << "program still attached after its holder died";
}

// The holder and the plugin copied to where nobody (uid 65534) can reach them, so the tests do not depend on the
// checkout's location: a checkout under a 0700 directory (a home directory, `mktemp -d`) is closed to nobody.
// /tmp rather than $TMPDIR: /tmp is world-traversable on every system (mode 1777).
class HolderOutsideTheCheckout {
public:
    static Result<HolderOutsideTheCheckout> copy() {
        namespace fs = std::filesystem;
        std::string pattern = "/tmp/tempos-holder-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr)
            return Status::error(ErrorCode::system_error, std::string("mkdtemp: ") + std::strerror(errno));
        HolderOutsideTheCheckout copies(pattern);
        const auto everyone = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec;
        std::error_code ec;
        fs::permissions(copies.dir_, everyone, ec);
        for (const auto& [from, to] : {std::pair<std::string, std::string>{TEMPOS_ATTACH_HOLDER_PATH, copies.holder()},
                                       std::pair<std::string, std::string>{TEMPOS_XDP_ADAPTER_PATH, copies.plugin()}}) {
            if (!ec) fs::copy_file(from, to, ec);
            if (!ec) fs::permissions(to, everyone, ec);
        }
        if (ec) return Status::error(ErrorCode::system_error, "copying the holder to " + pattern + ": " + ec.message());
        return copies;
    }
    HolderOutsideTheCheckout(HolderOutsideTheCheckout&& other) noexcept : dir_(std::exchange(other.dir_, {})) {}
    HolderOutsideTheCheckout& operator=(HolderOutsideTheCheckout&&) = delete;
    ~HolderOutsideTheCheckout() {
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }
    std::string holder() const { return (dir_ / "xdp_attach_holder").string(); }
    std::string plugin() const { return (dir_ / "libxdp_adapter.so").string(); }
    std::string log() const { return (dir_ / "holder.log").string(); }

private:
    explicit HolderOutsideTheCheckout(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;
};

struct HolderRun {
    int status = -1;     // its exit status
    std::string output;  // stdout and stderr, interleaved
};

// Runs the holder as nobody with exactly the given capabilities (all others dropped from every set), through
// setpriv and the test kit's process runner, bounded at 60 s.
Result<HolderRun> run_holder_with_caps(const std::string& caps, const std::string& mode = "native") {
    Result<HolderOutsideTheCheckout> copies = HolderOutsideTheCheckout::copy();
    if (!copies) return copies.status().prefixed("copying the holder out of the checkout");
    Result<testkit::Process> holder = testkit::Process::start(
        {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all," + caps,
         "--ambient-caps=-all," + caps, "--bounding-set=-all," + caps, "--", copies->holder(), "xdp0", mode, "once",
         copies->plugin()},
        {.stdout_file = copies->log(), .stderr_file = copies->log()});
    if (!holder) return holder.status();
    const Result<int> status = holder->wait(std::chrono::seconds(60));
    if (!status) return status.status().prefixed("the holder did not end: " + holder->output_tail());
    return HolderRun{*status, holder->output()};
}

std::string caps_line(std::initializer_list<int> caps) {
    unsigned long long mask = 0;
    for (const int cap : caps) mask |= 1ULL << cap;
    char text[64];
    std::snprintf(text, sizeof(text), "caps=%016llx\n", mask);
    return text;
}

// Least privilege: CAP_BPF + CAP_NET_ADMIN, nothing else (no CAP_PERFMON, no CAP_SYS_ADMIN), not root.
TEST_F(XdpAdapterKernel, AttachesWithOnlyCapBpfAndNetAdmin) {
    const Result<HolderRun> run = run_holder_with_caps("+bpf,+net_admin");
    ASSERT_TRUE(run) << run.message();
    const auto& [status, output] = *run;
    EXPECT_EQ(status, 0) << output;
    EXPECT_NE(output.find(caps_line({39 /* CAP_BPF */, 12 /* CAP_NET_ADMIN */})), std::string::npos) << output;
    EXPECT_NE(output.find("mode=native"), std::string::npos) << output;
    EXPECT_TRUE(wait_detached(kIface));
}

// Either capability alone is not enough, and the error says which ones are needed.
TEST_F(XdpAdapterKernel, WithOnlyOneOfTheTwoCapabilitiesNativeIsRefusedWithAClearError) {
    for (const auto& [caps, mask] : {std::pair{"+bpf", caps_line({39})}, std::pair{"+net_admin", caps_line({12})}}) {
        const Result<HolderRun> run = run_holder_with_caps(caps);
        ASSERT_TRUE(run) << run.message();
        const auto& [status, output] = *run;
        EXPECT_NE(output.find(mask), std::string::npos) << output;
        EXPECT_EQ(status, 2) << output;
        EXPECT_NE(output.find("error=loading the XDP router: Operation not permitted (loading and attaching XDP need "
                              "CAP_BPF and CAP_NET_ADMIN)"),
                  std::string::npos)
            << output;
        EXPECT_EQ(xdp_state(kIface).prog_id, 0u);
    }
}

// auto without the privileges to load BPF: connect() succeeds, strict topics go through the socket path, and
// the adapter says so in exactly one warning.
TEST_F(XdpAdapterKernel, AutoWithoutPrivilegesFallsBackToSocketsWithOneWarning) {
    const Result<HolderRun> run = run_holder_with_caps("+net_admin", "auto");
    ASSERT_TRUE(run) << run.message();
    const auto& [status, output] = *run;
    EXPECT_EQ(status, 0) << output;
    EXPECT_NE(output.find("mode=off"), std::string::npos) << output;
    std::size_t warnings = 0;
    for (std::size_t at = output.find("[warning]"); at != std::string::npos; at = output.find("[warning]", at + 1))
        ++warnings;
    EXPECT_EQ(warnings, 1u) << output;
    EXPECT_NE(output.find("XDP unavailable on xdp0"), std::string::npos) << output;
    EXPECT_EQ(xdp_state(kIface).prog_id, 0u);
}

// While one thread alternates a topic between list A (10.0.0.x) and list B (10.1.0.x), BPF_PROG_TEST_RUN on
// another CPU must only ever produce a frame addressed wholly to one member of A or of B.
TEST_F(XdpAdapterKernel, RouteUpdateIsAtomicForConcurrentPackets) {
    ASSERT_TRUE(connect("native").is_ok());
    auto member = [](std::uint8_t net, std::uint8_t i) {
        return Endpoint{{10, net, 0, static_cast<std::uint8_t>(10 + i)}, static_cast<std::uint16_t>(net * 1000 + 1000 + i),
                        Mac{0x02, net, 0, 0, 0, i}};
    };
    TopicConfig a{9, Qos::strict, {SubscriptionGroup{}}}, b{9, Qos::strict, {SubscriptionGroup{}}};
    for (std::uint8_t i = 0; i < 4; ++i) a.groups[0].members.push_back(member(0, i));
    for (std::uint8_t i = 0; i < TEMPOS_MAX_SUBSCRIBERS; ++i) b.groups[0].members.push_back(member(1, i));
    ASSERT_TRUE(adapter().configure_qos(a).is_ok());
    const int prog = attached_program_fd();
    ASSERT_GE(prog, 0);
    const auto frame = event_frame(mac_, {10, 0, 0, 9}, {10, 0, 0, 1}, 9);

    std::atomic<bool> done{false};
    std::atomic<int> updates{0};
    std::string writer_error;
    std::thread writer([&] {
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        CPU_SET(0, &cpus);
        sched_setaffinity(0, sizeof(cpus), &cpus);
        for (int i = 0; i < 200000 && !done.load(); ++i) {
            const Status s = adapter().configure_qos(i % 2 ? a : b);
            if (!s) {
                writer_error = s.message();
                break;
            }
            updates.fetch_add(1);
        }
    });

    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(std::thread::hardware_concurrency() > 1 ? 1 : 0, &cpus);
    sched_setaffinity(0, sizeof(cpus), &cpus);
    int seen_a = 0, seen_b = 0, bad = 0, runs = 0;
    std::string first_bad;
    // Bounded: at most 2e6 runs; stops once 200 updates happened under the packets and both lists were seen.
    // (Each update costs an RCU grace period in the kernel: map-in-map updates wait for running programs.)
    for (; runs < 2000000; ++runs) {
        if (runs >= 20000 && updates.load() >= 200 && seen_a > 0 && seen_b > 0) break;
        const Result<testkit::ProgRun> r = test_run(prog, frame, ifindex_);
        if (!r || r->action != XDP_TX || r->output.size() != frame.size()) {
            ++bad;
            if (first_bad.empty()) first_bad = r ? "run failed: action " + std::to_string(r->action) : r.message();
            continue;
        }
        const std::uint8_t* ip_dst = r->output.data() + 14 + 16;
        const std::uint16_t port = static_cast<std::uint16_t>(r->output[14 + 20 + 2] << 8 | r->output[14 + 20 + 3]);
        const TopicConfig& list = ip_dst[1] == 0 ? a : b;
        bool whole = false;
        for (const Endpoint& e : list.groups[0].members) {
            whole = whole || (std::memcmp(ip_dst, e.ip.data(), 4) == 0 && port == e.port &&
                              std::memcmp(r->output.data(), e.mac->data(), 6) == 0 &&
                              std::memcmp(r->output.data() + 6, mac_.data(), 6) == 0);
        }
        if (!whole) {
            ++bad;
            if (first_bad.empty())
                first_bad = "mixed frame to " + std::to_string(ip_dst[0]) + "." + std::to_string(ip_dst[1]) + "." +
                            std::to_string(ip_dst[2]) + "." + std::to_string(ip_dst[3]) + ":" + std::to_string(port);
        } else {
            ++(ip_dst[1] == 0 ? seen_a : seen_b);
        }
    }
    done.store(true);
    writer.join();
    ::close(prog);
    EXPECT_EQ(writer_error, "");
    EXPECT_EQ(bad, 0) << first_bad;
    EXPECT_GT(seen_a, 0);
    EXPECT_GT(seen_b, 0);
    RecordProperty("runs", runs);
    RecordProperty("updates", updates.load());
    std::printf("runs=%d updates=%d seen_a=%d seen_b=%d\n", runs, updates.load(), seen_a, seen_b);
}

// Every slot of the attached router's published map `name` (published_map.h: topic_routes, fanout_routes,
// topic_limits), as the raw bytes of all its inner map's entries (empty: no inner map): what a batch and one
// configure_qos per topic are held against.
std::vector<std::vector<std::uint8_t>> published_slots(int prog, const std::string& name) {
    std::vector<std::vector<std::uint8_t>> slots;
    bpf_prog_info info{};
    std::uint32_t ids[64] = {};
    info.nr_map_ids = 64;
    info.map_ids = reinterpret_cast<std::uint64_t>(ids);
    std::uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(prog, &info, &length) != 0) return {};
    for (std::uint32_t i = 0; i < info.nr_map_ids && i < 64; ++i) {
        const UniqueFd map(bpf_map_get_fd_by_id(ids[i]));
        if (map.get() < 0) continue;
        bpf_map_info map_info{};
        std::uint32_t map_length = sizeof map_info;
        if (bpf_obj_get_info_by_fd(map.get(), &map_info, &map_length) != 0 || std::string(map_info.name) != name)
            continue;
        slots.resize(map_info.max_entries);
        for (std::uint32_t slot = 0; slot < map_info.max_entries; ++slot) {
            std::uint32_t inner_id = 0;
            if (bpf_map_lookup_elem(map.get(), &slot, &inner_id) != 0) continue;
            const UniqueFd inner(bpf_map_get_fd_by_id(inner_id));
            bpf_map_info inner_info{};
            std::uint32_t inner_length = sizeof inner_info;
            if (inner.get() < 0 || bpf_obj_get_info_by_fd(inner.get(), &inner_info, &inner_length) != 0) continue;
            std::vector<std::uint8_t> bytes(std::size_t{inner_info.value_size} * inner_info.max_entries);
            for (std::uint32_t key = 0; key < inner_info.max_entries && !bytes.empty(); ++key)
                if (bpf_map_lookup_elem(inner.get(), &key, &bytes[std::size_t{key} * inner_info.value_size]) != 0)
                    bytes.clear();
            slots[slot] = std::move(bytes);
        }
    }
    return slots;
}

std::vector<std::vector<std::uint8_t>> router_routes(int prog) {
    std::vector<std::vector<std::uint8_t>> routes = published_slots(prog, "topic_routes");
    if (routes.size() > TEMPOS_MAX_TOPICS) routes.resize(TEMPOS_MAX_TOPICS);
    return routes;
}

// configure_topics (one batched publication of the routes) against one configure_qos per topic: the same routes in
// the kernel, byte for byte, the same topics reported, and a topic that fails (no route to its member) fails alone
// with the same error, keeping the route it had; the others take effect.
TEST_F(XdpAdapterKernel, ABatchLeavesEveryRouteAsOneConfigureQosPerTopicWould) {
    ASSERT_TRUE(connect("native").is_ok());
    ASSERT_EQ(testkit::run_command({"ip", "route", "add", "unreachable", "10.9.0.0/16"}).message(), "");
    // Two generations of 40 topics: strict with 1..16 members, some best-effort; in the second topic 23's member
    // has no route and topic 24 moves to best-effort.
    auto generation = [](int g) {
        std::vector<TopicConfig> topics;
        for (int t = 10; t < 50; ++t) {
            TopicConfig topic{static_cast<std::uint8_t>(t), t % 7 == 0 ? Qos::best_effort : Qos::strict, {SubscriptionGroup{}}};
            for (int m = 0; m < 1 + (t + g) % TEMPOS_MAX_SUBSCRIBERS; ++m)
                topic.groups[0].members.push_back(Endpoint{{10, 0, 0, static_cast<std::uint8_t>(2 + m)},
                                                           static_cast<std::uint16_t>(1000 * (g + 1) + t * 20 + m),
                                                           Mac{0x02, static_cast<std::uint8_t>(g), 0, 0, 0, static_cast<std::uint8_t>(m)}});
            topics.push_back(topic);
        }
        if (g == 1) {
            topics[23 - 10].groups[0].members[0].ip = {10, 9, 9, 9};
            topics[24 - 10].qos = Qos::best_effort;
        }
        return topics;
    };
    const int prog = attached_program_fd();
    ASSERT_GE(prog, 0);
    auto reported = [&] {
        std::vector<std::uint8_t> ids;
        for (const TopicStats& t : adapter().stats().topics) ids.push_back(t.topic);
        return ids;
    };
    // One configure_qos each: what each generation leaves.
    std::vector<std::vector<std::vector<std::uint8_t>>> one_by_one;
    std::vector<std::vector<std::uint8_t>> reported_one_by_one;
    std::vector<std::string> errors_one_by_one;
    for (int g = 0; g < 2; ++g) {
        for (const TopicConfig& topic : generation(g))
            if (Status s = adapter().configure_qos(topic); !s) errors_one_by_one.push_back(s.message());
        one_by_one.push_back(router_routes(prog));
        reported_one_by_one.push_back(reported());
    }
    ASSERT_EQ(errors_one_by_one.size(), 1u);
    EXPECT_NE(errors_one_by_one[0].find("10.9.9.9"), std::string::npos) << errors_one_by_one[0];
    // Back to nothing, then the same generations as batches.
    for (int t = 10; t < 50; ++t) ASSERT_TRUE(adapter().remove_topic(static_cast<std::uint8_t>(t)).is_ok());
    ASSERT_EQ(router_routes(prog), std::vector<std::vector<std::uint8_t>>(TEMPOS_MAX_TOPICS));
    for (int g = 0; g < 2; ++g) {
        const std::vector<TopicConfig> topics = generation(g);
        std::vector<Status> results(topics.size());
        const Status first = adapter().configure_topics(topics, results);
        for (std::size_t i = 0; i < topics.size(); ++i) {
            if (g == 1 && topics[i].id == 23) {
                EXPECT_EQ(results[i].message(), errors_one_by_one[0]);
                EXPECT_EQ(first.message(), errors_one_by_one[0]);
            } else {
                EXPECT_TRUE(results[i].is_ok()) << "generation " << g << " topic " << int(topics[i].id) << ": "
                                                << results[i].message();
            }
        }
        const std::vector<std::vector<std::uint8_t>> routes = router_routes(prog);
        for (int t = 0; t < TEMPOS_MAX_TOPICS; ++t)
            EXPECT_EQ(routes[t], one_by_one[g][t]) << "generation " << g << " topic " << t;
        EXPECT_EQ(reported(), reported_one_by_one[g]);
    }
    // The failed topic kept its first route; topic 24 left the router.
    EXPECT_FALSE(one_by_one[1][23].empty());
    EXPECT_EQ(one_by_one[1][23], one_by_one[0][23]);
    EXPECT_TRUE(one_by_one[1][24].empty());
    // Strict events still routed from the batch's routes.
    const Result<testkit::ProgRun> routed = run_event(prog, 11, {10, 0, 0, 1});
    ASSERT_TRUE(routed) << routed.message();
    EXPECT_EQ(routed->action, XDP_TX);
    ::close(prog);
}

// The same with every kind of map-in-map write in one batch (bpf/map_ops.hpp): topics moving between the XDP route,
// the TC fan-out and best-effort (their old slots emptied), rate limits added, changed and removed, and a fan-out
// topic that fails; then all removed in one remove_topics call. The batch leaves the kernel's routes, fan-out routes
// and limits, byte for byte, the reported topics and each topic's XDP action as one call per topic does.
TEST_F(XdpAdapterKernel, ABatchWithRemovalsFanoutsAndLimitsLeavesTheKernelAsOneConfigureQosPerTopicWould) {
    ASSERT_TRUE(connect("native").is_ok());
    ASSERT_EQ(testkit::run_command({"ip", "route", "add", "unreachable", "10.9.0.0/16"}).message(), "");
    auto member = [](int g, int t, int group, int m) {
        return Endpoint{{10, 0, 0, static_cast<std::uint8_t>(2 + 16 * group + m)},
                        static_cast<std::uint16_t>(1000 * (g + 1) + t * 20 + group * 4 + m),
                        Mac{0x02, static_cast<std::uint8_t>(g), 0, 0, static_cast<std::uint8_t>(group),
                            static_cast<std::uint8_t>(m)}};
    };
    // Each topic takes every kind in turn (best-effort, one group, several groups) and a limit of its own, none
    // every third generation. In generation 1, topic 22 moves from the XDP route to the fan-out with a member
    // without a route: it fails and is left in neither (configure_qos empties its old slot first).
    auto generation = [&](int g) {
        std::vector<TopicConfig> topics;
        for (int t = 10; t < 50; ++t) {
            const int kind = (t + g) % 5;
            TopicConfig topic{static_cast<std::uint8_t>(t), kind == 0 ? Qos::best_effort : Qos::strict, {}};
            const int groups = kind < 3 ? 1 : kind - 1;
            for (int group = 0; group < groups; ++group) {
                topic.groups.push_back(SubscriptionGroup{});
                for (int m = 0; m < 1 + (t + group) % 3; ++m)
                    topic.groups.back().members.push_back(member(g, t, group, m));
            }
            if ((t + g) % 3 != 0)
                topic.rate_limit = RateLimit{static_cast<std::uint64_t>(1000 * (1 + (t + g) % 4)), 100};
            topics.push_back(topic);
        }
        if (g == 1) {
            EXPECT_GT(topics[22 - 10].groups.size(), 1u);
            topics[22 - 10].groups[1].members[0].ip = {10, 9, 9, 9};
        }
        return topics;
    };
    const int prog = attached_program_fd();
    ASSERT_GE(prog, 0);
    struct KernelState {
        std::vector<std::vector<std::uint8_t>> routes, fanouts, limits;
        std::vector<std::uint8_t> reported;
        std::vector<int> actions;
        bool operator==(const KernelState&) const = default;
    };
    auto state = [&] {
        KernelState s{published_slots(prog, "topic_routes"), published_slots(prog, "fanout_routes"),
                      published_slots(prog, "topic_limits"), {}, {}};
        for (const TopicStats& t : adapter().stats().topics) s.reported.push_back(t.topic);
        for (int t = 10; t < 50; ++t) {
            const Result<testkit::ProgRun> run = run_event(prog, static_cast<std::uint8_t>(t), {10, 0, 0, 1});
            s.actions.push_back(run ? static_cast<int>(run->action) : -1);
        }
        return s;
    };
    constexpr int kGenerations = 4;
    std::vector<KernelState> one_by_one;
    std::vector<std::string> errors_one_by_one;
    for (int g = 0; g < kGenerations; ++g) {
        for (const TopicConfig& topic : generation(g))
            if (Status s = adapter().configure_qos(topic); !s) errors_one_by_one.push_back(s.message());
        one_by_one.push_back(state());
    }
    ASSERT_EQ(errors_one_by_one.size(), 1u);
    EXPECT_NE(errors_one_by_one[0].find("10.9.9.9"), std::string::npos) << errors_one_by_one[0];
    EXPECT_TRUE(one_by_one[1].routes[22].empty() && one_by_one[1].fanouts[22].empty());
    // Every kind of write happened: routes, fan-out routes and limits in the kernel, and slots emptied.
    for (const KernelState& s : one_by_one) {
        auto used = [](const std::vector<std::vector<std::uint8_t>>& slots) {
            return std::count_if(slots.begin(), slots.end(), [](const auto& slot) { return !slot.empty(); });
        };
        EXPECT_GT(used(s.routes), 0);
        EXPECT_GT(used(s.fanouts), 0);
        EXPECT_GT(used(s.limits), 0);
        EXPECT_LT(used(s.routes) + used(s.fanouts), 40);
    }
    for (int t = 10; t < 50; ++t) ASSERT_TRUE(adapter().remove_topic(static_cast<std::uint8_t>(t)).is_ok());
    const KernelState empty = state();
    for (int g = 0; g < kGenerations; ++g) {
        SCOPED_TRACE("generation " + std::to_string(g));
        const std::vector<TopicConfig> topics = generation(g);
        std::vector<Status> results(topics.size());
        const Status first = adapter().configure_topics(topics, results);
        for (std::size_t i = 0; i < topics.size(); ++i) {
            if (g == 1 && topics[i].id == 22) {
                EXPECT_EQ(results[i].message(), errors_one_by_one[0]);
                EXPECT_EQ(first.message(), errors_one_by_one[0]);
            } else {
                EXPECT_TRUE(results[i].is_ok()) << "topic " << int(topics[i].id) << ": " << results[i].message();
            }
        }
        const KernelState batch = state();
        for (int t = 0; t < TEMPOS_MAX_TOPICS; ++t) {
            EXPECT_EQ(batch.routes[t], one_by_one[g].routes[t]) << "route of topic " << t;
            EXPECT_EQ(batch.fanouts[t], one_by_one[g].fanouts[t]) << "fan-out route of topic " << t;
            EXPECT_EQ(batch.limits[t], one_by_one[g].limits[t]) << "limit of topic " << t;
        }
        EXPECT_EQ(batch.reported, one_by_one[g].reported);
        EXPECT_EQ(batch.actions, one_by_one[g].actions);
    }
    // Removing them all in one call (Adapter::remove_topics) leaves what one remove_topic each left.
    std::vector<std::uint8_t> ids;
    for (int t = 10; t < 50; ++t) ids.push_back(static_cast<std::uint8_t>(t));
    std::vector<Status> removed(ids.size());
    EXPECT_TRUE(adapter().remove_topics(ids, removed).is_ok());
    for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_TRUE(removed[i].is_ok()) << removed[i].message();
    EXPECT_TRUE(state() == empty);
    ::close(prog);
}

// Only frames addressed to this MoM (bpf/destination.h): listening on 0.0.0.0, the interface's MAC and every
// address of it, followed as they change; another host's MAC, a broadcast or an
// address the interface does not have passes untouched.
TEST_F(XdpAdapterKernel, TakesOnlyFramesAddressedToTheInterfaceAndFollowsAddressChanges) {
    ASSERT_TRUE(connect("native").is_ok());
    const Mac sub_mac{0x02, 0x0a, 0, 0, 0, 0x02};
    ASSERT_EQ(route(7, Qos::strict, Endpoint{{10, 0, 0, 2}, 7000, sub_mac}).message(), "");
    const int prog = attached_program_fd();
    ASSERT_GE(prog, 0);
    auto action_for = [&](const Mac& dst_mac, Ipv4 dst) {
        const auto frame = event_frame(dst_mac, {10, 0, 0, 9}, dst, 7);
        const Result<testkit::ProgRun> r = test_run(prog, frame, ifindex_);
        EXPECT_TRUE(r) << r.message();
        if (!r) return -1;
        if (r->action == XDP_PASS) {
            EXPECT_EQ(r->output, frame) << "a passed frame leaves untouched";
        }
        return r->action;
    };
    // The watcher applies a change within a few milliseconds; bounded at 2 s.
    auto becomes = [&](const Mac& dst_mac, Ipv4 dst, int action) {
        for (int i = 0; i < 200; ++i) {
            if (action_for(dst_mac, dst) == action) return true;
            ::usleep(10 * 1000);
        }
        return false;
    };
    const Mac other_host{0x02, 0, 0, 0, 0, 0x77};
    const Mac broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(action_for(mac_, {10, 0, 0, 1}), XDP_TX);
    EXPECT_EQ(action_for(mac_, {10, 1, 0, 1}), XDP_TX) << "the interface's second address";
    EXPECT_EQ(action_for(other_host, {10, 0, 0, 1}), XDP_PASS);
    EXPECT_EQ(action_for(broadcast, {255, 255, 255, 255}), XDP_PASS);
    EXPECT_EQ(action_for(mac_, {255, 255, 255, 255}), XDP_PASS);
    EXPECT_EQ(action_for(mac_, {10, 2, 0, 1}), XDP_PASS);

    ASSERT_EQ(testkit::run_command({"ip", "addr", "add", "10.2.0.1/24", "dev", "xdp0"}).message(), "");
    EXPECT_TRUE(becomes(mac_, {10, 2, 0, 1}, XDP_TX)) << "an address added after connect is taken";
    ASSERT_EQ(testkit::run_command({"ip", "addr", "del", "10.1.0.1/24", "dev", "xdp0"}).message(), "");
    EXPECT_TRUE(becomes(mac_, {10, 1, 0, 1}, XDP_PASS)) << "a removed address is no longer taken";

    // VLAN sub-interfaces (their MACs and addresses count too, plugin/local_addresses.cpp) cannot be tested here:
    // this kernel has no 802.1Q device type ("ip link add ... type vlan": Unknown device type).
    ::close(prog);
}

// A `listen` address: only that address is the MoM's, the interface's others are not.
TEST_F(XdpAdapterKernel, ListenAddressTakesOnlyThatAddress) {
    ASSERT_EQ(connect_channel(kIface, kMomPort, "native", {}, {10, 1, 0, 1}).message(), "");
    ASSERT_EQ(route(7, Qos::strict, Endpoint{{10, 0, 0, 2}, 7000, Mac{2, 0xa, 0, 0, 0, 2}}).message(), "");
    expect_action(7, {10, 1, 0, 1}, XDP_TX);
    SCOPED_TRACE("another address of the interface, not the listen address");
    expect_action(7, {10, 0, 0, 1}, XDP_PASS);
}

// 200 x (load, create, connect attaching natively, configure a kernel route, send, close, unload) in one
// process under AddressSanitizer/LeakSanitizer: no leak, no fd left, no program left on the interface.
// 200, not 1000: a round loads and verifies both programs, 0.35 s under ASan with the machine's parallel builds
// (20 rounds: 7.0 s, main's build and this one alike), so 1000 rounds overran the 300 s test timeout; LeakSanitizer
// reports a leak of any single round, and a leaked fd per round shows as 200.
TEST_F(XdpAdapterKernel, LoadAttachUnloadLoopLeaksNothingUnderLeakSanitizer) {
    const Result<int> status =
        exit_status_of({TEMPOS_LOAD_LOOP_ASAN_PATH, "200", "native", "xdp0"}, {"ASAN_OPTIONS=detect_leaks=1"});
    ASSERT_TRUE(status) << status.message();
    EXPECT_EQ(*status, 0);
    EXPECT_EQ(xdp_state(kIface).prog_id, 0u);
}

// The production libxdp_adapter.so attaching under valgrind (slow: 20 rounds).
TEST_F(XdpAdapterKernel, LoadAttachUnloadLoopLeaksNothingUnderValgrind) {
    const Result<int> status = exit_status_of({"valgrind", "-q", "--leak-check=full",
                                               "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=1",
                                               std::string("--suppressions=") + TEMPOS_VALGRIND_SUPPRESSIONS,
                                               TEMPOS_LOAD_LOOP_PATH, "20", "native", "xdp0"});
    ASSERT_TRUE(status) << status.message();
    EXPECT_EQ(*status, 0);
    EXPECT_EQ(xdp_state(kIface).prog_id, 0u);
}

}  // namespace
}  // namespace tempos::test
