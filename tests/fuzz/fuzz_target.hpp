// What the privileged differential targets (router_fuzzer.cpp, fanout_fuzzer.cpp) share: how they fail and how
// they skip.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tempos::fuzz {

// abort, not exit: a kernel call that fails on an input leaves that input to libFuzzer as a crash.
[[noreturn]] inline void fatal(const char* target, const std::string& why) {
    std::fprintf(stderr, "%s: %s\n", target, why.c_str());
    std::abort();
}

// Without the privileges to load BPF programs and create a namespace: exit 77 (ctest: skipped), or 1 when
// TEMPOS_REQUIRE_PRIVILEGED=1 (CI), saying why.
[[noreturn]] inline void unprivileged(const char* target, const std::string& why) {
    const char* required = std::getenv("TEMPOS_REQUIRE_PRIVILEGED");
    const bool must = required != nullptr && std::string(required) == "1";
    std::fprintf(stderr, "%s: %s: %s\n", target, must ? "privileged target cannot run" : "skipped, needs privileges",
                 why.c_str());
    std::exit(must ? 1 : 77);
}

}  // namespace tempos::fuzz
