// Text forms of addresses used by the Controller TOML, the routes file and the tools: strict parsers (the
// whole text must match, nothing before or after) and their canonical renderings.
#include <arpa/inet.h>

#include <charconv>
#include <string>

#include "config.hpp"

namespace tempos::mom {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A decimal number of 1..max_digits digits, no sign, no leading zero (so "010" is never read as octal
// by one tool and decimal by another), at most max_value.
std::optional<unsigned> parse_decimal(std::string_view text, std::size_t max_digits, unsigned max_value) {
    if (text.empty() || text.size() > max_digits) return std::nullopt;
    for (char c : text)
        if (!is_digit(c)) return std::nullopt;
    if (text.size() > 1 && text.front() == '0') return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > max_value) return std::nullopt;
    return value;
}

// Splits text on every separator; exactly `count` parts or nothing.
template <std::size_t count>
std::optional<std::array<std::string_view, count>> split_exact(std::string_view text, char separator) {
    std::array<std::string_view, count> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t end = text.find(separator, start);
        const bool last = i + 1 == count;
        if (last != (end == std::string_view::npos)) return std::nullopt;
        parts[i] = text.substr(start, last ? std::string_view::npos : end - start);
        start = end + 1;
    }
    return parts;
}

}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view text) {
    const auto parts = split_exact<4>(text, '.');
    if (!parts) return std::nullopt;
    Ipv4 ip{};
    for (std::size_t i = 0; i < 4; ++i) {
        const auto octet = parse_decimal((*parts)[i], 3, 255);
        if (!octet) return std::nullopt;
        ip[i] = static_cast<std::uint8_t>(*octet);
    }
    return ip;
}

std::optional<Ipv6> parse_ipv6(std::string_view text) {
    // inet_pton takes the whole C string: an embedded NUL would cut the text short.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos)
        return std::nullopt;
    Ipv6 ip{};
    if (inet_pton(AF_INET6, std::string(text).c_str(), ip.data()) != 1) return std::nullopt;
    return ip;
}

std::optional<Ipv4> mapped_ipv4(const Ipv6& ip) {
    for (std::size_t i = 0; i < 10; ++i)
        if (ip[i] != 0) return std::nullopt;
    if (ip[10] != 0xff || ip[11] != 0xff) return std::nullopt;
    return Ipv4{ip[12], ip[13], ip[14], ip[15]};
}

bool is_link_local(const Ipv6& ip) { return ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80; }

std::optional<Mac> parse_mac(std::string_view text) {
    const auto parts = split_exact<6>(text, ':');
    if (!parts) return std::nullopt;
    Mac mac{};
    for (std::size_t i = 0; i < 6; ++i) {
        const std::string_view group = (*parts)[i];
        if (group.empty() || group.size() > 2) return std::nullopt;
        int value = 0;
        for (char c : group) {
            const int digit = hex_value(c);
            if (digit < 0) return std::nullopt;
            value = value * 16 + digit;
        }
        mac[i] = static_cast<std::uint8_t>(value);
    }
    return mac;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    const auto port = parse_decimal(text, 5, 65535);
    if (!port || *port == 0) return std::nullopt;
    return static_cast<std::uint16_t>(*port);
}

std::optional<SocketAddress> parse_socket_address(std::string_view text) {
    if (text.starts_with('[')) {
        const std::size_t close = text.find("]:");
        if (close == std::string_view::npos) return std::nullopt;
        const auto ip = parse_ipv6(text.substr(1, close - 1));
        const auto port = parse_port(text.substr(close + 2));
        if (!ip || !port) return std::nullopt;
        if (const auto v4 = mapped_ipv4(*ip)) return SocketAddress{*v4, *port};
        return SocketAddress{{}, *port, *ip};
    }
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto ip = parse_ipv4(text.substr(0, colon));
    const auto port = parse_port(text.substr(colon + 1));
    if (!ip || !port) return std::nullopt;
    return SocketAddress{*ip, *port};
}

std::string format_ipv4(const Ipv4& ip) {
    std::string text;
    for (std::size_t i = 0; i < ip.size(); ++i) {
        if (i) text += '.';
        text += std::to_string(ip[i]);
    }
    return text;
}

std::string format_mac(const Mac& mac) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text;
    for (std::size_t i = 0; i < mac.size(); ++i) {
        if (i) text += ':';
        text += digits[mac[i] >> 4];
        text += digits[mac[i] & 0xf];
    }
    return text;
}

std::string format_ipv6(const Ipv6& ip) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, ip.data(), text, sizeof text);
    return text;
}

std::string format_socket_address(const SocketAddress& address) {
    if (address.ip6) return "[" + format_ipv6(*address.ip6) + "]:" + std::to_string(address.port);
    return format_ipv4(address.ip) + ":" + std::to_string(address.port);
}

std::optional<std::string> invalid_subscriber_address(const Endpoint& endpoint) {
    if (!endpoint.ip6) {
        if (endpoint.ip == Ipv4{}) return "0.0.0.0 is not a subscriber address";
        return std::nullopt;
    }
    if (*endpoint.ip6 == Ipv6{}) return ":: is not a subscriber address";
    if (is_link_local(*endpoint.ip6))
        return "subscriber " + format_endpoint(endpoint) +
               ": a link-local IPv6 address (fe80::/10) needs an interface scope, which a subscriber cannot name; "
               "give a global or unique-local address";
    return std::nullopt;
}

std::string format_endpoint(const Endpoint& endpoint) {
    return format_socket_address(SocketAddress{endpoint.ip, endpoint.port, endpoint.ip6});
}

}  // namespace tempos::mom
