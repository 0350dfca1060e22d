#include "config_toml.hpp"

#include <algorithm>
#include <cerrno>
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

toml::value parse_file(const std::filesystem::path& file) {
    const std::string name = file.string();
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) fail(name, 0, "cannot read the file: it is a directory");
    std::ifstream stream(file, std::ios::binary);
    if (!stream) {
        const int err = errno;
        fail(name, 0, std::string("cannot read the file: ") + std::strerror(err), error_code_of_errno(err));
    }
    try {
        return toml::parse(stream, name);
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

SocketAddress as_socket_address(const toml::value& value, std::string_view what) {
    const std::string& text = as_string(value, what);
    const auto colon = text.rfind(':');
    if (colon == std::string::npos)
        fail(value, std::string(what) + " must be \"IP:PORT\", got " + quote_text(text));
    const std::string ip = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    if (!parse_ipv4(ip))
        fail(value, std::string(what) + ": invalid IPv4 address " + quote_text(ip) + " in " + quote_text(text) +
                        " (expected a dotted quad such as 10.0.0.1, each part 0..255)");
    if (!parse_port(port))
        fail(value, std::string(what) + ": invalid port " + quote_text(port) + " in " + quote_text(text) +
                        " (expected 1..65535)");
    return *parse_socket_address(text);
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
        fail(value, std::string(what) + ": invalid IPv4 address " + quote_text(text) +
                        " (expected a dotted quad such as 10.0.0.1, each part 0..255)");
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
