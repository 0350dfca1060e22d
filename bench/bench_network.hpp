// The namespaces the live benchmarks run in, built with iproute2 and always removed (destructor):
//
//   pub:eth0 10.77.0.1 ──── mom:eth0 10.77.0.2          (events in; the XDP router attaches here)
//                           mom:eth1 10.78.0.2 ──── sub1:eth0 10.78.0.11
//                           mom:eth2 10.79.0.2 ──── sub2:eth0 10.79.0.12   (with_sub2)
//   pub:eth1 10.76.0.1 ──────────────────────────── sub1:eth1 10.76.0.11   (with_direct: no MoM at all)
//
// Point-to-point veth pairs, no bridge: the MoM reaches each subscriber through its own interface (the
// adapter's two-legged mode, bpf_redirect_map). GRO is on at every end (veth needs it, or an XDP program on
// the peer, to accept XDP_TX/redirected frames). Namespace names carry the process id, so runs never collide.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tempos::bench {

struct BenchNetworkOptions {
    bool with_sub2 = false;
    bool with_direct = false;
    int queues = 1;  // rx/tx queues of every veth (veth picks the receive queue by the transmitting CPU)
};

class BenchNetwork {
public:
    static constexpr const char* kPubIp = "10.77.0.1";
    static constexpr const char* kMomIp = "10.77.0.2";
    static constexpr const char* kSub1Ip = "10.78.0.11";
    static constexpr const char* kSub2Ip = "10.79.0.12";
    static constexpr const char* kSub1DirectIp = "10.76.0.11";

    BenchNetwork() = default;
    ~BenchNetwork();
    BenchNetwork(const BenchNetwork&) = delete;
    BenchNetwork& operator=(const BenchNetwork&) = delete;

    // Empty on success; on failure what failed (and everything built so far is removed by the destructor).
    std::string create(const BenchNetworkOptions& options);

    // The full namespace name of a node ("pub", "mom", "sub1", "sub2").
    std::string ns(const std::string& node) const { return prefix_ + node; }
    // The MAC address of NODE's IFNAME, "" when unreadable.
    std::string mac(const std::string& node, const std::string& ifname) const;
    std::array<std::uint8_t, 6> mac_bytes(const std::string& node, const std::string& ifname) const;
    // Switches NODE's IFNAME to threaded NAPI and pins its NAPI kernel thread(s) to `cpu`: the receive work
    // of that interface (XDP program or stack) then runs on that CPU whoever transmitted into it. Empty on success.
    std::string pin_napi(const std::string& node, const std::string& ifname, int cpu) const;
    // What is attached to NODE's IFNAME: "native", "generic" or "none".
    std::string xdp_attached(const std::string& node, const std::string& ifname) const;

    void destroy();

private:
    std::string prefix_;
    std::vector<std::string> created_;
};

// Runs `command` through /bin/sh; true on exit status 0. Output goes to /dev/null unless `output` is given.
bool run_shell(const std::string& command, std::string* output = nullptr);

// Switches the calling thread into a named network namespace and back (destructor).
class NetnsGuard {
public:
    explicit NetnsGuard(const std::string& ns_name);
    ~NetnsGuard();
    NetnsGuard(const NetnsGuard&) = delete;
    NetnsGuard& operator=(const NetnsGuard&) = delete;
    const std::string& error() const { return error_; }

private:
    int original_ = -1;
    std::string error_;
};

}  // namespace tempos::bench
