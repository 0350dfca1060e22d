#include "route_table.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

namespace {

tempos::Status system_error(const std::string& what, int err) {
    // libbpf returns -errno; accept either sign.
    if (err < 0) err = -err;
    return tempos::Status::error(tempos::ErrorCode::system_error, what + ": " + std::strerror(err));
}

}  // namespace

RouteTable::RouteTable(int topic_routes_fd, int topic_counters_fd, int fanout_topics_fd)
    : topic_routes_fd_(topic_routes_fd), topic_counters_fd_(topic_counters_fd), fanout_topics_fd_(fanout_topics_fd) {}

tempos::Status RouteTable::validate(const tempos_route& route) {
    if (route.count == 0 || route.count > TEMPOS_MAX_SUBSCRIBERS)
        return tempos::Status::error(tempos::ErrorCode::invalid_argument,
                                     "route has " + std::to_string(route.count) + " members, expected 1.." +
                                         std::to_string(TEMPOS_MAX_SUBSCRIBERS));
    for (std::uint32_t i = 0; i < route.count; ++i) {
        const tempos_endpoint& sub = route.subs[i];
        if (sub.ipv4 == 0 || sub.port == 0)
            return tempos::Status::error(tempos::ErrorCode::invalid_argument,
                                         "route member " + std::to_string(i) + " has no address or port");
    }
    return tempos::Status::ok();
}

tempos::Status RouteTable::set(std::uint8_t topic, const tempos_route& route) {
    if (tempos::Status valid = validate(route); !valid) return valid;

    const std::string name = "tempos_rt_" + std::to_string(topic);
    tempos::UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, name.c_str(), sizeof(std::uint32_t), sizeof(tempos_route),
                                 1, nullptr));
    if (inner.get() < 0) return system_error("creating the inner route map of topic " + std::to_string(topic), inner.get());

    const std::uint32_t zero = 0;
    if (int err = bpf_map_update_elem(inner.get(), &zero, &route, BPF_ANY); err != 0)
        return system_error("writing the route of topic " + std::to_string(topic), errno);
    // Frozen: not even user space can write it after publication.
    if (int err = bpf_map_freeze(inner.get()); err != 0)
        return system_error("freezing the route of topic " + std::to_string(topic), errno);

    const std::uint32_t key = topic;
    const std::uint32_t inner_fd = static_cast<std::uint32_t>(inner.get());
    if (int err = bpf_map_update_elem(topic_routes_fd_, &key, &inner_fd, BPF_ANY); err != 0)
        return system_error("publishing the route of topic " + std::to_string(topic), errno);
    return tempos::Status::ok();
}

tempos::Status RouteTable::remove(std::uint8_t topic) {
    const std::uint32_t key = topic;
    if (bpf_map_delete_elem(topic_routes_fd_, &key) != 0 && errno != ENOENT)
        return system_error("removing the route of topic " + std::to_string(topic), errno);
    return tempos::Status::ok();
}

tempos::Status RouteTable::mark_fanout(std::uint8_t topic, bool fanned_out) {
    const std::uint32_t key = topic;
    const std::uint8_t value = fanned_out ? 1 : 0;
    if (bpf_map_update_elem(fanout_topics_fd_, &key, &value, BPF_ANY) != 0)
        return system_error("marking topic " + std::to_string(topic) + " as fanned out", errno);
    return tempos::Status::ok();
}

tempos::Status RouteTable::read_counters(std::uint32_t slot, tempos_topic_counters& sum) const {
    if (slot > TEMPOS_NO_TOPIC_SLOT)
        return tempos::Status::error(tempos::ErrorCode::invalid_argument,
                                     "counter slot " + std::to_string(slot) + " out of range 0.." +
                                         std::to_string(TEMPOS_NO_TOPIC_SLOT));
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return system_error("counting possible CPUs", cpus);

    static_assert(sizeof(tempos_topic_counters) % 8 == 0, "per-CPU values are laid out 8-byte aligned");
    std::vector<tempos_topic_counters> per_cpu(static_cast<std::size_t>(cpus));
    if (bpf_map_lookup_elem(topic_counters_fd_, &slot, per_cpu.data()) != 0)
        return system_error("reading the counters of slot " + std::to_string(slot), errno);

    sum = tempos_topic_counters{};
    for (const tempos_topic_counters& c : per_cpu) {
        sum.redirected_packets += c.redirected_packets;
        sum.redirected_bytes += c.redirected_bytes;
        sum.aborted += c.aborted;
        for (int r = 0; r < TEMPOS_PASS_REASONS; ++r) sum.passed[r] += c.passed[r];
    }
    return tempos::Status::ok();
}

}  // namespace tempos::xdp
