// Early returns of an error, as Abseil's macros of the same names, in functions that return a Status or a Result:
// TEMPOS_RETURN_IF_ERROR(expr) returns the error of `expr` (a Status or a Result); TEMPOS_ASSIGN_OR_RETURN(decl,
// expr) sets `decl` (a declaration, `auto x`, or a variable) to the value of the Result `expr`, or returns its error.
#pragma once

#include <utility>

#include "tempos/status.hpp"

namespace tempos {

inline const Status& status_of(const Status& status) { return status; }
template <typename T>
Status status_of(const Result<T>& result) {
    return result.status();
}

}  // namespace tempos

#define TEMPOS_RETURN_IF_ERROR(expr)                                                      \
    do {                                                                                  \
        if (::tempos::Status tempos_status_ = ::tempos::status_of(expr); !tempos_status_) \
            return tempos_status_;                                                        \
    } while (false)
#define TEMPOS_ASSIGN_OR_RETURN(decl, expr) \
    TEMPOS_ASSIGN_OR_RETURN_(TEMPOS_CONCAT_(tempos_result_, __LINE__), decl, expr)
#define TEMPOS_ASSIGN_OR_RETURN_(result, decl, expr) \
    auto result = (expr);                            \
    if (!result) return result.status();             \
    decl = std::move(*result)
#define TEMPOS_CONCAT_(a, b) TEMPOS_CONCAT2_(a, b)
#define TEMPOS_CONCAT2_(a, b) a##b
