// Percentiles of a latency sample, in microseconds.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace tempos::tools {

struct LatencySummary {
    double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

// Nearest-rank percentiles; sorts the sample in place.
inline LatencySummary summarize_latency(std::vector<std::uint64_t>& ns) {
    LatencySummary s;
    if (ns.empty()) return s;
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) {
        const auto rank = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1) + 0.5);
        return static_cast<double>(ns[std::min(rank, ns.size() - 1)]) / 1000.0;
    };
    s.p50_us = at(0.50);
    s.p99_us = at(0.99);
    s.p999_us = at(0.999);
    s.max_us = static_cast<double>(ns.back()) / 1000.0;
    return s;
}

}  // namespace tempos::tools
