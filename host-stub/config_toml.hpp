// Reading TOML with every error located: typed, range-checked accessors over toml11 values that fail with
// "file:line: message". Internal to the config reader (config*.cpp).
#pragma once

#include <chrono>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <toml.hpp>

#include "config.hpp"

namespace tempos::mom::config_detail {

// Thrown by the readers below and caught at the public entry points (load_config, load_thesis_routes), which
// return status(): validation is deep and an early return at every level would bury the rules.
struct ConfigFailure {
    std::string file;
    int line = 0;  // 1-based; 0 when the error concerns the file as a whole (unreadable)
    std::string message;
    ErrorCode code = ErrorCode::invalid_argument;
    // The message located: "file:line: message", or "file: message" for line 0.
    Status status() const;
};

[[noreturn]] void fail(const toml::value& at, std::string message, ErrorCode code = ErrorCode::invalid_argument);
[[noreturn]] void fail(std::string file, int line, std::string message, ErrorCode code = ErrorCode::invalid_argument);

// "text" in double quotes, for messages.
std::string quote_text(std::string_view text);

int line_of(const toml::value& value);
std::string file_of(const toml::value& value);

// Parses a whole file. Unreadable or not a regular file: line 0; not UTF-8: the line of the first bad byte;
// syntax error: the line toml11 blames.
toml::value parse_file(const std::filesystem::path& file);

// Where a text first breaks UTF-8 (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF).
struct Utf8Error {
    int line = 0;    // 1-based
    int column = 0;  // 1-based, in characters
    unsigned char byte = 0;
};
std::optional<Utf8Error> first_invalid_utf8(std::string_view text);

// The TOML type of a value as a noun for messages: "a string", "an integer", ...
std::string type_noun(const toml::value& value);

// Rejects any key of `table` not in `known`; the earliest offending line is reported. `where` names the
// table for the message, e.g. "[mom]".
void reject_unknown_keys(const toml::value& table, std::initializer_list<std::string_view> known,
                         std::string_view where);

// nullptr when the key is absent (the only case where a default applies).
const toml::value* find(const toml::value& table, const std::string& key);
// Fails at `table` when the key is absent.
const toml::value& require(const toml::value& table, const std::string& key, std::string_view where);

// Type- and range-checked reads; `what` names the value in messages, e.g. "[mom] sq_priority".
const std::string& as_string(const toml::value& value, std::string_view what);
bool as_bool(const toml::value& value, std::string_view what);
std::int64_t as_integer(const toml::value& value, std::string_view what, std::int64_t min, std::int64_t max);
const toml::array& as_array(const toml::value& value, std::string_view what);
void expect_table(const toml::value& value, std::string_view what);
// An array whose every element is a table ([[name]] or an array of inline tables).
const toml::array& as_array_of_tables(const toml::value& value, std::string_view what);

// Address strings, with a message saying which part is wrong: "IPv4:PORT" or "[IPv6]:PORT" (IPv4-mapped IPv6 is
// read as IPv4).
SocketAddress as_socket_address(const toml::value& value, std::string_view what);
// An address without port: "10.0.0.1" or "2001:db8::5" (no brackets); the result's port is 0.
SocketAddress as_ip_address(const toml::value& value, std::string_view what);
// A duration written "<integer>ms" or "<integer>s" (e.g. "250ms", "1s"), within min..max.
std::chrono::milliseconds as_duration(const toml::value& value, std::string_view what, std::chrono::milliseconds min,
                                      std::chrono::milliseconds max);
Ipv4 as_ipv4(const toml::value& value, std::string_view what);
Mac as_mac(const toml::value& value, std::string_view what);

// An admission limit from the keys `rate_key` (events/s, 1..1e9) and `burst_key` (events, 1..1e9) of `table`
// (docs/isolation.md). Neither key: nullopt. A burst without a rate fails at the burst. Burst absent: a tenth of
// the rate (100 ms of events), at least 1. `what` prefixes the keys in messages ("topic 3", "[mom]").
std::optional<RateLimit> read_rate_limit(const toml::value& table, const std::string& rate_key,
                                         const std::string& burst_key, std::string_view what);

// The entries of a table sorted by line, so that checks report the first problem in the file.
std::vector<std::pair<const std::string*, const toml::value*>> entries_in_file_order(const toml::value& table);

}  // namespace tempos::mom::config_detail
