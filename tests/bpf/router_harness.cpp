#include "router_harness.hpp"

#include <linux/bpf.h>

#include <sstream>

namespace tempos::test {

Result<LoadedRouter> load_router(const MomConstants& mom) {
    auto skel = testkit::load_router_skeleton(mom);
    if (!skel) return skel.status();
    const int routes = bpf_map__fd((*skel)->maps.topic_routes), counters = bpf_map__fd((*skel)->maps.topic_counters);
    return LoadedRouter{std::move(*skel), xdp::RouteTable(routes, counters)};
}

testkit::RouterMaps LoadedRouter::maps() const {
    return testkit::router_maps(*skel);
}

Result<XdpRun> run_xdp(int prog_fd, const Bytes& input, std::uint32_t ingress_ifindex) {
    xdp_md ctx{};
    ctx.data_end = static_cast<std::uint32_t>(input.size());
    ctx.ingress_ifindex = ingress_ifindex;
    return ingress_ifindex != 0 ? testkit::prog_test_run(prog_fd, input, testkit::context_bytes(ctx))
                                : testkit::prog_test_run(prog_fd, input);
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

std::string counters_text(const tempos_topic_counters& c) {
    std::ostringstream out;
    out << "redirected=" << c.redirected_packets << " bytes=" << c.redirected_bytes << " aborted=" << c.aborted
        << " passed=[";
    for (int r = 0; r < TEMPOS_PASS_REASONS; ++r) out << (r ? "," : "") << c.passed[r];
    out << "] best_effort_offered=" << c.best_effort_offered << " best_effort_arrived=" << c.best_effort_arrived
        << " policed=[";
    for (int r = 0; r < TEMPOS_POLICE_REASONS; ++r) out << (r ? "," : "") << c.policed[r];
    out << "]";
    return out.str();
}

}  // namespace tempos::test
