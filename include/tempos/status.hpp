// The one error shape of the project: Status (success, or an ErrorCode with a message) and Result<T> (a value,
// or the Status that says why there is none). Used across the plugin boundary (adapter.hpp), in the host, the
// tools, the benchmarks and the test kit alike.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace tempos {

enum class ErrorCode : std::uint8_t {
    ok = 0,
    invalid_argument,   // a config value the adapter cannot use
    not_connected,      // called before connect() or after close()
    unsupported,        // the requested feature is not available here (e.g. XDP mode refused)
    permission_denied,  // missing capabilities, or a file the process may not read
    system_error,       // an OS call failed; message carries errno text
    internal,
    not_found,          // a file, interface or object that does not exist
    busy,               // the resource is held by someone else (another XDP program on the interface), left as is
};

// "invalid_argument", ...: for logs and error messages.
constexpr const char* error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::ok: return "ok";
        case ErrorCode::invalid_argument: return "invalid_argument";
        case ErrorCode::not_connected: return "not_connected";
        case ErrorCode::unsupported: return "unsupported";
        case ErrorCode::permission_denied: return "permission_denied";
        case ErrorCode::system_error: return "system_error";
        case ErrorCode::internal: return "internal";
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::busy: return "busy";
    }
    return "unknown";
}

// Success, or an error code with a message. Cheap to return on success (no allocation).
class [[nodiscard]] Status {
public:
    Status() = default;
    static Status ok() { return {}; }
    static Status error(ErrorCode code, std::string message) { return Status(code, std::move(message)); }

    bool is_ok() const { return code_ == ErrorCode::ok; }
    explicit operator bool() const { return is_ok(); }
    ErrorCode code() const { return code_; }
    const std::string& message() const { return message_; }

    // The same error with `context` in front of its message ("loading x: <message>"); ok stays ok.
    Status prefixed(const std::string& context) const {
        return is_ok() ? *this : Status(code_, context + ": " + message_);
    }

private:
    Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
    ErrorCode code_ = ErrorCode::ok;
    std::string message_;
};

// A value, or the (never ok) Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Status error) : state_(std::in_place_index<1>, std::move(error)) {  // NOLINT: implicit by design
        assert(!std::get<1>(state_).is_ok() && "a Result is built from an error Status only");
    }
    static Result error(ErrorCode code, std::string message) { return Status::error(code, std::move(message)); }

    bool is_ok() const { return state_.index() == 0; }
    explicit operator bool() const { return is_ok(); }

    // The value; only when is_ok().
    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    // Status::ok() with a value, else the error.
    Status status() const { return is_ok() ? Status::ok() : std::get<1>(state_); }
    // The error's message ("" with a value).
    const std::string& message() const {
        static const std::string none;
        return is_ok() ? none : std::get<1>(state_).message();
    }
    ErrorCode code() const { return is_ok() ? ErrorCode::ok : std::get<1>(state_).code(); }

private:
    std::variant<T, Status> state_;
};

// "message (code)": how an error is logged and reported, so the code (e.g. the one an adapter chose) is kept.
inline std::string describe(const Status& status) {
    return status.is_ok() ? std::string("ok") : status.message() + " (" + error_code_name(status.code()) + ")";
}

}  // namespace tempos
