// Helper for the leak tests: N times load the plugin, create, connect, configure and send, close, unload.
//   plugin_load_loop ITERATIONS MODE [INTERFACE]
// Exit 0 when every iteration succeeded and the process holds as many file descriptors at the end as at the
// start; run it under valgrind --leak-check=full to also prove no memory is lost.
#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "plugin_loader.hpp"  // host-stub/

namespace {
int open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    int n = 0;
    while (::readdir(dir) != nullptr) ++n;
    ::closedir(dir);
    return n;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s ITERATIONS MODE [INTERFACE]\n", argv[0]);
        return 64;
    }
    const int iterations = std::atoi(argv[1]);
    tempos::ChannelConfig channel;
    channel.options["xdp_mode"] = argv[2];
    if (argc > 3) channel.interface = argv[3];
    const std::uint8_t event[] = {1, 2, 3};

    const int fds_before = open_fds();
    std::string mode;
    for (int i = 0; i < iterations; ++i) {
        auto loaded = tempos::mom::load_adapter(TEMPOS_XDP_ADAPTER_PATH, tempos::AdapterEnv{});
        if (!loaded) {
            std::fprintf(stderr, "iteration %d: %s\n", i, tempos::describe(loaded.status()).c_str());
            return 1;
        }
        auto& adapter = loaded->adapter();
        if (auto s = adapter.connect(channel); !s) {
            std::fprintf(stderr, "iteration %d: connect: %s\n", i, s.message().c_str());
            return 1;
        }
        // Exercises the socket path and, when attached, the kernel map (a strict single-group topic).
        tempos::TopicConfig topic{1, tempos::Qos::strict,
                                  {tempos::SubscriptionGroup{{tempos::Endpoint{{127, 0, 0, 1}, 9, std::nullopt}}}}};
        if (auto s = adapter.configure_qos(topic); !s) {
            std::fprintf(stderr, "iteration %d: configure_qos: %s\n", i, s.message().c_str());
            return 1;
        }
        if (auto s = adapter.send(1, event); !s) {
            std::fprintf(stderr, "iteration %d: send: %s\n", i, s.message().c_str());
            return 1;
        }
        mode = adapter.stats().mode;
        adapter.close();
    }  // adapter destroyed, then the library unloaded
    const int fds_after = open_fds();
    std::printf("iterations=%d mode=%s fds_before=%d fds_after=%d\n", iterations, mode.c_str(), fds_before, fds_after);
    return fds_after == fds_before ? 0 : 1;
}
