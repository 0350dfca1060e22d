// What the kernel-level tests (BPF_PROG_TEST_RUN, the plugin's attach tests) and tempos-bench's program holders
// build in a namespace of their own (enter_private_netns): veth pairs, sysctls, a pinned CPU.
#pragma once

#include <string>
#include <vector>

#include "tempos/status.hpp"

namespace tempos::testkit {

// A veth pair in the calling thread's namespace, A up.
struct VethPair {
    std::string a{}, b{};
    std::vector<std::string> a_addresses{};  // "10.0.0.1/24", ...
    int queues = 0;                        // rx and tx queues of each end; 0: the kernel's default (one per CPU)
    // Frames XDP-transmitted or redirected into a veth are received only if the peer runs XDP or has GRO on.
    bool gro_on_b = false;
    // false: B stays down, so A has no carrier and frees every frame sent into it as a tx drop (a discarding
    // device; no IPv6 chatter either, as addrconf waits for the carrier).
    bool b_up = true;
};
Status add_veth_pair(const VethPair& pair);

// bpf/veth_peer_pass (XDP_PASS) on IFNAME of the calling thread's namespace, in native mode: what a veth needs
// to receive frames native XDP_TX/redirect sends into its peer. Stays attached until the interface goes.
Status attach_peer_pass(const std::string& ifname);

// `sysctl -w key=value` in the calling thread's namespace (net.* keys are per namespace).
Status set_sysctl(const std::string& key, const std::string& value);

// The router and fan-out program tests' namespace (world::test_netns): entered once per process, private,
// with the veth pair kVethA/kVethB, kVethAAddress on A and IPv4 forwarding on (bpf_fib_lookup refuses
// with FWD_DISABLED without it). Later calls return the first call's result.
Status enter_test_netns();

// Pins the calling thread to `cpu`, by default (-1) to the CPU it runs on: the programs' round-robin cursors are
// per CPU, and a benchmark's figures depend on where it runs.
Status pin_to_cpu(int cpu = -1);

}  // namespace tempos::testkit
