// Tests that need root, BPF or network namespaces call TEMPOS_REQUIRE_PRIVILEGED() first.
// Without the privileges they skip, except when TEMPOS_REQUIRE_PRIVILEGED=1 (set by scripts/test.sh under CI):
// then they fail, so CI can never pass by skipping the kernel tests.
#pragma once

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "tempos/status.hpp"

namespace tempos::test {

// Ok when the process may load BPF programs and create namespaces; otherwise permission_denied, naming the
// capabilities it lacks.
Status missing_privileges();

inline bool privileged_required() {
    const char* v = std::getenv("TEMPOS_REQUIRE_PRIVILEGED");
    return v != nullptr && std::string(v) == "1";
}

}  // namespace tempos::test

#define TEMPOS_REQUIRE_PRIVILEGED()                                                      \
    do {                                                                                 \
        const ::tempos::Status tempos_missing_ = ::tempos::test::missing_privileges();   \
        if (!tempos_missing_) {                                                          \
            if (::tempos::test::privileged_required())                                   \
                FAIL() << "privileged test cannot run: " << tempos_missing_.message();   \
            GTEST_SKIP() << "needs privileges: " << tempos_missing_.message();           \
        }                                                                                \
    } while (0)
