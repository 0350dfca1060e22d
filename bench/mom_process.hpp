// tempos-mom in the point-to-point topology's `mom` namespace, with a Controller TOML written for the run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "topology/topology.hpp"

namespace tempos::bench {

inline constexpr std::uint16_t kMomPort = 9998;

struct MomTopic {
    int id = 1;
    std::string qos = "strict";  // or "best-effort"
    std::string sub_ip;
    std::string sub_mac;  // given, so the XDP path needs no neighbour lookup
    int groups = 1;       // subscription groups, each with this one subscriber (fan-out: one copy per group)
};

class MomProcess {
public:
    MomProcess() = default;
    ~MomProcess();

    // xdp_mode: "native", "generic" or "off". Returns once the MoM runs with every topic configured and, unless
    // off, the router is attached in that mode on mom:eth0; otherwise an error naming what is wrong (with the MoM's
    // last log lines).
    // cpu >= 0: tempos-mom runs on that CPU only (taskset).
    std::string start(const testkit::Topology& net, const std::string& xdp_mode, const std::vector<MomTopic>& topics,
                      int cpu = -1);
    // SIGTERM, then waits (bounded). Empty when it exited with status 0.
    std::string stop();
    // Udp InDatagrams of the MoM's namespace (/proc/PID/net/snmp): what reached a socket there.
    std::uint64_t udp_in_datagrams() const;

private:
    ChildProcess process_;
    std::string config_path_;
};

}  // namespace tempos::bench
