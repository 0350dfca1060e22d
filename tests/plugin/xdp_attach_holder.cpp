// Helper for the privileged tests: loads the plugin, connects to an interface and reports the mode.
//   xdp_attach_holder INTERFACE MODE once [PLUGIN]   connect, print, close, exit 0
//   xdp_attach_holder INTERFACE MODE hold [PLUGIN]   connect, print, then wait (at most 60 s) to be killed
// PLUGIN: the libxdp_adapter.so to load (default: the build's). Prints "caps=<CapEff hex>" and "mode=<mode in
// effect>" on stdout, the adapter's log on stderr; in once mode it also configures a strict topic. Exit 1 when the
// plugin cannot be loaded (the loader's "message (code)" on stderr), 2 when connect() fails, 4 when
// configure_qos() fails.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>

#include "plugin_loader.hpp"  // host-stub/

namespace {
std::string effective_caps() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("CapEff:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 7));
    return "unknown";
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: %s INTERFACE MODE once|hold [PLUGIN]\n", argv[0]);
        return 64;
    }
    const std::string hold = argv[3];
    std::printf("caps=%s\n", effective_caps().c_str());
    tempos::AdapterEnv env;
    env.log_sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    auto loaded = tempos::mom::load_adapter(argc == 5 ? argv[4] : TEMPOS_XDP_ADAPTER_PATH, env);
    if (!loaded) {
        std::fprintf(stderr, "%s\n", tempos::describe(loaded.status()).c_str());
        return 1;
    }
    auto& adapter = loaded->adapter();
    tempos::ChannelConfig channel;
    channel.interface = argv[1];
    channel.options["xdp_mode"] = argv[2];
    const tempos::Status connected = adapter.connect(channel);
    if (!connected) {
        std::printf("error=%s\n", connected.message().c_str());
        return 2;
    }
    std::printf("mode=%s\n", adapter.stats().mode.c_str());
    std::fflush(stdout);
    if (hold == "hold") {
        for (int i = 0; i < 600; ++i) ::usleep(100 * 1000);  // bounded: the test kills us long before
        return 3;
    }
    const tempos::TopicConfig strict{1, tempos::Qos::strict,
                                     {tempos::SubscriptionGroup{{tempos::Endpoint{{127, 0, 0, 1}, 9, std::nullopt}}}}};
    if (const tempos::Status s = adapter.configure_qos(strict); !s) {
        std::printf("error=%s\n", s.message().c_str());
        return 4;
    }
    adapter.close();
    return 0;
}
