#include "dispatcher_hold.hpp"

#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <cstring>

#include "topology/interface.hpp"
#include "topology/netns.hpp"
#include "topology/private_netns.hpp"

namespace tempos::bench {

std::string hold_in_dispatcher(const std::vector<int>& prog_fds) {
    if (Status st = testkit::enter_private_netns(); !st) return st.message();
    for (std::size_t i = 0; i < prog_fds.size(); ++i) {
        const std::string a = "tbench" + std::to_string(i) + "a";
        if (Status st = testkit::add_veth_pair({.a = a, .b = "tbench" + std::to_string(i) + "b"}); !st)
            return "creating veth " + a + ": " + st.message();
        const Result<std::uint32_t> ifindex = testkit::ifindex_of(a);
        if (!ifindex) return ifindex.message();
        if (int err = bpf_xdp_attach(static_cast<int>(*ifindex), prog_fds[i], XDP_FLAGS_DRV_MODE, nullptr); err != 0)
            return "attaching to " + a + " (native): " + std::strerror(-err);
    }
    return {};
}

}  // namespace tempos::bench
