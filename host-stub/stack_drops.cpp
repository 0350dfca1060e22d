#include "stack_drops.hpp"

#include <fstream>
#include <sstream>
#include <vector>

namespace tempos::mom {

namespace {

std::string read_file(const char* path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> words(std::string_view line) {
    std::istringstream in{std::string(line)};
    std::vector<std::string> out;
    for (std::string word; in >> word;) out.push_back(word);
    return out;
}

}  // namespace

std::map<std::string, std::uint64_t> parse_snmp_udp(std::string_view snmp) {
    std::vector<std::string> names, values;
    std::istringstream lines{std::string(snmp)};
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("Udp: ")) continue;
        (names.empty() ? names : values) = words(line);
        if (!values.empty()) break;
    }
    std::map<std::string, std::uint64_t> counters;
    if (names.size() != values.size()) return counters;
    try {
        for (std::size_t i = 1; i < names.size(); ++i) counters[names[i]] = std::stoull(values[i]);
    } catch (const std::exception&) {
        counters.clear();
    }
    return counters;
}

std::optional<std::uint64_t> parse_netdev_rx_dropped(std::string_view netdev, std::string_view interface) {
    std::istringstream lines{std::string(netdev)};
    for (std::string line; std::getline(lines, line);) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::vector<std::string> name = words(std::string_view(line).substr(0, colon));
        if (name.size() != 1 || name[0] != interface) continue;
        // Receive: bytes packets errs drop fifo frame compressed multicast, then transmit.
        const std::vector<std::string> fields = words(std::string_view(line).substr(colon + 1));
        if (fields.size() < 4) return std::nullopt;
        try {
            return std::stoull(fields[3]);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

StackDrops read_stack_drops(const std::string& interface) {
    StackDrops drops;
    const std::map<std::string, std::uint64_t> udp = parse_snmp_udp(read_file("/proc/self/net/snmp"));
    for (const char* name : kUdpErrorCounters)
        if (const auto it = udp.find(name); it != udp.end()) drops.udp[name] = it->second;
    if (!interface.empty()) drops.interface_rx_dropped = parse_netdev_rx_dropped(read_file("/proc/self/net/dev"), interface);
    return drops;
}

}  // namespace tempos::mom
