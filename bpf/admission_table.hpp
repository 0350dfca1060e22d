// User-space side of the router's admission maps (bpf/admission.h): publishes each limit atomically (a fresh
// frozen inner map swapped into topic_limits, like a route) and reads it back. Does not own the fd.
#pragma once

#include <cstdint>
#include <optional>

#include "tempos/adapter.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

class AdmissionTable {
public:
    explicit AdmissionTable(int topic_limits_fd) : topic_limits_fd_(topic_limits_fd) {}

    // Slot 0..255: a topic's limit; TEMPOS_PUBLISHER_LIMIT_SLOT: every publisher's. nullopt removes the limit.
    Status set(std::uint32_t slot, const std::optional<RateLimit>& limit);
    // The slot's limit as the kernel holds it; nullopt when there is none.
    Result<std::optional<tempos_rate_limit>> get(std::uint32_t slot) const;

    // interval = 1e9 / rate ns (at least 1), tolerance = interval * (burst - 1): `burst` events conform back to
    // back on an idle bucket, then one per interval.
    static tempos_rate_limit to_kernel(const RateLimit& limit);
    // The range the kernel form represents exactly enough: rate 1..1e9 events/s, burst 1..1e9.
    static Status validate(const RateLimit& limit);

private:
    int topic_limits_fd_;
};

}  // namespace tempos::xdp
