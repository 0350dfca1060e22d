#include "fanout_table.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "map_ops.hpp"
#include "route_table.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

FanoutTable::FanoutTable(int fanout_routes_fd, int group_counters_fd, int topic_counters_fd)
    : routes_fd_(fanout_routes_fd), group_counters_fd_(group_counters_fd), topic_counters_fd_(topic_counters_fd) {}

tempos::Status FanoutTable::validate(std::span<const tempos_route> groups) {
    if (groups.empty() || groups.size() > TEMPOS_MAX_FANOUT_GROUPS)
        return tempos::Status::error(tempos::ErrorCode::invalid_argument,
                                     "fan-out route has " + std::to_string(groups.size()) + " groups, expected 1.." +
                                         std::to_string(TEMPOS_MAX_FANOUT_GROUPS));
    const bool ipv6 = (groups[0].subs[0].flags & TEMPOS_EP_IPV6) != 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        if (tempos::Status valid = RouteTable::validate(groups[g]); !valid)
            return tempos::Status::error(valid.code(), "group " + std::to_string(g) + ": " + valid.message());
        // One family for the whole topic: the program never turns an event into the other (docs/ipv6.md).
        for (std::uint32_t i = 0; i < groups[g].count; ++i)
            if (((groups[g].subs[i].flags & TEMPOS_EP_IPV6) != 0) != ipv6)
                return tempos::Status::error(tempos::ErrorCode::invalid_argument,
                                             "group " + std::to_string(g) + ": member " + std::to_string(i) +
                                                 " is of the other IP family than group 0's first member, and the "
                                                 "kernel fan-out never turns an event of one family into the other");
    }
    return tempos::Status::ok();
}

void FanoutTable::fill_slots(std::span<const tempos_route> groups, std::span<tempos_fanout_member> slots) {
    for (tempos_fanout_member& slot : slots) slot = tempos_fanout_member{};
    for (std::size_t g = 0; g < groups.size() && g < TEMPOS_MAX_FANOUT_GROUPS; ++g) {
        for (std::uint32_t m = 0; m < groups[g].count && m < TEMPOS_MAX_SUBSCRIBERS; ++m) {
            tempos_fanout_member& slot = slots[g * TEMPOS_MAX_SUBSCRIBERS + m];
            slot.ep = groups[g].subs[m];
            slot.group_size = groups[g].count;
        }
    }
}

namespace {

std::string fanout_name(std::uint32_t topic) { return "the fan-out route of topic " + std::to_string(topic); }

}  // namespace

tempos::Result<tempos::UniqueFd> FanoutTable::prepare(std::uint8_t topic, std::span<const tempos_route> groups) const {
    if (tempos::Status valid = validate(groups); !valid)
        return tempos::Status::error(valid.code(), "topic " + std::to_string(topic) + ": " + valid.message());

    std::vector<tempos_fanout_member> slots(TEMPOS_FANOUT_SLOTS);
    fill_slots(groups, slots);
    const std::string name = "tempos_fo_" + std::to_string(topic);
    tempos::UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, name.c_str(), sizeof(std::uint32_t),
                                          sizeof(tempos_fanout_member), TEMPOS_FANOUT_SLOTS, nullptr));
    if (inner.get() < 0)
        return map_error("creating the inner fan-out map of topic " + std::to_string(topic), inner.get());
    // Only the used slots: a fresh array map reads as zeros elsewhere, which ends the group list.
    for (std::size_t g = 0; g < groups.size(); ++g) {
        for (std::uint32_t m = 0; m < groups[g].count; ++m) {
            const std::uint32_t key = static_cast<std::uint32_t>(g * TEMPOS_MAX_SUBSCRIBERS + m);
            if (bpf_map_update_elem(inner.get(), &key, &slots[key], BPF_ANY) != 0)
                return map_error("writing " + fanout_name(topic), errno);
        }
    }
    if (bpf_map_freeze(inner.get()) != 0) return map_error("freezing " + fanout_name(topic), errno);
    return tempos::Result<tempos::UniqueFd>(std::move(inner));
}

tempos::Status FanoutTable::set(std::uint8_t topic, std::span<const tempos_route> groups) {
    tempos::Result<tempos::UniqueFd> inner = prepare(topic, groups);
    if (!inner) return inner.status();
    return swap_in(routes_fd_, topic, inner.value().get(), fanout_name(topic));
}

tempos::Status FanoutTable::publish(std::span<const std::uint32_t> topics, std::span<const int> inner_fds,
                                    std::uint32_t& published) {
    return publish_inner_maps(routes_fd_, topics, inner_fds, published,
                              [&](std::size_t i) { return fanout_name(i < topics.size() ? topics[i] : 0); });
}

SlotToClear FanoutTable::slot(std::uint8_t topic) const { return {routes_fd_, topic, fanout_name(topic)}; }

tempos::Status FanoutTable::remove(std::uint8_t topic) {
    return clear_slot(routes_fd_, topic, fanout_name(topic));
}

tempos::Result<tempos_fanout_topic_counters> FanoutTable::read_topic_counters(std::uint8_t topic) const {
    return sum_per_cpu<tempos_fanout_topic_counters>(
        topic_counters_fd_, topic, "the fan-out counters of topic " + std::to_string(topic),
        [](tempos_fanout_topic_counters& sum, const tempos_fanout_topic_counters& c) {
            using C = tempos_fanout_topic_counters;
            for (auto count : {&C::events, &C::passed_ttl, &C::passed_unresolved, &C::passed_gso, &C::aborted,
                                &C::passed_too_big, &C::passed_family})
                sum.*count += c.*count;
        });
}

tempos::Result<tempos_fanout_group_counters> FanoutTable::read_group_counters(std::uint8_t topic,
                                                                              std::uint32_t group) const {
    if (group >= TEMPOS_MAX_FANOUT_GROUPS)
        return tempos::Status::error(tempos::ErrorCode::invalid_argument,
                                     "group " + std::to_string(group) + " out of range 0.." +
                                         std::to_string(TEMPOS_MAX_FANOUT_GROUPS - 1));
    return sum_per_cpu<tempos_fanout_group_counters>(
        group_counters_fd_, std::uint32_t{topic} * TEMPOS_MAX_FANOUT_GROUPS + group,
        "the fan-out counters of topic " + std::to_string(topic) + " group " + std::to_string(group),
        [](tempos_fanout_group_counters& sum, const tempos_fanout_group_counters& c) {
            using C = tempos_fanout_group_counters;
            for (auto count : {&C::copies, &C::bytes, &C::clone_errors, &C::unresolved, &C::too_big})
                sum.*count += c.*count;
        });
}

}  // namespace tempos::xdp
