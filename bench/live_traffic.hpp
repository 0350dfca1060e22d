// Live traffic (throughput, latency, fanout): a BPF_PROG_TEST_RUN live-frames generator (an AF_PACKET one where
// the kernel refuses that mode), a counter at the receiver.
#pragma once

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "frames/frame_world.hpp"
#include "live_generator.skel.h"
#include "map_ops.hpp"
#include "process/mom_runner.hpp"
#include "process/process.hpp"
#include "sink_counter.skel.h"
#include "skeleton.hpp"
#include "tcx.hpp"
#include "tempos/unique_fd.hpp"
#include "test_run_timer.hpp"
#include "topology/interface.hpp"
#include "topology/layouts.hpp"
#include "topology/netns.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

// Whether this kernel performs live-frames test runs: some refuse them with EPERM even to root (seen on a
// Firecracker guest kernel). Probed once with a program that drops its one frame.
inline bool live_frames_permitted() {
    static const bool permitted = [] {
        bpf_insn drop[2] = {};  // r0 = XDP_DROP; exit
        drop[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
        drop[0].imm = XDP_DROP;
        drop[1].code = BPF_JMP | BPF_EXIT;
        UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_XDP, "tb_probe", "GPL", drop, 2, nullptr));
        if (prog.get() < 0) return false;
        std::uint8_t frame[64] = {};
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame), .repeat = 1,
                    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
        return bpf_prog_test_run_opts(prog.get(), &opts) == 0;
    }();
    return permitted;
}

struct GeneratorRun {
    std::uint64_t frames = 0;  // frames the kernel ran the program on, hence transmitted or dropped on the way
    // Of those, the ones pub:eth0 refused as the AF_PACKET generator sent them (live frames: 0, their drops show as
    // mom:eth0's rx_dropped instead).
    std::uint64_t device_dropped = 0;
    double seconds = 0;
    double rate_pps() const { return seconds > 0 ? static_cast<double>(frames) / seconds : 0; }
};

// One step of offered load and what the counter saw of it.
struct LiveStep {
    GeneratorRun sent;            // every thread's frames, over the longest thread's time
    std::uint64_t delivered = 0;  // counted at sub1
    double delivered_per_s() const { return sent.seconds > 0 ? static_cast<double>(delivered) / sent.seconds : 0; }
    double loss() const {  // of the frames sent, one copy each
        return sent.frames > delivered ? static_cast<double>(sent.frames - delivered) / sent.frames : 0;
    }
};

// What the live benchmarks set up on the test kit's point-to-point topology: the generator (bench/
// live_generator.bpf.c) on pub:eth0 with the strict event it sends (pub to the MoM's port), and, when asked, the
// counter (bench/sink_counter.bpf.c: counts and drops the UDP datagrams to the MoM's port) on sub1:eth0.
class LiveRig {
    using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC
    using Seconds = std::chrono::duration<double>;

public:
    static constexpr std::uint32_t kBatchSize = 64;  // frames per kernel batch (the kernel's default, max 256)
    enum class Hook { xdp, tc_ingress };             // where the counter is attached

    // The calling thread pinned to `cpu`, `net` built, then the generator, the frame of `topic` and the counter
    // (XDP in the mode the driver prefers, or tcx at ingress; a bpf_link owned by this process) at `counter_hook`.
    // The generator is held in the kernel's XDP dispatcher from a veth pair of its own in pub's namespace
    // (hold_in_dispatcher, test_run_timer.hpp); where live frames are refused, an AF_PACKET socket on pub:eth0
    // sends instead (generator() says which, and the reports record it).
    Status build(int cpu, const testkit::PointToPointOptions& layout, std::uint8_t topic,
                 std::optional<Hook> counter_hook) {
        TEMPOS_RETURN_IF_ERROR(testkit::pin_to_cpu(cpu));
        TEMPOS_ASSIGN_OR_RETURN(net, testkit::point_to_point(layout));
        Status opened = testkit::run_in_netns(net.ns("pub"), [&] {
            pub_ifindex_ = static_cast<int>(if_nametoindex("eth0"));
            if (!live_frames_permitted()) {
                TEMPOS_ASSIGN_OR_RETURN(auto sender, testkit::FrameSender::open("eth0"));
                sender_.emplace(std::move(sender));
                return Status::ok();
            }
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
                if (int err = sink_counter__load(counter_.get()); err != 0)
                    return os_error("loading the counter", -err);
                LIBBPF_OPTS(bpf_link_create_opts, options);
                counter_link_ = UniqueFd(bpf_link_create(
                    bpf_program__fd(xdp ? counter_->progs.xdp_counter : counter_->progs.tc_counter),
                    static_cast<int>(if_nametoindex("eth0")), xdp ? BPF_XDP : tempos::xdp::kTcxIngress, &options));
                return counter_link_.get() >= 0 ? Status::ok() : os_error("attaching the counter", errno);
            });
        if (!opened) return opened;
        return set_frame(topic, false);
    }
    // `frame`: the strict event of `topic`, pub to the MoM's port, IPv4 (64 bytes) or IPv6 (84 bytes).
    Status set_frame(std::uint8_t topic, bool ipv6) {
        namespace p2p = testkit::world::point_to_point;
        TEMPOS_ASSIGN_OR_RETURN(auto mom, net.mac("mom", "eth0"));
        TEMPOS_ASSIGN_OR_RETURN(auto pub, net.mac("pub", "eth0"));
        using testkit::world::ipv4_bytes, testkit::world::ipv6_bytes, testkit::world::kMomPort;
        frame = ipv6 ? testkit::bench_event6(mom, pub, ipv6_bytes(p2p::kPubIp6), ipv6_bytes(p2p::kMomIp6), kMomPort,
                                             topic)
                           .build()
                     : testkit::bench_event(mom, pub, ipv4_bytes(p2p::kPubIp), ipv4_bytes(p2p::kMomIp), kMomPort, topic)
                           .build();
        return Status::ok();
    }
    // "live_frames" or "af_packet" (above).
    const char* generator() const { return sender_ ? "af_packet" : "live_frames"; }

    // The generator in the calling thread, entering pub's namespace for the run: `frame` out of pub:eth0 at
    // `rate_pps` (0: as fast as the kernel goes) for `seconds`, paced in chunks of about a millisecond of traffic.
    Result<GeneratorRun> send(double rate_pps, double seconds) const {
        testkit::NetnsScope in_pub(net.ns("pub"));
        if (!in_pub.status()) return in_pub.status();
        if (frame.size() != 64 && frame.size() != sizeof(generator_->bss->frame_template))
            return Status::error(ErrorCode::invalid_argument, "the generator sends 64- or 84-byte frames");
        if (!sender_) {
            std::memcpy(generator_->bss->frame_template, frame.data(), frame.size());
            generator_->bss->frame_len = static_cast<std::uint32_t>(frame.size());
        }
        xdp_md ctx{};
        ctx.ingress_ifindex = static_cast<std::uint32_t>(pub_ifindex_);
        ctx.data_end = static_cast<std::uint32_t>(frame.size());  // the kernel insists: the whole frame is packet data
        // About 1 ms of traffic per call when paced (at least one kernel batch); large calls at full speed.
        const std::uint32_t chunk =
            rate_pps > 0 ? std::clamp<std::uint32_t>(static_cast<std::uint32_t>(rate_pps / 1000), kBatchSize, 1u << 16)
                         : 1u << 16;
        const int fd = sender_ ? -1 : bpf_program__fd(generator_->progs.live_generator);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = ctx.data_end, .ctx_in = &ctx,
                    .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(chunk), .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
                    .batch_size = kBatchSize);
        GeneratorRun result;
        const Clock::time_point start = Clock::now(),
                                stop = start + std::chrono::duration_cast<Clock::duration>(Seconds(seconds));
        for (Clock::time_point now = start; now < stop; now = Clock::now()) {
            if (interrupted()) return Status::error(ErrorCode::internal, "interrupted");
            if (rate_pps > 0) {
                const auto due =
                    start + std::chrono::duration_cast<Clock::duration>(Seconds(result.frames / rate_pps));
                if (due >= stop) break;
                if (due > now) std::this_thread::sleep_until(due);
            }
            if (sender_) {  // every copy offered, the ones the device dropped included (as with live frames)
                TEMPOS_ASSIGN_OR_RETURN(auto dropped, sender_->send_copies(frame, chunk));
                result.device_dropped += dropped;
            } else if (bpf_prog_test_run_opts(fd, &opts) != 0) {
                return os_error("live-frames test run", errno);
            }
            result.frames += chunk;
        }
        result.seconds = Seconds(Clock::now() - start).count();
        return result;
    }
    // `threads` generator threads (the calling thread and others, pinned to first_cpu, first_cpu + 1, ... unless
    // first_cpu < 0) share `rate_pps` (0: each unpaced) for `seconds`. The count is taken once the counter has
    // `copies` per frame sent, or stopped moving for 100 ms (the queues drained; bounded at 3 s).
    Result<LiveStep> step(double rate_pps, double seconds, int threads = 1, int first_cpu = -1, int copies = 1) const {
        const std::uint64_t before = counted();
        std::vector<Result<GeneratorRun>> runs(static_cast<std::size_t>(threads),
                                               Status::error(ErrorCode::internal, ""));
        auto generate = [&](std::size_t i) {
            const Status pinned = first_cpu < 0 ? Status::ok() : testkit::pin_to_cpu(first_cpu + static_cast<int>(i));
            runs[i] = pinned ? send(rate_pps / static_cast<double>(threads), seconds) : Result<GeneratorRun>(pinned);
        };
        std::vector<std::thread> others;
        for (std::size_t i = 1; i < runs.size(); ++i) others.emplace_back(generate, i);
        generate(0);
        for (std::thread& t : others) t.join();
        LiveStep step;
        for (const Result<GeneratorRun>& run : runs) {
            if (!run) return run.status();
            step.sent.frames += run->frames;
            step.sent.device_dropped += run->device_dropped;
            step.sent.seconds = std::max(step.sent.seconds, run->seconds);
        }
        const std::uint64_t wanted = before + step.sent.frames * static_cast<std::uint64_t>(copies);
        step.delivered = testkit::poll_until_settled([&] { return counted(); }, wanted, std::chrono::milliseconds(100),
                                                     std::chrono::seconds(3)) -
                         before;
        return step;
    }
    // A warm-up (not reported: it resolves neighbours, faults pages in, lets the MoM finish its set-up), the unpaced
    // step (the generator's limit), then `rates_m` (millions per second) in order while go_on(the sweep so far, the
    // rate in pps) holds; each step as step(rate, seconds, threads, first_cpu, copies). With `mom`: what reached its
    // socket.
    struct Sweep {
        std::vector<LiveStep> steps;  // the unpaced one first
        std::uint64_t mom_socket_datagrams = 0;
        const LiveStep& best() const { return *std::ranges::max_element(steps, {}, &LiveStep::delivered_per_s); }
    };
    using GoOn = std::function<bool(const Sweep& so_far, double rate_pps)>;
    Result<Sweep> sweep(double seconds, const std::vector<double>& rates_m, const GoOn& go_on,
                        const testkit::MomRunner* mom, int threads = 1, int first_cpu = -1, int copies = 1) const {
        if (Result<LiveStep> warm = step(20'000, 0.2, threads, first_cpu, copies); !warm) return warm.status();
        auto socket = [&] { return mom ? mom->udp_in_datagrams() : Result<std::uint64_t>(0); };
        TEMPOS_ASSIGN_OR_RETURN(auto before, socket());
        Sweep out;
        for (std::size_t i = 0; i <= rates_m.size() && (i == 0 || go_on(out, rates_m[i - 1] * 1e6)); ++i) {
            const double pps = i == 0 ? 0 : rates_m[i - 1] * 1e6;
            TEMPOS_ASSIGN_OR_RETURN(auto s, step(pps, seconds, threads, first_cpu, copies));
            out.steps.push_back(s);
        }
        TEMPOS_ASSIGN_OR_RETURN(auto after, socket());
        out.mom_socket_datagrams = after - before;
        return out;
    }

    testkit::Topology net;
    std::vector<std::uint8_t> frame;  // set_frame

private:
    std::uint64_t counted() const {  // over all CPUs; 0 if unreadable
        if (!counter_) return 0;
        const Result<std::uint64_t> sum =
            tempos::xdp::sum_per_cpu<std::uint64_t>(bpf_map__fd(counter_->maps.received), 0, "the received counter",
                                                    [](std::uint64_t& total, std::uint64_t v) { total += v; });
        return sum ? *sum : 0;
    }

    xdp::SkeletonPtr<live_generator> generator_{nullptr, nullptr};  // destroyed last
    std::optional<testkit::FrameSender> sender_;                      // instead of generator_ (above)
    xdp::SkeletonPtr<sink_counter> counter_{nullptr, nullptr};
    UniqueFd counter_link_;
    int pub_ifindex_ = 0;
};

}  // namespace tempos::bench
