// The Status of a failed OS call, with the code its errno means: ENOENT/ENOTDIR -> not_found,
// EACCES/EPERM -> permission_denied, anything else -> system_error; the message is "what: <strerror>".
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

#include "tempos/status.hpp"

namespace tempos {

constexpr ErrorCode error_code_of_errno(int err) {
    switch (err < 0 ? -err : err) {
        case ENOENT:
        case ENOTDIR: return ErrorCode::not_found;
        case EACCES:
        case EPERM: return ErrorCode::permission_denied;
        default: return ErrorCode::system_error;
    }
}

// `err` may be negative (libbpf's -errno convention).
inline Status system_status(const std::string& what, int err) {
    err = err < 0 ? -err : err;
    return Status::error(error_code_of_errno(err), what + ": " + std::strerror(err));
}

}  // namespace tempos
