#include "test_netns.hpp"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "privileged.hpp"

namespace tempos::test {

std::string ensure_test_netns() {
    static std::string result = [] {
        if (std::string err = enter_private_netns(); !err.empty()) return err;
        const std::string a = kVethA, b = kVethB;
        if (run("ip link add " + a + " type veth peer name " + b) != 0) return std::string("ip link add veth failed");
        if (run("ip link set " + a + " up") != 0 || run("ip link set " + b + " up") != 0)
            return std::string("ip link set up failed");
        if (run("ip addr add 10.77.0.1/24 dev " + a) != 0) return std::string("ip addr add failed");
        // bpf_fib_lookup refuses (FWD_DISABLED) on interfaces without IPv4 forwarding; this netns only.
        if (run("sysctl -qw net.ipv4.ip_forward=1") != 0) return std::string("enabling forwarding failed");
        return std::string();
    }();
    return result;
}

std::uint32_t ifindex_of(const char* name) { return if_nametoindex(name); }

std::optional<std::array<std::uint8_t, 6>> mac_of(const char* name) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return std::nullopt;
    ifreq req{};
    std::strncpy(req.ifr_name, name, IFNAMSIZ - 1);
    const bool ok = ioctl(fd, SIOCGIFHWADDR, &req) == 0;
    close(fd);
    if (!ok) return std::nullopt;
    std::array<std::uint8_t, 6> mac{};
    std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, 6);
    return mac;
}

std::string pin_to_current_cpu() {
    const int cpu = sched_getcpu();
    if (cpu < 0) return std::string("sched_getcpu: ") + std::strerror(errno);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) return std::string("sched_setaffinity: ") + std::strerror(errno);
    return {};
}

}  // namespace tempos::test
