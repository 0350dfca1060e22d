#include "admission_table.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "map_ops.hpp"

namespace tempos::xdp {

namespace {

constexpr std::uint64_t kMaxRate = 1'000'000'000;
constexpr std::uint64_t kMaxBurst = 1'000'000'000;

std::string slot_name(std::uint32_t slot) {
    return slot == TEMPOS_PUBLISHER_LIMIT_SLOT ? std::string("the publisher limit")
                                               : "the limit of topic " + std::to_string(slot);
}

}  // namespace

tempos_source_key source_key(const Ipv4& source) {
    Ipv6 mapped{};
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    std::memcpy(mapped.data() + 12, source.data(), source.size());
    return source_key(mapped);
}

tempos_source_key source_key(const Ipv6& source) {
    tempos_source_key key{};
    static_assert(sizeof(key.addr) == std::tuple_size_v<Ipv6>);
    std::memcpy(key.addr, source.data(), sizeof(key.addr));
    return key;
}

Status AdmissionTable::validate(const RateLimit& limit) {
    if (limit.rate < 1 || limit.rate > kMaxRate)
        return Status::error(ErrorCode::invalid_argument,
                             "rate limit " + std::to_string(limit.rate) + " events/s out of range 1..1000000000");
    if (limit.burst < 1 || limit.burst > kMaxBurst)
        return Status::error(ErrorCode::invalid_argument,
                             "burst " + std::to_string(limit.burst) + " out of range 1..1000000000");
    return Status::ok();
}

tempos_rate_limit AdmissionTable::to_kernel(const RateLimit& limit) {
    tempos_rate_limit out{};
    out.interval_ns = limit.rate == 0 ? 1'000'000'000 : 1'000'000'000 / limit.rate;
    if (out.interval_ns == 0) out.interval_ns = 1;
    out.tolerance_ns = out.interval_ns * (limit.burst == 0 ? 0 : limit.burst - 1);
    return out;
}

Status AdmissionTable::set(std::uint32_t slot, const std::optional<RateLimit>& limit) {
    if (slot > TEMPOS_PUBLISHER_LIMIT_SLOT)
        return Status::error(ErrorCode::invalid_argument, "limit slot " + std::to_string(slot) + " out of range");
    if (!limit) return clear_slot(topic_limits_fd_, slot, slot_name(slot));
    if (Status valid = validate(*limit); !valid) return valid.prefixed(slot_name(slot));
    const tempos_rate_limit kernel = to_kernel(*limit);
    return publish_value(topic_limits_fd_, slot, "tempos_lim_" + std::to_string(slot), &kernel, sizeof(kernel),
                         slot_name(slot));
}

Result<UniqueFd> AdmissionTable::prepare(std::uint32_t slot, const RateLimit& limit) const {
    if (slot > TEMPOS_PUBLISHER_LIMIT_SLOT)
        return Status::error(ErrorCode::invalid_argument, "limit slot " + std::to_string(slot) + " out of range");
    if (Status valid = validate(limit); !valid) return valid.prefixed(slot_name(slot));
    const tempos_rate_limit kernel = to_kernel(limit);
    return frozen_value_map("tempos_lim_" + std::to_string(slot), &kernel, sizeof(kernel), slot_name(slot));
}

Status AdmissionTable::publish(std::span<const std::uint32_t> slots, std::span<const int> inner_fds,
                               std::uint32_t& published) {
    return publish_inner_maps(topic_limits_fd_, slots, inner_fds, published,
                              [&](std::size_t i) { return slot_name(i < slots.size() ? slots[i] : 0); });
}

SlotToClear AdmissionTable::slot(std::uint32_t slot) const { return {topic_limits_fd_, slot, slot_name(slot)}; }

Result<bool> AdmissionTable::holds(std::uint32_t slot) const {
    return slot_in_use(topic_limits_fd_, slot, slot_name(slot));
}

Result<std::optional<tempos_rate_limit>> AdmissionTable::get(std::uint32_t slot) const {
    std::uint32_t inner_id = 0;
    if (bpf_map_lookup_elem(topic_limits_fd_, &slot, &inner_id) != 0) {
        if (errno == ENOENT) return std::optional<tempos_rate_limit>();
        return map_error("reading " + slot_name(slot), errno);
    }
    const int inner = bpf_map_get_fd_by_id(inner_id);
    if (inner < 0) return map_error("opening the inner map of " + slot_name(slot), errno);
    tempos_rate_limit limit{};
    const std::uint32_t zero = 0;
    const int rc = bpf_map_lookup_elem(inner, &zero, &limit);
    const int err = errno;
    ::close(inner);
    if (rc != 0) return map_error("reading " + slot_name(slot), err);
    return std::optional<tempos_rate_limit>(limit);
}

}  // namespace tempos::xdp
