#include "dispatcher_hold.hpp"

#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tempos::bench {

namespace {
bool sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }
}  // namespace

std::string hold_in_dispatcher(const std::vector<int>& prog_fds) {
    if (unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    for (std::size_t i = 0; i < prog_fds.size(); ++i) {
        const std::string a = "tbench" + std::to_string(i) + "a";
        const std::string b = "tbench" + std::to_string(i) + "b";
        if (!sh("ip link add " + a + " type veth peer name " + b) || !sh("ip link set " + a + " up") ||
            !sh("ip link set " + b + " up"))
            return "creating veth " + a;
        const int ifindex = static_cast<int>(if_nametoindex(a.c_str()));
        if (ifindex == 0) return "no ifindex for " + a;
        if (int err = bpf_xdp_attach(ifindex, prog_fds[i], XDP_FLAGS_DRV_MODE, nullptr); err != 0)
            return "attaching to " + a + " (native): " + std::strerror(-err);
    }
    return {};
}

}  // namespace tempos::bench
