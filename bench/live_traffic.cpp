#include "live_traffic.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "frames/frame_world.hpp"
#include "live_generator.skel.h"
#include "map_ops.hpp"
#include "process/process.hpp"
#include "sink_counter.skel.h"
#include "subcommand.hpp"  // interrupted()
#include "tcx.hpp"
#include "test_run_timer.hpp"
#include "topology/netns.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

namespace {
using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC
using Seconds = std::chrono::duration<double>;
}  // namespace

Status LiveRig::build(int cpu, const testkit::PointToPointOptions& layout, std::uint8_t topic,
                      std::optional<Hook> counter_hook) {
    if (Status st = testkit::pin_to_cpu(cpu); !st) return st;
    Result<testkit::Topology> built = testkit::point_to_point(layout);
    if (!built) return built.status();
    net = std::move(*built);
    Status opened = testkit::run_in_netns(net.ns("pub"), [&] {
        pub_ifindex_ = static_cast<int>(if_nametoindex("eth0"));
        generator_ = {live_generator__open_and_load(), live_generator__destroy};
        if (!generator_) return os_error("loading the live-frames generator", errno);
        return hold_in_dispatcher({bpf_program__fd(generator_->progs.live_generator)}, "tbgen");
    });
    if (opened && counter_hook)
        opened = testkit::run_in_netns(net.ns("sub1"), [&] {
            counter_ = {sink_counter__open(), sink_counter__destroy};
            if (!counter_) return os_error("opening the counter", errno);
            counter_->rodata->count_port = htons(testkit::world::kMomPort);
            const bool xdp = *counter_hook == Hook::xdp;
            bpf_program__set_autoload(xdp ? counter_->progs.tc_counter : counter_->progs.xdp_counter, false);
            if (int err = sink_counter__load(counter_.get()); err != 0) return os_error("loading the counter", -err);
            LIBBPF_OPTS(bpf_link_create_opts, options);
            counter_link_ = UniqueFd(bpf_link_create(
                bpf_program__fd(xdp ? counter_->progs.xdp_counter : counter_->progs.tc_counter),
                static_cast<int>(if_nametoindex("eth0")), xdp ? BPF_XDP : tempos::xdp::kTcxIngress, &options));
            return counter_link_.get() >= 0 ? Status::ok() : os_error("attaching the counter", errno);
        });
    if (!opened) return opened;
    namespace p2p = testkit::world::point_to_point;
    const auto mom_mac = net.mac("mom", "eth0"), pub_mac = net.mac("pub", "eth0");
    if (!mom_mac || !pub_mac) return mom_mac ? pub_mac.status() : mom_mac.status();
    frame = testkit::bench_event(*mom_mac, *pub_mac, testkit::world::ipv4_bytes(p2p::kPubIp),
                                 testkit::world::ipv4_bytes(p2p::kMomIp), testkit::world::kMomPort, topic)
                .build();
    return Status::ok();
}

Result<GeneratorRun> LiveRig::send(double rate_pps, double seconds) const {
    testkit::NetnsScope in_pub(net.ns("pub"));
    if (!in_pub.status()) return in_pub.status();
    if (frame.size() != sizeof(generator_->bss->frame_template))
        return Status::error(ErrorCode::invalid_argument, "the generator sends 64-byte frames");
    std::memcpy(generator_->bss->frame_template, frame.data(), frame.size());
    xdp_md ctx{};
    ctx.ingress_ifindex = static_cast<std::uint32_t>(pub_ifindex_);
    ctx.data_end = static_cast<std::uint32_t>(frame.size());  // the kernel insists: the whole frame is packet data
    // About 1 ms of traffic per call when paced (at least one kernel batch); large calls at full speed.
    const std::uint32_t chunk =
        rate_pps > 0 ? std::clamp<std::uint32_t>(static_cast<std::uint32_t>(rate_pps / 1000), kBatchSize, 1u << 16)
                     : 1u << 16;
    const int fd = bpf_program__fd(generator_->progs.live_generator);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = ctx.data_end, .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(chunk), .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
                .batch_size = kBatchSize);
    GeneratorRun result;
    const Clock::time_point start = Clock::now(),
                            stop = start + std::chrono::duration_cast<Clock::duration>(Seconds(seconds));
    for (Clock::time_point now = start; now < stop; now = Clock::now()) {
        if (interrupted()) return Status::error(ErrorCode::internal, "interrupted");
        if (rate_pps > 0) {
            const auto due = start + std::chrono::duration_cast<Clock::duration>(Seconds(result.frames / rate_pps));
            if (due >= stop) break;
            if (due > now) std::this_thread::sleep_until(due);
        }
        if (bpf_prog_test_run_opts(fd, &opts) != 0) return os_error("live-frames test run", errno);
        result.frames += chunk;
    }
    result.seconds = Seconds(Clock::now() - start).count();
    return result;
}

std::uint64_t LiveRig::counted() const {
    if (!counter_) return 0;
    const Result<std::uint64_t> sum =
        tempos::xdp::sum_per_cpu<std::uint64_t>(bpf_map__fd(counter_->maps.received), 0, "the received counter",
                                                [](std::uint64_t& total, std::uint64_t v) { total += v; });
    return sum ? *sum : 0;
}

Result<LiveStep> LiveRig::step(double rate_pps, double seconds, int threads, int first_cpu, int copies) const {
    const std::uint64_t before = counted();
    std::vector<Result<GeneratorRun>> runs(static_cast<std::size_t>(threads), Status::error(ErrorCode::internal, ""));
    auto generate = [&](std::size_t i) {
        if (Status pinned = first_cpu < 0 ? Status::ok() : testkit::pin_to_cpu(first_cpu + static_cast<int>(i));
            !pinned)
            runs[i] = pinned;
        else
            runs[i] = send(rate_pps / static_cast<double>(threads), seconds);
    };
    std::vector<std::thread> others;
    for (std::size_t i = 1; i < runs.size(); ++i) others.emplace_back(generate, i);
    generate(0);
    for (std::thread& t : others) t.join();
    LiveStep step;
    for (const Result<GeneratorRun>& run : runs) {
        if (!run) return run.status();
        step.sent.frames += run->frames;
        step.sent.seconds = std::max(step.sent.seconds, run->seconds);
    }
    const std::uint64_t wanted = before + step.sent.frames * static_cast<std::uint64_t>(copies);
    step.delivered = testkit::poll_until_settled([&] { return counted(); }, wanted, std::chrono::milliseconds(100),
                                                 std::chrono::seconds(3)) -
                     before;
    return step;
}

Result<LiveRig::Sweep> LiveRig::sweep(double seconds, const std::vector<double>& rates_m, const GoOn& go_on,
                                      const testkit::MomRunner* mom, int threads, int first_cpu, int copies) const {
    if (Result<LiveStep> warm = step(20'000, 0.2, threads, first_cpu, copies); !warm) return warm.status();
    auto socket = [&] { return mom ? mom->udp_in_datagrams() : Result<std::uint64_t>(0); };
    const Result<std::uint64_t> before = socket();
    if (!before) return before.status();
    Sweep out;
    for (std::size_t i = 0; i <= rates_m.size() && (i == 0 || go_on(out, rates_m[i - 1] * 1e6)); ++i) {
        const Result<LiveStep> s = step(i == 0 ? 0 : rates_m[i - 1] * 1e6, seconds, threads, first_cpu, copies);
        if (!s) return s.status();
        out.steps.push_back(*s);
    }
    const Result<std::uint64_t> after = socket();
    if (!after) return after.status();
    out.mom_socket_datagrams = *after - *before;
    return out;
}

}  // namespace tempos::bench
