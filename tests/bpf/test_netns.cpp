#include "test_netns.hpp"

#include <net/if.h>

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
        return std::string();
    }();
    return result;
}

std::uint32_t ifindex_of(const char* name) { return if_nametoindex(name); }

}  // namespace tempos::test
