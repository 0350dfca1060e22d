// What the privileged differential targets (router_fuzzer.cpp, fanout_fuzzer.cpp) share: how they fail, how they
// skip, and how they count the model's rules.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
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

// TEMPOS_FUZZ_RULES=1: a map in which the target counts how often each of the model's rules decided, printed at
// exit (what the corpus reaches); otherwise null.
inline std::map<std::string, std::uint64_t>* rule_counts_from_env() {
    const char* rules = std::getenv("TEMPOS_FUZZ_RULES");
    if (rules == nullptr || std::string(rules) != "1") return nullptr;
    static std::map<std::string, std::uint64_t> counts;
    std::atexit([] {
        for (const auto& [rule, n] : counts) std::fprintf(stderr, "rule %8llu  %s\n", (unsigned long long)n, rule.c_str());
    });
    return &counts;
}

}  // namespace tempos::fuzz
