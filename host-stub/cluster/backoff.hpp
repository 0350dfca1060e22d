// Exponential backoff between attempts to reach etcd: first, 2 x first, ... up to max; reset() after a success.
#pragma once

#include <algorithm>
#include <chrono>

namespace tempos::cluster {

class Backoff {
public:
    Backoff(std::chrono::milliseconds first, std::chrono::milliseconds max) : first_(first), max_(max), next_(first) {}
    std::chrono::milliseconds next() {
        const auto now = next_;
        next_ = std::min(max_, next_ * 2);
        return now;
    }
    void reset() { next_ = first_; }

private:
    std::chrono::milliseconds first_, max_, next_;
};

}  // namespace tempos::cluster
