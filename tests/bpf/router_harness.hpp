// Loads the router skeleton for a test and runs frames through it with BPF_PROG_TEST_RUN.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "packet_builder.hpp"
#include "prog_test_run.hpp"
#include "route_table.hpp"

struct tempos_router;

namespace tempos::test {

struct RouterSettings {
    std::uint16_t mom_port = 9998;          // host order
    Ipv4Addr mom_ip{10, 0, 0, 1};           // 0.0.0.0: keep the frame's destination as the new source
};

class LoadedRouter {
public:
    // Opens, sets the rodata and loads (the verifier runs here). Empty pointer and error text on failure.
    static std::unique_ptr<LoadedRouter> load(const RouterSettings& settings, std::string& error);
    ~LoadedRouter();
    LoadedRouter(const LoadedRouter&) = delete;
    LoadedRouter& operator=(const LoadedRouter&) = delete;

    int prog_fd() const;
    int topic_routes_fd() const;
    int topic_counters_fd() const;
    int egress_ports_fd() const;
    int fanout_routes_fd() const;
    tempos::xdp::RouteTable& routes() { return *routes_; }

private:
    explicit LoadedRouter(tempos_router* skel);
    tempos_router* skel_;
    std::optional<tempos::xdp::RouteTable> routes_;
};

using XdpRun = ProgRun;

// ingress_ifindex 0: the kernel's default (loopback of the current netns).
XdpRun run_xdp(int prog_fd, const Bytes& input, std::uint32_t ingress_ifindex = 0);


std::string action_name(int action);

tempos_endpoint endpoint(const Ipv4Addr& ip, std::uint16_t port, std::optional<MacAddr> mac, const MacAddr& src_mac,
                         std::uint32_t ifindex = 0);

// Counters of one slot summed over CPUs, as a readable one-line string for comparisons.
std::string counters_text(const tempos_topic_counters& c);

}  // namespace tempos::test
