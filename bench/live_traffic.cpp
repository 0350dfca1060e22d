#include "live_traffic.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "frames/frame_world.hpp"
#include "interrupt.hpp"
#include "live_generator.skel.h"
#include "map_ops.hpp"
#include "sink_counter.skel.h"
#include "tcx.hpp"
#include "topology/netns.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

namespace {
double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
void sleep_until_s(double t) {
    timespec ts{static_cast<time_t>(t), static_cast<long>((t - static_cast<double>(static_cast<time_t>(t))) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}
}  // namespace

LiveGenerator::LiveGenerator() = default;

LiveGenerator::~LiveGenerator() {
    if (hold_link_) bpf_link__destroy(hold_link_);
    if (skel_) live_generator__destroy(skel_);
}

std::string LiveGenerator::open() {
    skel_ = live_generator__open_and_load();
    if (!skel_) return std::string("loading the live-frames generator: ") + std::strerror(errno);
    if (Status st = testkit::add_veth_pair({.a = "tbgen0", .b = "tbgen1"}); !st)
        return "creating the veth that holds the generator: " + st.message();
    const int ifindex = static_cast<int>(if_nametoindex("tbgen0"));
    hold_link_ = bpf_program__attach_xdp(skel_->progs.live_generator, ifindex);
    if (!hold_link_) return std::string("attaching the generator to tbgen0: ") + std::strerror(errno);
    return {};
}

GeneratorRun LiveGenerator::run(int ifindex, const std::vector<std::uint8_t>& frame, double rate_pps,
                                double seconds, std::string& error) {
    GeneratorRun result;
    if (frame.size() != sizeof(skel_->bss->frame_template)) {
        error = "the generator sends 64-byte frames";
        return result;
    }
    std::memcpy(skel_->bss->frame_template, frame.data(), frame.size());
    xdp_md ctx{};
    ctx.ingress_ifindex = static_cast<std::uint32_t>(ifindex);
    ctx.data_end = static_cast<std::uint32_t>(frame.size());  // the kernel insists: the whole frame is packet data
    // About 1 ms of traffic per call when paced (at least one kernel batch); large calls at full speed.
    const std::uint32_t chunk =
        rate_pps > 0 ? std::clamp<std::uint32_t>(static_cast<std::uint32_t>(rate_pps / 1000), kBatchSize, 1u << 16)
                     : 1u << 16;
    const int fd = bpf_program__fd(skel_->progs.live_generator);
    const double start = now_s();
    const double stop = start + seconds;
    for (;;) {
        const double now = now_s();
        if (now >= stop) break;
        if (interrupted()) {
            error = "interrupted";
            break;
        }
        if (rate_pps > 0) {
            const double due = start + static_cast<double>(result.frames) / rate_pps;
            if (due >= stop) break;
            if (due > now) sleep_until_s(due);
        }
        LIBBPF_OPTS(bpf_test_run_opts, opts);
        opts.data_in = frame.data();
        opts.data_size_in = static_cast<std::uint32_t>(frame.size());
        opts.ctx_in = &ctx;
        opts.ctx_size_in = sizeof(ctx);
        opts.repeat = chunk;
        opts.batch_size = kBatchSize;
        opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
        if (bpf_prog_test_run_opts(fd, &opts) != 0) {
            error = std::string("live-frames test run: ") + std::strerror(errno);
            break;
        }
        result.frames += chunk;
    }
    result.seconds = now_s() - start;
    return result;
}

SinkCounter::~SinkCounter() {
    if (link_fd_ >= 0) ::close(link_fd_);
    if (skel_) sink_counter__destroy(skel_);
}

std::string SinkCounter::attach(int ifindex, std::uint16_t port, Hook hook) {
    skel_ = sink_counter__open();
    if (!skel_) return std::string("opening the counter: ") + std::strerror(errno);
    skel_->rodata->count_port = htons(port);
    bpf_program* used = hook == Hook::xdp ? skel_->progs.xdp_counter : skel_->progs.tc_counter;
    bpf_program__set_autoload(hook == Hook::xdp ? skel_->progs.tc_counter : skel_->progs.xdp_counter, false);
    if (int err = sink_counter__load(skel_); err != 0)
        return std::string("loading the counter: ") + std::strerror(-err);
    LIBBPF_OPTS(bpf_link_create_opts, options);
    link_fd_ = bpf_link_create(bpf_program__fd(used), ifindex, hook == Hook::xdp ? BPF_XDP : tempos::xdp::kTcxIngress,
                               &options);
    return link_fd_ >= 0 ? std::string() : std::string("attaching the counter: ") + std::strerror(errno);
}

std::uint64_t SinkCounter::total() const {
    std::vector<std::uint64_t> per_cpu;
    if (!tempos::xdp::read_per_cpu(bpf_map__fd(skel_->maps.received), 0, per_cpu, "the received counter")) return 0;
    std::uint64_t sum = 0;
    for (const std::uint64_t v : per_cpu) sum += v;
    return sum;
}

std::string LiveRig::open(std::uint8_t topic, std::optional<SinkCounter::Hook> counter_hook) {
    {
        testkit::NetnsScope in_pub(net.ns("pub"));
        if (!in_pub.status()) return in_pub.status().message();
        if (std::string err = generator.open(); !err.empty()) return err;
        pub_ifindex = static_cast<int>(if_nametoindex("eth0"));
    }
    if (counter_hook) {
        testkit::NetnsScope in_sub(net.ns("sub1"));
        if (!in_sub.status()) return in_sub.status().message();
        const int sub_if = static_cast<int>(if_nametoindex("eth0"));
        if (std::string err = counter.attach(sub_if, testkit::world::kMomPort, *counter_hook); !err.empty()) return err;
    }
    namespace p2p = testkit::world::point_to_point;
    const auto mom_mac = net.mac("mom", "eth0"), pub_mac = net.mac("pub", "eth0");
    if (!mom_mac || !pub_mac) return mom_mac ? pub_mac.message() : mom_mac.message();
    frame = testkit::bench_event(*mom_mac, *pub_mac, testkit::world::ipv4_bytes(p2p::kPubIp),
                                 testkit::world::ipv4_bytes(p2p::kMomIp), testkit::world::kMomPort, topic)
                .build();
    return {};
}

}  // namespace tempos::bench
