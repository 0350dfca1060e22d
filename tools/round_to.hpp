// Figures in the tools' and the benchmarks' JSON are rounded to the places that mean something (a latency in µs
// to 0.01), so that the JSON shows 12.35 and not 12.348999999.
#pragma once

#include <cmath>

namespace tempos::tools {

inline double round_to(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

}  // namespace tempos::tools
