#include "route_table.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "map_ops.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

RouteTable::RouteTable(int topic_routes_fd, int topic_counters_fd)
    : topic_routes_fd_(topic_routes_fd), topic_counters_fd_(topic_counters_fd) {}

tempos::Status RouteTable::validate(const tempos_route& route) {
    if (route.count == 0 || route.count > TEMPOS_MAX_SUBSCRIBERS)
        return tempos::Status::error(tempos::ErrorCode::invalid_argument,
                                     "route has " + std::to_string(route.count) + " members, expected 1.." +
                                         std::to_string(TEMPOS_MAX_SUBSCRIBERS));
    for (std::uint32_t i = 0; i < route.count; ++i) {
        const tempos_endpoint& sub = route.subs[i];
        const bool ipv6 = (sub.flags & TEMPOS_EP_IPV6) != 0;
        const bool has_address = ipv6 ? (sub.ipv6[0] | sub.ipv6[1] | sub.ipv6[2] | sub.ipv6[3]) != 0 && sub.ipv4 == 0
                                      : sub.ipv4 != 0;
        if (!has_address || sub.port == 0)
            return tempos::Status::error(tempos::ErrorCode::invalid_argument,
                                         "route member " + std::to_string(i) + " has no address or port");
    }
    return tempos::Status::ok();
}

namespace {

std::string route_name(std::uint32_t topic) { return "the route of topic " + std::to_string(topic); }

}  // namespace

tempos::Status RouteTable::set(std::uint8_t topic, const tempos_route& route) {
    if (tempos::Status valid = validate(route); !valid) return valid;

    return publish_value(topic_routes_fd_, topic, "tempos_rt_" + std::to_string(topic), &route, sizeof(route),
                         route_name(topic));
}

tempos::Result<tempos::UniqueFd> RouteTable::prepare(std::uint8_t topic, const tempos_route& route) const {
    if (tempos::Status valid = validate(route); !valid) return valid;
    return frozen_value_map("tempos_rt_" + std::to_string(topic), &route, sizeof(route), route_name(topic));
}

tempos::Status RouteTable::publish(std::span<const std::uint32_t> topics, std::span<const int> inner_fds,
                                   std::uint32_t& published) {
    return publish_inner_maps(topic_routes_fd_, topics, inner_fds, published,
                              [&](std::size_t i) { return route_name(i < topics.size() ? topics[i] : 0); });
}

tempos::Status RouteTable::remove(std::uint8_t topic) {
    return clear_slot(topic_routes_fd_, topic, route_name(topic));
}

SlotToClear RouteTable::slot(std::uint8_t topic) const { return {topic_routes_fd_, topic, route_name(topic)}; }

tempos::Result<tempos_topic_counters> RouteTable::read_counters(std::uint32_t slot) const {
    if (slot > TEMPOS_NO_TOPIC_SLOT)
        return tempos::Status::error(tempos::ErrorCode::invalid_argument,
                                     "counter slot " + std::to_string(slot) + " out of range 0.." +
                                         std::to_string(TEMPOS_NO_TOPIC_SLOT));
    return sum_per_cpu<tempos_topic_counters>(
        topic_counters_fd_, slot, "the counters of slot " + std::to_string(slot),
        [](tempos_topic_counters& sum, const tempos_topic_counters& c) {
            sum.redirected_packets += c.redirected_packets;
            sum.redirected_bytes += c.redirected_bytes;
            sum.aborted += c.aborted;
            for (int r = 0; r < TEMPOS_PASS_REASONS; ++r) sum.passed[r] += c.passed[r];
            sum.best_effort_offered += c.best_effort_offered;
            sum.best_effort_arrived += c.best_effort_arrived;
            for (int r = 0; r < TEMPOS_POLICE_REASONS; ++r) sum.policed[r] += c.policed[r];
        });
}

}  // namespace tempos::xdp
