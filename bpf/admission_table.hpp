// User-space side of the router's admission maps (bpf/admission.h): publishes each limit atomically (a fresh
// frozen inner map swapped into topic_limits, like a route) and reads it back. Does not own the fd.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "map_ops.hpp"
#include "tempos/adapter.hpp"
#include "tempos/unique_fd.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

// The key of a source's bucket in pub_buckets (tempos_source_key, xdp_abi.h): an IPv6 source as it is, an IPv4
// source as ::ffff:a.b.c.d.
tempos_source_key source_key(const Ipv4& source);
tempos_source_key source_key(const Ipv6& source);

class AdmissionTable {
public:
    explicit AdmissionTable(int topic_limits_fd) : topic_limits_fd_(topic_limits_fd) {}

    // Slot 0..255: a topic's limit; TEMPOS_PUBLISHER_LIMIT_SLOT: every publisher's. nullopt removes the limit.
    Status set(std::uint32_t slot, const std::optional<RateLimit>& limit);
    // The slot's limit as the kernel holds it; nullopt when there is none.
    Result<std::optional<tempos_rate_limit>> get(std::uint32_t slot) const;
    // set() in parts, for many topics at once (XdpAdapter::configure_topics): prepare() validates a limit and
    // writes it into a fresh frozen inner map, publish() swaps such maps in with one batched update
    // (publish_inner_maps); a removal empties slot(s) with clear_slots, if holds(s) (else there is nothing to do).
    Result<UniqueFd> prepare(std::uint32_t slot, const RateLimit& limit) const;
    Status publish(std::span<const std::uint32_t> slots, std::span<const int> inner_fds, std::uint32_t& published);
    SlotToClear slot(std::uint32_t slot) const;
    Result<bool> holds(std::uint32_t slot) const;

    // interval = 1e9 / rate ns (at least 1), tolerance = interval * (burst - 1): `burst` events conform back to
    // back on an idle bucket, then one per interval.
    static tempos_rate_limit to_kernel(const RateLimit& limit);
    // The range the kernel form represents exactly enough: rate 1..1e9 events/s, burst 1..1e9.
    static Status validate(const RateLimit& limit);

private:
    int topic_limits_fd_;
};

}  // namespace tempos::xdp
