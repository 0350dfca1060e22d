// Loads the router skeleton for a test and runs frames through it with BPF_PROG_TEST_RUN.
#pragma once

#include <cstdint>
#include <string>

#include "prog_test_run.hpp"
#include "route_table.hpp"
#include "tempos_router.skel.h"

namespace tempos::test {

class LoadedRouter {
public:
    static Result<LoadedRouter> load(const MomConstants& mom = {});

    int prog_fd() const { return bpf_program__fd(skel_->progs.tempos_router); }
    testkit::RouterMaps maps() const;
    xdp::RouteTable& routes() { return routes_; }

private:
    explicit LoadedRouter(xdp::SkeletonPtr<tempos_router> skel);
    xdp::SkeletonPtr<tempos_router> skel_;
    xdp::RouteTable routes_;
};

using XdpRun = ProgRun;

// ingress_ifindex 0: the kernel's default (loopback of the current netns).
XdpRun run_xdp(int prog_fd, const Bytes& input, std::uint32_t ingress_ifindex = 0);

std::string action_name(int action);

// Counters of one slot summed over CPUs, as a readable one-line string for comparisons.
std::string counters_text(const tempos_topic_counters& c);

}  // namespace tempos::test
