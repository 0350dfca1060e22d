#include "topology/private_netns.hpp"

#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <sched.h>

#include <cerrno>
#include <cstring>

#include "topology/command.hpp"
#include "topology/netns.hpp"
#include "topology/interface.hpp"
#include "topology/world.hpp"
#include "veth_peer_pass.skel.h"

namespace tempos::testkit {

Status add_veth_pair(const VethPair& pair) {
    if (auto made = run_command(veth_pair_command({}, pair.a, pair.b, "", pair.queues)); !made) return made.status();
    for (const std::string& address : pair.a_addresses)
        if (auto added = run_command({"ip", "addr", "add", address, "dev", pair.a}); !added) return added.status();
    for (const std::string& end : {pair.a, pair.b})
        if (end == pair.a || pair.b_up)
            if (auto up = run_command({"ip", "link", "set", end, "up"}); !up) return up.status();
    if (pair.gro_on_b) return run_command({"ethtool", "-K", pair.b, "gro", "on"}).status();
    return Status::ok();
}

Status attach_peer_pass(const std::string& ifname) {
    const Result<std::uint32_t> index = ifindex_of(ifname);
    if (!index) return index.status();
    veth_peer_pass* skel = veth_peer_pass__open_and_load();
    if (!skel) return Status::error(ErrorCode::system_error, std::string("loading veth_peer_pass: ") + std::strerror(errno));
    // Attached through netlink, not a bpf_link: it outlives this process and goes with the namespace.
    const int err = bpf_xdp_attach(static_cast<int>(*index), bpf_program__fd(skel->progs.veth_peer_pass),
                                   XDP_FLAGS_DRV_MODE, nullptr);
    veth_peer_pass__destroy(skel);
    if (err != 0)
        return Status::error(ErrorCode::system_error,
                             "attaching veth_peer_pass to " + ifname + " (native): " + std::strerror(-err));
    return Status::ok();
}

Status set_sysctl(const std::string& key, const std::string& value) {
    return run_command({"sysctl", "-qw", key + "=" + value}).status();
}

Status enter_test_netns() {
    static const Status entered = [] {
        if (Status st = enter_private_netns(); !st) return st;
        if (Status st = add_veth_pair({.a = world::test_netns::kVethA,
                                       .b = world::test_netns::kVethB,
                                       .a_addresses = {world::test_netns::kVethAAddress}});
            !st)
            return st;
        return set_sysctl("net.ipv4.ip_forward", "1");
    }();
    return entered;
}

Status pin_to_cpu(int cpu) {
    if (cpu < 0) cpu = ::sched_getcpu();
    if (cpu < 0) return Status::error(ErrorCode::system_error, std::string("sched_getcpu: ") + std::strerror(errno));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(0, sizeof(set), &set) != 0)
        return Status::error(ErrorCode::system_error,
                             "sched_setaffinity(" + std::to_string(cpu) + "): " + std::strerror(errno));
    return Status::ok();
}

}  // namespace tempos::testkit
