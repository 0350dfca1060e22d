#include "router_harness.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "skeleton.hpp"
#include "tempos_router.skel.h"

namespace tempos::test {

std::unique_ptr<LoadedRouter> LoadedRouter::load(const RouterSettings& settings, std::string& error) {
    tempos::xdp::SkeletonPtr<tempos_router> skel(tempos_router__open(), tempos_router__destroy);
    if (!skel) {
        error = std::string("tempos_router__open: ") + std::strerror(errno);
        return nullptr;
    }
    tempos::xdp::set_mom_constants(*skel, settings.mom_port, settings.mom_ip);
    if (int err = tempos_router__load(skel.get()); err != 0) {
        error = std::string("tempos_router__load (verifier): ") + std::strerror(-err);
        return nullptr;
    }
    return std::unique_ptr<LoadedRouter>(new LoadedRouter(skel.release()));
}

LoadedRouter::LoadedRouter(tempos_router* skel) : skel_(skel) {
    routes_.emplace(topic_routes_fd(), topic_counters_fd());
}

LoadedRouter::~LoadedRouter() { tempos_router__destroy(skel_); }

int LoadedRouter::prog_fd() const { return bpf_program__fd(skel_->progs.tempos_router); }
int LoadedRouter::topic_routes_fd() const { return bpf_map__fd(skel_->maps.topic_routes); }
int LoadedRouter::topic_counters_fd() const { return bpf_map__fd(skel_->maps.topic_counters); }
int LoadedRouter::egress_ports_fd() const { return bpf_map__fd(skel_->maps.egress_ports); }
int LoadedRouter::fanout_routes_fd() const { return bpf_map__fd(skel_->maps.fanout_routes); }

XdpRun run_xdp(int prog_fd, const Bytes& input, std::uint32_t ingress_ifindex) {
    xdp_md ctx{};
    ctx.data_end = static_cast<std::uint32_t>(input.size());
    ctx.ingress_ifindex = ingress_ifindex;
    return ingress_ifindex != 0 ? prog_test_run(prog_fd, input, &ctx, sizeof(ctx))
                                : prog_test_run(prog_fd, input, nullptr, 0);
}

std::string action_name(int action) {
    switch (action) {
        case XDP_ABORTED: return "XDP_ABORTED";
        case XDP_DROP: return "XDP_DROP";
        case XDP_PASS: return "XDP_PASS";
        case XDP_TX: return "XDP_TX";
        case XDP_REDIRECT: return "XDP_REDIRECT";
        default: return "action " + std::to_string(action);
    }
}

tempos_endpoint endpoint(const Ipv4Addr& ip, std::uint16_t port, std::optional<MacAddr> mac, const MacAddr& src_mac,
                         std::uint32_t ifindex) {
    tempos_endpoint ep{};
    std::memcpy(&ep.ipv4, ip.data(), 4);
    ep.port = htons(port);
    if (mac) {
        ep.flags = TEMPOS_EP_HAS_MAC;
        std::memcpy(ep.mac, mac->data(), 6);
        std::memcpy(ep.src_mac, src_mac.data(), 6);
    }
    ep.ifindex = ifindex;
    return ep;
}

std::string counters_text(const tempos_topic_counters& c) {
    std::ostringstream out;
    out << "redirected=" << c.redirected_packets << " bytes=" << c.redirected_bytes << " aborted=" << c.aborted
        << " passed=[";
    for (int r = 0; r < TEMPOS_PASS_REASONS; ++r) out << (r ? "," : "") << c.passed[r];
    out << "]";
    return out.str();
}

}  // namespace tempos::test
