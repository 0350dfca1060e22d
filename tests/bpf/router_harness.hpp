// Loads the router skeleton for a test and runs frames through it with BPF_PROG_TEST_RUN.
#pragma once

#include "prog_test_run.hpp"
#include "route_table.hpp"
#include "tempos_router.skel.h"

namespace tempos::test {

struct LoadedRouter {
    xdp::SkeletonPtr<tempos_router> skel;
    xdp::RouteTable routes;

    int prog_fd() const { return bpf_program__fd(skel->progs.tempos_router); }
    testkit::RouterMaps maps() const;
};
Result<LoadedRouter> load_router(const MomConstants& mom = {});

using XdpRun = ProgRun;

// ingress_ifindex 0: the kernel's default (loopback of the current netns).
Result<XdpRun> run_xdp(int prog_fd, const Bytes& input, std::uint32_t ingress_ifindex = 0);

std::string action_name(int action);

// Counters of one slot summed over CPUs, as a readable one-line string for comparisons.
std::string counters_text(const tempos_topic_counters& c);

}  // namespace tempos::test
