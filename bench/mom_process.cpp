#include "mom_process.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "topology/world.hpp"

namespace tempos::bench {

namespace {
std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
std::string tail(const std::string& text, std::size_t lines) {
    std::size_t pos = text.size();
    while (lines-- > 0 && pos > 0) pos = text.rfind('\n', pos - 1);
    return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}
}  // namespace

MomProcess::~MomProcess() {
    stop();
    if (!config_path_.empty()) unlink(config_path_.c_str());
}

std::string MomProcess::start(const testkit::Topology& net, const std::string& xdp_mode,
                              const std::vector<MomTopic>& topics, int cpu) {
    config_path_ = "/tmp/tempos-bench-mom-" + std::to_string(getpid()) + ".toml";
    {
        std::ofstream toml(config_path_);
        toml << "[mom]\nlisten = \"" << testkit::world::point_to_point::kMomIp << ":" << kMomPort
             << "\"\ninterface = \"eth0\"\n\n"
             << "[[adapters]]\nname = \"xdp\"\nlibrary = \"libxdp_adapter.so\"\nxdp_mode = \"" << xdp_mode << "\"\n";
        for (const MomTopic& t : topics) {
            toml << "\n[[topics]]\nid = " << t.id << "\nqos = \"" << t.qos << "\"\n";
            for (int g = 0; g < t.groups; ++g)
                toml << "  [[topics.groups]]\n  subscribers = [{ ip = \"" << t.sub_ip << "\", port = " << kMomPort
                     << ", mac = \"" << t.sub_mac << "\" }]\n";
        }
        if (!toml) return "writing " + config_path_;
    }
    const std::string bin = executable_dir() + "/tempos-mom";
    std::vector<std::string> argv{bin, "--config", config_path_, "--log-level", "info"};
    if (cpu >= 0) argv.insert(argv.begin(), {"taskset", "-c", std::to_string(cpu)});
    if (std::string err = process_.start(net.ns("mom"), argv); !err.empty())
        return err;
    // Listening = its port in the namespace's UDP table (the pid is tempos-mom itself: ip netns exec execs).
    char port_hex[8];
    std::snprintf(port_hex, sizeof(port_hex), ":%04X", kMomPort);
    std::string attached;
    for (int i = 0; i < 200; ++i) {
        if (!process_.running())
            return "tempos-mom exited during start: " + tail(process_.output() + process_.errors(), 5);
        const bool listening =
            slurp("/proc/" + std::to_string(process_.pid()) + "/net/udp").find(port_hex) != std::string::npos;
        // tempos-mom logs "running" once every topic is configured, so the routes are in the kernel by then.
        const bool running = (process_.output() + process_.errors()).find("tempos-mom running") != std::string::npos;
        const Result<testkit::XdpMode> mode = net.xdp_mode("mom", "eth0");
        attached = mode ? testkit::xdp_mode_name(*mode) : mode.message();
        if (listening && running && (xdp_mode == "off" || attached == xdp_mode)) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "tempos-mom not ready within 10 s (XDP on mom:eth0: " + attached + ", expected " + xdp_mode +
           "): " + tail(process_.output() + process_.errors(), 5);
}

std::string MomProcess::stop() {
    if (!process_.running()) return {};
    process_.signal(SIGTERM);
    const int status = process_.wait(5);
    return status == 0 ? std::string() : "tempos-mom exited with status " + std::to_string(status);
}

std::uint64_t MomProcess::udp_in_datagrams() const {
    std::istringstream snmp(slurp("/proc/" + std::to_string(process_.pid()) + "/net/snmp"));
    std::string header, values, line;
    while (std::getline(snmp, line)) {
        if (line.rfind("Udp:", 0) != 0) continue;
        if (header.empty()) {
            header = line;
        } else {
            values = line;
            break;
        }
    }
    std::istringstream h(header), v(values);
    std::string name, value;
    while (h >> name && v >> value)
        if (name == "InDatagrams") return std::stoull(value);
    return 0;
}

}  // namespace tempos::bench
