// The little JSON the bench needs: parse the flat objects the subcommands and tools print, and write objects
// with fields in insertion order. Numbers are doubles; no \u escapes beyond ASCII.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tempos::bench {

struct JsonValue {
    enum class Kind { null, boolean, number, string, array, object } kind = Kind::null;
    bool boolean = false;
    double number = 0;
    std::string string;
    std::vector<JsonValue> array;
    std::vector<std::pair<std::string, JsonValue>> object;  // in document order

    const JsonValue* find(const std::string& key) const;
    // A number at a path of object keys, e.g. {"topics", "1", "p99_us"}.
    std::optional<double> number_at(const std::vector<std::string>& path) const;
    std::string dump() const;
};

// nullopt and `error` set when `text` is not one JSON value (trailing white space allowed).
std::optional<JsonValue> parse_json(const std::string& text, std::string& error);

// Writes one object; fields in the order added.
class JsonWriter {
public:
    JsonWriter& number(const std::string& key, double value, int decimals = 3);
    JsonWriter& text(const std::string& key, const std::string& value);
    JsonWriter& raw(const std::string& key, const std::string& json);
    std::string str() const { return "{" + body_ + "}"; }

private:
    void key(const std::string& k);
    std::string body_;
};

std::string json_quote(const std::string& s);

}  // namespace tempos::bench
