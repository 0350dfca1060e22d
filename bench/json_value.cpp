#include "json_value.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tempos::bench {

namespace {

class Parser {
public:
    explicit Parser(const std::string& t) : t_(t) {}

    std::optional<JsonValue> parse(std::string& error) {
        JsonValue v;
        if (!value(v, 0)) {
            error = error_ + " at offset " + std::to_string(i_);
            return std::nullopt;
        }
        skip();
        if (i_ != t_.size()) {
            error = "trailing characters at offset " + std::to_string(i_);
            return std::nullopt;
        }
        return v;
    }

private:
    void skip() {
        while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
    }
    bool fail(const char* why) {
        error_ = why;
        return false;
    }
    bool literal(const char* word) {
        const std::string w(word);
        if (t_.compare(i_, w.size(), w) != 0) return fail("bad literal");
        i_ += w.size();
        return true;
    }
    bool string(std::string& out) {
        if (t_[i_] != '"') return fail("expected a string");
        ++i_;
        while (i_ < t_.size() && t_[i_] != '"') {
            char c = t_[i_++];
            if (c == '\\') {
                if (i_ >= t_.size()) return fail("bad escape");
                const char e = t_[i_++];
                switch (e) {
                    case 'n': c = '\n'; break;
                    case 't': c = '\t'; break;
                    case 'r': c = '\r'; break;
                    case 'b': c = '\b'; break;
                    case 'f': c = '\f'; break;
                    case 'u': {
                        if (i_ + 4 > t_.size()) return fail("bad \\u escape");
                        c = static_cast<char>(std::strtol(t_.substr(i_, 4).c_str(), nullptr, 16) & 0x7f);
                        i_ += 4;
                        break;
                    }
                    default: c = e;
                }
            }
            out.push_back(c);
        }
        if (i_ >= t_.size()) return fail("unterminated string");
        ++i_;
        return true;
    }
    bool value(JsonValue& v, int depth) {
        if (depth > 32) return fail("nested too deeply");
        skip();
        if (i_ >= t_.size()) return fail("unexpected end");
        const char c = t_[i_];
        if (c == '{') {
            v.kind = JsonValue::Kind::object;
            ++i_;
            skip();
            if (i_ < t_.size() && t_[i_] == '}') return ++i_, true;
            for (;;) {
                skip();
                std::string k;
                if (i_ >= t_.size() || !string(k)) return fail("expected a key");
                skip();
                if (i_ >= t_.size() || t_[i_] != ':') return fail("expected ':'");
                ++i_;
                JsonValue member;
                if (!value(member, depth + 1)) return false;
                v.object.emplace_back(std::move(k), std::move(member));
                skip();
                if (i_ < t_.size() && t_[i_] == ',') { ++i_; continue; }
                if (i_ < t_.size() && t_[i_] == '}') return ++i_, true;
                return fail("expected ',' or '}'");
            }
        }
        if (c == '[') {
            v.kind = JsonValue::Kind::array;
            ++i_;
            skip();
            if (i_ < t_.size() && t_[i_] == ']') return ++i_, true;
            for (;;) {
                JsonValue element;
                if (!value(element, depth + 1)) return false;
                v.array.push_back(std::move(element));
                skip();
                if (i_ < t_.size() && t_[i_] == ',') { ++i_; continue; }
                if (i_ < t_.size() && t_[i_] == ']') return ++i_, true;
                return fail("expected ',' or ']'");
            }
        }
        if (c == '"') {
            v.kind = JsonValue::Kind::string;
            return string(v.string);
        }
        if (c == 't' || c == 'f') {
            v.kind = JsonValue::Kind::boolean;
            v.boolean = c == 't';
            return literal(c == 't' ? "true" : "false");
        }
        if (c == 'n') return literal("null");
        char* end = nullptr;
        v.number = std::strtod(t_.c_str() + i_, &end);
        if (end == t_.c_str() + i_) return fail("expected a value");
        v.kind = JsonValue::Kind::number;
        i_ = static_cast<std::size_t>(end - t_.c_str());
        return true;
    }

    const std::string& t_;
    std::size_t i_ = 0;
    std::string error_;
};

std::string format_number(double v, int decimals) {
    if (!std::isfinite(v)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

}  // namespace

const JsonValue* JsonValue::find(const std::string& key) const {
    for (const auto& [k, v] : object)
        if (k == key) return &v;
    return nullptr;
}

std::optional<double> JsonValue::number_at(const std::vector<std::string>& path) const {
    const JsonValue* v = this;
    for (const std::string& k : path)
        if (!(v = v->find(k))) return std::nullopt;
    if (v->kind != Kind::number) return std::nullopt;
    return v->number;
}

std::string JsonValue::dump() const {
    switch (kind) {
        case Kind::null: return "null";
        case Kind::boolean: return boolean ? "true" : "false";
        case Kind::number: {
            char buf[64];
            std::snprintf(buf, sizeof(buf), "%.10g", number);
            return buf;
        }
        case Kind::string: return json_quote(string);
        case Kind::array: {
            std::string s = "[";
            for (std::size_t i = 0; i < array.size(); ++i) s += (i ? ", " : "") + array[i].dump();
            return s + "]";
        }
        case Kind::object: {
            std::string s = "{";
            for (std::size_t i = 0; i < object.size(); ++i)
                s += (i ? ", " : "") + json_quote(object[i].first) + ": " + object[i].second.dump();
            return s + "}";
        }
    }
    return "null";
}

std::optional<JsonValue> parse_json(const std::string& text, std::string& error) {
    return Parser(text).parse(error);
}

std::string json_quote(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

void JsonWriter::key(const std::string& k) {
    if (!body_.empty()) body_ += ", ";
    body_ += json_quote(k) + ": ";
}

JsonWriter& JsonWriter::number(const std::string& k, double value, int decimals) {
    key(k);
    body_ += format_number(value, decimals);
    return *this;
}

JsonWriter& JsonWriter::text(const std::string& k, const std::string& value) {
    key(k);
    body_ += json_quote(value);
    return *this;
}

JsonWriter& JsonWriter::raw(const std::string& k, const std::string& json) {
    key(k);
    body_ += json;
    return *this;
}

}  // namespace tempos::bench
