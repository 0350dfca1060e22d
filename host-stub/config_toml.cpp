#include "config_toml.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "tempos/system_status.hpp"

namespace tempos::mom::config_detail {

namespace {

// toml11 formats a syntax error as "[error] toml::func: message" followed by source excerpts
// " 12 | text" / "    |   ^--- comment"; the last excerpt is the offending one (e.g. "defined twice").
struct SyntaxErrorParts {
    int line = 0;
    std::string message;
};

SyntaxErrorParts split_syntax_error(const std::string& what) {
    SyntaxErrorParts parts;
    std::istringstream lines(what);
    std::string text;
    std::string last_comment;
    bool first = true;
    while (std::getline(lines, text)) {
        if (first) {
            first = false;
            std::string_view head = text;
            if (head.starts_with("[error]")) head.remove_prefix(7);
            while (!head.empty() && head.front() == ' ') head.remove_prefix(1);
            // Drop the internal function name ("toml::parse_array: ").
            if (head.starts_with("toml::")) {
                const auto colon = head.find(": ");
                if (colon != std::string_view::npos) head.remove_prefix(colon + 2);
            }
            parts.message = std::string(head);
            continue;
        }
        const auto bar = text.find(" | ");
        if (bar == std::string::npos) continue;
        const std::string gutter = text.substr(0, bar);
        const auto digits = gutter.find_first_not_of(' ');
        if (digits != std::string::npos) {
            try {
                parts.line = std::stoi(gutter.substr(digits));
            } catch (const std::exception&) {
                // Not a line-number gutter; keep the previous one.
            }
        } else {
            const auto marker = text.find_first_of("^~", bar + 3);
            if (marker != std::string::npos) {
                const auto comment = text.find(' ', marker);
                if (comment != std::string::npos) last_comment = text.substr(comment + 1);
            }
        }
    }
    while (!last_comment.empty() && last_comment.back() == ' ') last_comment.pop_back();
    if (!last_comment.empty()) parts.message += " (" + last_comment + ")";
    return parts;
}

}  // namespace

std::string quote_text(std::string_view text) { return "\"" + std::string(text) + "\""; }

Status ConfigFailure::status() const {
    const std::string where = line > 0 ? file + ":" + std::to_string(line) : file;
    return Status::error(code, where + ": " + message);
}

void fail(std::string file, int line, std::string message, ErrorCode code) {
    throw ConfigFailure{std::move(file), line, std::move(message), code};
}

void fail(const toml::value& at, std::string message, ErrorCode code) {
    fail(file_of(at), line_of(at), std::move(message), code);
}

int line_of(const toml::value& value) { return static_cast<int>(value.location().line()); }

std::string file_of(const toml::value& value) { return value.location().file_name(); }

std::optional<Utf8Error> first_invalid_utf8(std::string_view text) {
    int line = 1;
    int column = 1;
    for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<unsigned char>(text[i]);
        // Sequence length and the range of the second byte (which excludes overlongs, surrogates, > U+10FFFF).
        std::size_t length = 1;
        unsigned char low = 0x80, high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) length = 2;
        else if (lead >= 0xE0 && lead <= 0xEF) length = 3, low = lead == 0xE0 ? 0xA0 : 0x80, high = lead == 0xED ? 0x9F : 0xBF;
        else if (lead >= 0xF0 && lead <= 0xF4) length = 4, low = lead == 0xF0 ? 0x90 : 0x80, high = lead == 0xF4 ? 0x8F : 0xBF;
        else if (lead >= 0x80) return Utf8Error{line, column, lead};
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
            if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return Utf8Error{line, column, lead};
        }
        if (lead == '\n') line += 1, column = 0;
        i += length;
        column += 1;
    }
    return std::nullopt;
}

toml::value parse_file(const std::filesystem::path& file) {
    const std::string name = file.string();
    std::error_code ec;
    const std::filesystem::file_status status = std::filesystem::status(file, ec);
    if (std::filesystem::is_directory(status)) fail(name, 0, "cannot read the file: it is a directory");
    // A FIFO or a device (/dev/zero) could block or never end: only regular files (or links to one) are read.
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
        fail(name, 0, "cannot read the file: it is not a regular file (a FIFO, socket or device)");
    std::ifstream stream(file, std::ios::binary);
    if (!stream) {
        const int err = errno;
        fail(name, 0, std::string("cannot read the file: ") + std::strerror(err), error_code_of_errno(err));
    }
    std::ostringstream contents;
    contents << stream.rdbuf();
    const std::string text = std::move(contents).str();
    // TOML is UTF-8, and Debian's toml11 3.7.1 reads past its buffer on some invalid sequences inside strings
    // (tests/fuzz/findings/toml11-literal-string-heap-overflow.toml): they are refused before it sees them.
    if (const std::optional<Utf8Error> bad = first_invalid_utf8(text)) {
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02X", bad->byte);
        fail(name, bad->line,
             "not valid UTF-8 (byte " + std::string(byte) + " at column " + std::to_string(bad->column) +
                 "): a TOML file must be UTF-8");
    }
    try {
        std::istringstream parsed(text);
        return toml::parse(parsed, name);
    } catch (const toml::syntax_error& error) {
        auto parts = split_syntax_error(error.what());
        if (parts.line == 0) parts.line = static_cast<int>(error.location().line());
        fail(name, parts.line, "TOML syntax error: " + parts.message);
    } catch (const std::exception& error) {
        fail(name, 0, std::string("cannot parse the file: ") + error.what());
    }
}

std::string type_noun(const toml::value& value) {
    switch (value.type()) {
        case toml::value_t::boolean: return "a boolean";
        case toml::value_t::integer: return "an integer";
        case toml::value_t::floating: return "a float";
        case toml::value_t::string: return "a string";
        case toml::value_t::offset_datetime:
        case toml::value_t::local_datetime:
        case toml::value_t::local_date:
        case toml::value_t::local_time: return "a date/time";
        case toml::value_t::array: return "an array";
        case toml::value_t::table: return "a table";
        case toml::value_t::empty: break;
    }
    return "nothing";
}

void reject_unknown_keys(const toml::value& table, std::initializer_list<std::string_view> known,
                         std::string_view where) {
    for (const auto& [key, value] : entries_in_file_order(table)) {
        bool is_known = false;
        for (auto k : known) is_known = is_known || k == *key;
        if (is_known) continue;
        std::string expected;
        for (auto k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
        fail(*value, "unknown key " + quote_text(*key) + " in " + std::string(where) +
                         (expected.empty() ? "" : " (expected one of: " + expected + ")"));
    }
}

const toml::value* find(const toml::value& table, const std::string& key) {
    const auto& entries = table.as_table();
    const auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second;
}

const toml::value& require(const toml::value& table, const std::string& key, std::string_view where) {
    const toml::value* value = find(table, key);
    if (!value) fail(table, std::string(where) + " needs the key " + quote_text(key));
    return *value;
}

const std::string& as_string(const toml::value& value, std::string_view what) {
    if (!value.is_string()) fail(value, std::string(what) + " must be a string, got " + type_noun(value));
    return value.as_string().str;
}

bool as_bool(const toml::value& value, std::string_view what) {
    if (!value.is_boolean()) fail(value, std::string(what) + " must be a boolean, got " + type_noun(value));
    return value.as_boolean();
}

std::int64_t as_integer(const toml::value& value, std::string_view what, std::int64_t min, std::int64_t max) {
    if (!value.is_integer()) fail(value, std::string(what) + " must be an integer, got " + type_noun(value));
    // toml11 saturates literals beyond 64 bits to the int64 limits: those land outside every range here.
    const std::int64_t number = value.as_integer();
    if (number < min || number > max)
        fail(value, std::string(what) + " must be in " + std::to_string(min) + ".." + std::to_string(max) +
                        ", got " + std::to_string(number));
    return number;
}

std::optional<RateLimit> read_rate_limit(const toml::value& table, const std::string& rate_key,
                                         const std::string& burst_key, std::string_view what) {
    constexpr std::int64_t kMax = 1'000'000'000;
    const toml::value* rate = find(table, rate_key);
    const toml::value* burst = find(table, burst_key);
    if (!rate && !burst) return std::nullopt;
    if (!rate) fail(*burst, std::string(what) + " " + burst_key + " needs " + rate_key);
    RateLimit limit;
    limit.rate = static_cast<std::uint64_t>(as_integer(*rate, std::string(what) + " " + rate_key, 1, kMax));
    limit.burst = burst ? static_cast<std::uint64_t>(as_integer(*burst, std::string(what) + " " + burst_key, 1, kMax))
                        : std::max<std::uint64_t>(1, limit.rate / 10);
    return limit;
}

const toml::array& as_array(const toml::value& value, std::string_view what) {
    if (!value.is_array()) fail(value, std::string(what) + " must be an array, got " + type_noun(value));
    return value.as_array();
}

void expect_table(const toml::value& value, std::string_view what) {
    if (!value.is_table()) fail(value, std::string(what) + " must be a table, got " + type_noun(value));
}

const toml::array& as_array_of_tables(const toml::value& value, std::string_view what) {
    if (!value.is_array())
        fail(value, std::string(what) + " must be an array of tables (write [[" + std::string(what) + "]]), got " +
                        type_noun(value));
    for (const auto& element : value.as_array())
        if (!element.is_table())
            fail(element, "every entry of " + std::string(what) + " must be a table, got " + type_noun(element));
    return value.as_array();
}

namespace {

constexpr const char* kIpv4Form = "expected a dotted quad such as 10.0.0.1, each part 0..255";
constexpr const char* kIpv6Form = "expected IPv6 text such as 2001:db8::5, without a zone (%eth0)";

// The address of IPv6 text `ip` (a part of `text`), an IPv4-mapped one as IPv4.
SocketAddress ipv6_address(const toml::value& value, std::string_view what, const std::string& ip,
                           const std::string& text) {
    const auto ip6 = parse_ipv6(ip);
    if (!ip6)
        fail(value, std::string(what) + ": invalid IPv6 address " + quote_text(ip) + " in " + quote_text(text) + " (" +
                        kIpv6Form + ")");
    if (const auto v4 = mapped_ipv4(*ip6)) return SocketAddress{*v4, 0};
    return SocketAddress{{}, 0, *ip6};
}

}  // namespace

SocketAddress as_socket_address(const toml::value& value, std::string_view what) {
    const std::string& text = as_string(value, what);
    const std::string forms = " must be \"IP:PORT\" or \"[IPv6]:PORT\", got " + quote_text(text);
    SocketAddress address;
    std::string port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            fail(value, std::string(what) + forms);
        address = ipv6_address(value, what, text.substr(1, close - 1), text);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) fail(value, std::string(what) + forms);
        const std::string ip = text.substr(0, colon);
        if (ip.find(':') != std::string::npos)
            fail(value, std::string(what) + ": an IPv6 address takes brackets before the port: \"[" + ip + "]:" +
                            text.substr(colon + 1) + "\", got " + quote_text(text));
        const auto ip4 = parse_ipv4(ip);
        if (!ip4)
            fail(value, std::string(what) + ": invalid IPv4 address " + quote_text(ip) + " in " + quote_text(text) +
                            " (" + kIpv4Form + ")");
        address.ip = *ip4;
        port = text.substr(colon + 1);
    }
    const auto number = parse_port(port);
    if (!number)
        fail(value, std::string(what) + ": invalid port " + quote_text(port) + " in " + quote_text(text) +
                        " (expected 1..65535)");
    address.port = *number;
    return address;
}

SocketAddress as_ip_address(const toml::value& value, std::string_view what) {
    const std::string& text = as_string(value, what);
    if (text.find(':') == std::string::npos) return SocketAddress{as_ipv4(value, what), 0};
    if (text.starts_with('['))
        fail(value, std::string(what) + ": write the IPv6 address without brackets, got " + quote_text(text));
    return ipv6_address(value, what, text, text);
}

std::chrono::milliseconds as_duration(const toml::value& value, std::string_view what, std::chrono::milliseconds min,
                                      std::chrono::milliseconds max) {
    const std::string& text = as_string(value, what);
    const auto digits = text.find_first_not_of("0123456789");
    const std::string number = text.substr(0, digits);
    const std::string unit = digits == std::string::npos ? "" : text.substr(digits);
    auto malformed = [&] {
        fail(value, std::string(what) + " must be a duration such as \"250ms\" or \"1s\" (an integer and ms or s), got " +
                        quote_text(text));
    };
    if (number.empty() || number.size() > 9 || (unit != "ms" && unit != "s")) malformed();
    const std::chrono::milliseconds duration(std::stoll(number) * (unit == "s" ? 1000 : 1));
    if (duration < min || duration > max)
        fail(value, std::string(what) + " must be in " + std::to_string(min.count()) + "ms.." +
                        std::to_string(max.count()) + "ms, got " + quote_text(text));
    return duration;
}

Ipv4 as_ipv4(const toml::value& value, std::string_view what) {
    const std::string& text = as_string(value, what);
    const auto ip = parse_ipv4(text);
    if (!ip)
        fail(value, std::string(what) + ": invalid IPv4 address " + quote_text(text) + " (" + kIpv4Form + ")");
    return *ip;
}

Mac as_mac(const toml::value& value, std::string_view what) {
    const std::string& text = as_string(value, what);
    const auto mac = parse_mac(text);
    if (!mac)
        fail(value, std::string(what) + ": invalid MAC address " + quote_text(text) +
                        " (expected 6 hex groups of 1 or 2 digits separated by ':', such as 40:a6:b7:66:38:fb)");
    return *mac;
}

std::vector<std::pair<const std::string*, const toml::value*>> entries_in_file_order(const toml::value& table) {
    std::vector<std::pair<const std::string*, const toml::value*>> entries;
    for (const auto& [key, value] : table.as_table()) entries.emplace_back(&key, &value);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const int la = line_of(*a.second), lb = line_of(*b.second);
        return la != lb ? la < lb : *a.first < *b.first;
    });
    return entries;
}

}  // namespace tempos::mom::config_detail
