// For plugin authors: every Adapter method is noexcept (adapter.hpp), so a method runs its body through
// at_boundary(), which turns an exception (std::bad_alloc, a library's throw) into a Status of code internal
// instead of terminating the host.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "tempos/status.hpp"

namespace tempos {

// "operation: what"; without memory for the message, an internal error with an empty one.
inline Status exception_status(const char* operation, const char* what) noexcept {
    try {
        return Status::error(ErrorCode::internal, std::string(operation) + ": " + what);
    } catch (...) {
        return Status::error(ErrorCode::internal, std::string());
    }
}

// `body` returns a Status.
template <typename Body>
Status at_boundary(const char* operation, Body&& body) noexcept {
    try {
        return std::forward<Body>(body)();
    } catch (const std::exception& e) {
        return exception_status(operation, e.what());
    } catch (...) {
        return exception_status(operation, "unknown exception");
    }
}

}  // namespace tempos
