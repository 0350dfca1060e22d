// Helpers for tests that drive the recording adapter: reading its record file, loopback UDP, bounded waits.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "process/process.hpp"

namespace tempos::test {

inline std::filesystem::path build_dir() {
    const char* dir = std::getenv("TEMPOS_BUILD_DIR");
    return dir ? std::filesystem::path(dir) : std::filesystem::current_path().parent_path();
}

inline std::filesystem::path plugin_path(const std::string& file) { return build_dir() / "lib" / file; }

// A fresh directory under /tmp, removed by the destructor.
using TempDir = testkit::TempDir;

// One line of the record file: the verb and its key=value fields.
struct Record {
    std::string verb;
    std::map<std::string, std::string> fields;
    std::string operator[](const std::string& key) const {
        const auto it = fields.find(key);
        return it == fields.end() ? std::string() : it->second;
    }
};

inline std::vector<Record> read_records(const std::filesystem::path& file) {
    std::vector<Record> records;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        Record record;
        words >> record.verb;
        std::string word;
        while (words >> word) {
            const auto eq = word.find('=');
            if (eq != std::string::npos) record.fields[word.substr(0, eq)] = word.substr(eq + 1);
        }
        records.push_back(record);
    }
    return records;
}

inline std::vector<Record> records_with(const std::vector<Record>& all, const std::string& verb) {
    std::vector<Record> out;
    for (const auto& r : all)
        if (r.verb == verb) out.push_back(r);
    return out;
}

inline std::size_t count_records(const std::filesystem::path& file, const std::string& verb,
                                 const std::string& topic = "") {
    std::size_t n = 0;
    for (const auto& r : read_records(file))
        if (r.verb == verb && (topic.empty() || r["topic"] == topic)) ++n;
    return n;
}

// Polls `condition` every 10 ms for at most `limit`; returns its last value. Tests assert on the condition,
// never on how long it took.
inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return testkit::poll_until(condition, limit);
}

// A port on 127.0.0.1 that was free a moment ago (bound to 0, read, released): SOCK_DGRAM for UDP, SOCK_STREAM
// for TCP ([mom] metrics).
inline std::uint16_t free_port(int type) {
    const int fd = ::socket(AF_INET, type, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}
inline std::uint16_t free_udp_port() { return free_port(SOCK_DGRAM); }
inline std::uint16_t free_tcp_port() { return free_port(SOCK_STREAM); }

// Sends one datagram from a fresh socket of `family` to `to`, with the socket option (level, name) set to `value`
// when it is >= 0; true if the kernel took it.
inline bool send_datagram(int family, const sockaddr* to, socklen_t length, const std::vector<std::uint8_t>& payload,
                          int level, int name, int value) {
    const int fd = ::socket(family, SOCK_DGRAM, 0);
    if (fd < 0) return false;
    if (value >= 0 && ::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        ::close(fd);
        return false;
    }
    const ssize_t n = ::sendto(fd, payload.data(), payload.size(), 0, to, length);
    ::close(fd);
    return n == static_cast<ssize_t>(payload.size());
}

// Sends one datagram to 127.0.0.1:port, with IP TTL `ttl` when given; true if the kernel took it.
inline bool send_udp(std::uint16_t port, const std::vector<std::uint8_t>& payload, int ttl = -1) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return send_datagram(AF_INET, reinterpret_cast<sockaddr*>(&addr), sizeof addr, payload, IPPROTO_IP, IP_TTL, ttl);
}

// The same to [::1]:port, with hop limit `hop_limit` when given.
inline bool send_udp6(std::uint16_t port, const std::vector<std::uint8_t>& payload, int hop_limit = -1) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(port);
    addr.sin6_addr = in6addr_loopback;
    return send_datagram(AF_INET6, reinterpret_cast<sockaddr*>(&addr), sizeof addr, payload, IPPROTO_IPV6,
                         IPV6_UNICAST_HOPS, hop_limit);
}

// Shared with recording_adapter.cpp, which writes payloads in this form.
inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

}  // namespace tempos::test
