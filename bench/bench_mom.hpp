// tempos-mom in the bench network's `mom` namespace (the test kit's MoM runner), listening on mom:eth0 with the
// XDP adapter; ready once it runs and, unless xdp_mode is "off", the router is attached in that mode.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "process/mom_runner.hpp"
#include "topology/interface.hpp"
#include "topology/topology.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

using testkit::kMomPort;

// A topic of `groups` subscription groups, each with the one subscriber `ip` (MAC given: the XDP path needs no
// neighbour lookup). The same endpoint in several groups gets one copy per group.
inline testkit::ConfigTopic bench_topic(int id, const std::string& qos, const std::string& ip, const Mac& mac,
                                        int groups = 1) {
    const testkit::ConfigEndpoint member{ip, kMomPort, testkit::mac_text(mac)};
    return {id, qos, std::vector(static_cast<std::size_t>(groups), std::vector{member})};
}

// cpu >= 0: tempos-mom runs on that CPU only. adapter_options: further options of the XDP adapter (persist);
// args: further tempos-mom arguments (--plugin-dir).
inline Result<testkit::MomRunner> start_bench_mom(const testkit::Topology& net, const std::string& xdp_mode,
                                                  std::vector<testkit::ConfigTopic> topics, int cpu = -1,
                                                  const std::vector<std::pair<std::string, std::string>>& adapter_options = {},
                                                  std::vector<std::string> args = {}) {
    const std::string listen =
        std::string(testkit::world::point_to_point::kMomIp) + ":" + std::to_string(kMomPort);
    testkit::ControllerConfig config = testkit::xdp_mom_config(listen, "eth0", xdp_mode, std::move(topics));
    config.mom.metrics = "127.0.0.1:9464";  // in its namespace: the bench reads its drop counters
    for (const auto& option : adapter_options) config.adapters.front().options.push_back(option);
    Result<testkit::MomRunner> mom =
        testkit::MomRunner::start(config, {.netns = net.ns("mom"), .cpu = cpu, .args = std::move(args)});
    if (!mom || xdp_mode == "off") return mom;
    // tempos-mom is ready after its adapter connected: the router's mode is settled by then.
    const Result<testkit::XdpMode> attached = net.xdp_mode("mom", "eth0");
    if (!attached) return attached.status();
    if (const std::string name = testkit::xdp_mode_name(*attached); name != xdp_mode)
        return Status::error(ErrorCode::unsupported, "XDP on mom:eth0 is " + name + ", expected " + xdp_mode);
    return mom;
}

}  // namespace tempos::bench
