#include "router_state.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "admission_table.hpp"
#include "bpf_objects.hpp"
#include "fanout_table.hpp"
#include "map_ops.hpp"
#include "route_table.hpp"
#include "tcx.hpp"

namespace tempos::inspect {

const char* to_string(XdpAttachMode mode) {
    switch (mode) {
        case XdpAttachMode::native: return "native";
        case XdpAttachMode::generic: return "generic";
        case XdpAttachMode::offload: return "offload";
    }
    return "unknown";
}

namespace {

// What a map must look like to be the one bpf/router_maps.h or bpf/fanout_maps.h defines.
struct MapShape {
    const char* name;
    std::uint32_t type;
    std::uint32_t value_size;  // 0: any (ARRAY_OF_MAPS values are inner map ids, DEVMAP_HASH's vary)
    std::uint32_t max_entries;
};

constexpr MapShape kTopicRoutes{"topic_routes", BPF_MAP_TYPE_ARRAY_OF_MAPS, 0, TEMPOS_MAX_TOPICS};
constexpr MapShape kTopicCounters{"topic_counters", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(tempos_topic_counters),
                                  TEMPOS_MAX_TOPICS + 1};
constexpr MapShape kEgressPorts{"egress_ports", BPF_MAP_TYPE_DEVMAP_HASH, 0, 0};
constexpr MapShape kEgressVlans{"egress_vlans", BPF_MAP_TYPE_HASH, sizeof(tempos_egress_vlan), TEMPOS_MAX_EGRESS_VLANS};
constexpr MapShape kFanoutRoutes{"fanout_routes", BPF_MAP_TYPE_ARRAY_OF_MAPS, 0, TEMPOS_MAX_TOPICS};
constexpr MapShape kTopicLimits{"topic_limits", BPF_MAP_TYPE_ARRAY_OF_MAPS, 0, TEMPOS_MAX_TOPICS + 1};
constexpr MapShape kBestEffortCpumap{"be_cpumap", BPF_MAP_TYPE_CPUMAP, sizeof(bpf_cpumap_val), TEMPOS_MAX_CPUS};
constexpr MapShape kFanoutGroupCounters{"fanout_group_counters", BPF_MAP_TYPE_PERCPU_ARRAY,
                                        sizeof(tempos_fanout_group_counters),
                                        TEMPOS_MAX_TOPICS * TEMPOS_MAX_FANOUT_GROUPS};
constexpr MapShape kFanoutTopicCounters{"fanout_topic_counters", BPF_MAP_TYPE_PERCPU_ARRAY,
                                        sizeof(tempos_fanout_topic_counters), TEMPOS_MAX_TOPICS};

std::string describe(const ProgramInfo& program) {
    return "program " + std::to_string(program.id) + " (" + (program.name.empty() ? "unnamed" : program.name) + ")";
}

// The map `shape` of `program`; unsupported when it is missing or laid out otherwise (not our program, or one
// built from another xdp_abi.h).
Result<OpenMap> program_map(const ProgramInfo& program, const MapShape& shape, const std::string& role) {
    Result<OpenMap> map = find_map(program, shape.name);
    if (map.code() == ErrorCode::not_found)
        return Result<OpenMap>::error(ErrorCode::unsupported, describe(program) + " is not " + role +
                                                                  ": it has no map " + shape.name);
    if (!map) return map;
    const bool fits = map->type == shape.type && (shape.value_size == 0 || map->value_size == shape.value_size) &&
                      (shape.max_entries == 0 || map->max_entries == shape.max_entries);
    if (!fits)
        return Result<OpenMap>::error(
            ErrorCode::unsupported,
            describe(program) + ": map " + shape.name + " has type " + std::to_string(map->type) + ", value size " +
                std::to_string(map->value_size) + ", " + std::to_string(map->max_entries) +
                " entries; this tempos-inspect expects type " + std::to_string(shape.type) + ", value size " +
                std::to_string(shape.value_size) + ", " + std::to_string(shape.max_entries) +
                " entries (built from another include/tempos/xdp_abi.h?)");
    return map;
}

struct RouterMaps {
    OpenMap topic_routes, topic_counters, egress_ports, egress_vlans, fanout_routes, topic_limits, be_cpumap;
};

Result<RouterMaps> router_maps(const ProgramInfo& program) {
    const std::string role = "the tempos XDP router";
    if (program.type != BPF_PROG_TYPE_XDP)
        return Result<RouterMaps>::error(ErrorCode::unsupported, describe(program) + " is not " + role);
    RouterMaps maps;
    for (auto [shape, target] : {std::pair{&kTopicRoutes, &maps.topic_routes},
                                 std::pair{&kTopicCounters, &maps.topic_counters},
                                 std::pair{&kEgressPorts, &maps.egress_ports},
                                 std::pair{&kEgressVlans, &maps.egress_vlans},
                                 std::pair{&kFanoutRoutes, &maps.fanout_routes},
                                 std::pair{&kTopicLimits, &maps.topic_limits},
                                 std::pair{&kBestEffortCpumap, &maps.be_cpumap}}) {
        Result<OpenMap> map = program_map(program, *shape, role);
        if (!map) return map.status();
        *target = std::move(map).value();
    }
    return maps;
}

struct FanoutMaps {
    OpenMap group_counters, topic_counters;
};

struct AttachedRouter {
    AttachedProgram program;
    XdpAttachMode mode;
    RouterMaps maps;
};

// The tempos router among the XDP programs attached to the interface (one per mode; the MoM attaches one).
Result<AttachedRouter> attached_router(const Interface& interface) {
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (const int err = bpf_xdp_query(interface.ifindex, 0, &query); err != 0)
        return bpf_error("querying the XDP programs of " + interface.name, err);
    const std::pair<std::uint32_t, XdpAttachMode> attached[] = {{query.drv_prog_id, XdpAttachMode::native},
                                                                {query.skb_prog_id, XdpAttachMode::generic},
                                                                {query.hw_prog_id, XdpAttachMode::offload}};
    Status first_refusal;
    for (const auto& [id, mode] : attached) {
        if (id == 0) continue;
        Result<OpenProgram> program = open_program(id);
        if (!program) return program.status();
        Result<RouterMaps> maps = router_maps(program->info);
        if (maps) return AttachedRouter{{id, program->info.name}, mode, std::move(maps).value()};
        if (maps.code() != ErrorCode::unsupported) return maps.status();
        if (first_refusal.is_ok())
            first_refusal = maps.status().prefixed(std::string(to_string(mode)) + " XDP on " + interface.name);
    }
    if (!first_refusal.is_ok()) return first_refusal;
    return Result<AttachedRouter>::error(ErrorCode::not_found,
                                         "no XDP program is attached to " + interface.name +
                                             " (no MoM runs with XDP on it in this network namespace)");
}

struct AttachedFanout {
    AttachedProgram program;
    FanoutMaps maps;
};

// The TC fan-out program: the tcx ingress program of the interface that shares the router's fanout_routes map
// (the adapter gives it that map, bpf/fanout_routes_map.h). None on a kernel without tcx.
Result<std::optional<AttachedFanout>> attached_fanout(const Interface& interface, std::uint32_t fanout_routes_id) {
    std::array<std::uint32_t, 64> ids{};
    LIBBPF_OPTS(bpf_prog_query_opts, query);
    query.prog_ids = ids.data();
    query.prog_cnt = ids.size();
    // BPF_PROG_QUERY takes the ifindex of a tcx attach point where other types take a target fd.
    if (bpf_prog_query_opts(interface.ifindex, xdp::kTcxIngress, &query) != 0) {
        if (errno == EINVAL) return std::optional<AttachedFanout>{};  // the kernel knows no tcx (Linux < 6.6)
        return bpf_error("querying the tcx ingress programs of " + interface.name, errno);
    }
    const std::string role = "the tempos TC fan-out program";
    for (std::uint32_t i = 0; i < query.prog_cnt && i < ids.size(); ++i) {
        Result<OpenProgram> program = open_program(ids[i]);
        if (!program) return program.status();
        Result<OpenMap> routes = find_map(program->info, kFanoutRoutes.name);
        if (routes.code() == ErrorCode::not_found || (routes && routes->id != fanout_routes_id)) continue;
        if (!routes) return routes.status();
        Result<OpenMap> groups = program_map(program->info, kFanoutGroupCounters, role);
        if (!groups) return groups.status();
        Result<OpenMap> topics = program_map(program->info, kFanoutTopicCounters, role);
        if (!topics) return topics.status();
        return std::optional<AttachedFanout>{AttachedFanout{
            {ids[i], program->info.name}, {std::move(groups).value(), std::move(topics).value()}}};
    }
    return std::optional<AttachedFanout>{};
}

Interface interface_of(int ifindex) {
    char name[IF_NAMESIZE] = {};
    if (if_indextoname(static_cast<unsigned>(ifindex), name) == nullptr)
        return {ifindex, "ifindex " + std::to_string(ifindex)};
    return {ifindex, name};
}

std::string format_mac(const std::uint8_t (&mac)[6]) {
    char text[18];
    std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return text;
}

Member decode(const tempos_endpoint& endpoint, const Interface& ingress) {
    Member member;
    char ip[INET6_ADDRSTRLEN] = {};
    if (endpoint.flags & TEMPOS_EP_IPV6)
        inet_ntop(AF_INET6, endpoint.ipv6, ip, sizeof(ip));
    else
        inet_ntop(AF_INET, &endpoint.ipv4, ip, sizeof(ip));
    member.ip = ip;
    member.port = ntohs(endpoint.port);
    if (endpoint.flags & TEMPOS_EP_HAS_MAC) {
        member.mac = format_mac(endpoint.mac);
        member.src_mac = format_mac(endpoint.src_mac);
        // 0: back out of the interface the frame arrived on (XDP_TX).
        member.egress = endpoint.ifindex == 0 ? ingress : interface_of(static_cast<int>(endpoint.ifindex));
    }
    return member;
}

// The inner map published in slot `key` of an ARRAY_OF_MAPS (user space reads an inner map's id there); none when
// the slot is empty. `value_size` checks it against the ABI.
Result<std::optional<OpenMap>> published_inner_map(const OpenMap& outer, std::uint32_t key, std::uint32_t value_size) {
    std::uint32_t inner_id = 0;
    if (bpf_map_lookup_elem(outer.fd.get(), &key, &inner_id) != 0) {
        if (errno == ENOENT) return std::optional<OpenMap>{};
        return bpf_error("reading slot " + std::to_string(key) + " of " + outer.name, errno);
    }
    Result<OpenMap> inner = open_map(inner_id);
    if (!inner) return inner.status();
    if (inner->value_size != value_size)
        return Result<std::optional<OpenMap>>::error(
            ErrorCode::unsupported, "the inner map of " + outer.name + " slot " + std::to_string(key) +
                                        " has value size " + std::to_string(inner->value_size) + ", expected " +
                                        std::to_string(value_size) + " (built from another include/tempos/xdp_abi.h?)");
    return std::optional<OpenMap>{std::move(inner).value()};
}

template <typename Value>
Result<Value> lookup(const OpenMap& map, std::uint32_t key) {
    Value value{};
    if (bpf_map_lookup_elem(map.fd.get(), &key, &value) != 0)
        return bpf_error("reading entry " + std::to_string(key) + " of map " + map.name, errno);
    return value;
}

Result<std::vector<Member>> strict_members(const RouterMaps& maps, std::uint32_t topic, const Interface& ingress) {
    auto inner = published_inner_map(maps.topic_routes, topic, sizeof(tempos_route));
    if (!inner) return inner.status();
    std::vector<Member> members;
    if (!inner->has_value()) return members;
    Result<tempos_route> route = lookup<tempos_route>(**inner, 0);
    if (!route) return route.status();
    for (std::uint32_t m = 0; m < route->count && m < TEMPOS_MAX_SUBSCRIBERS; ++m)
        members.push_back(decode(route->subs[m], ingress));
    return members;
}

// How many CPUs have `counted(value)` in slot `key` of a per-CPU map.
template <typename Value, typename Counted>
Result<std::uint32_t> contributing_cpus(const OpenMap& map, std::uint32_t key, Counted counted) {
    const Result<std::vector<Value>> per_cpu =
        xdp::read_per_cpu<Value>(map.fd.get(), key, "slot " + std::to_string(key) + " of " + map.name);
    if (!per_cpu) return per_cpu.status();
    std::uint32_t cpus = 0;
    for (const Value& value : *per_cpu) cpus += counted(value) ? 1 : 0;
    return cpus;
}

// RouteTable sums (as the adapter does); counting the CPUs takes a second read of the live map.
Result<TopicCounters> topic_counters(const RouterMaps& maps, std::uint32_t slot) {
    TopicCounters counters;
    const xdp::RouteTable table(maps.topic_routes.fd.get(), maps.topic_counters.fd.get());
    const Result<tempos_topic_counters> sum = table.read_counters(slot);
    if (!sum) return sum.status();
    counters.sum = *sum;
    Result<std::uint32_t> cpus = contributing_cpus<tempos_topic_counters>(
        maps.topic_counters, slot, [](const tempos_topic_counters& c) { return c.redirected_packets != 0; });
    if (!cpus) return cpus.status();
    counters.redirecting_cpus = *cpus;
    return counters;
}

// The groups of a fanned-out topic (slots g * TEMPOS_MAX_SUBSCRIBERS + m, xdp_abi.h) with their counters.
Result<std::vector<FanoutGroup>> fanout_groups(const RouterMaps& maps, const std::optional<AttachedFanout>& fanout,
                                               std::uint32_t topic, const Interface& ingress) {
    auto inner = published_inner_map(maps.fanout_routes, topic, sizeof(tempos_fanout_member));
    if (!inner) return inner.status();
    std::vector<FanoutGroup> groups;
    if (!inner->has_value()) return groups;
    for (std::uint32_t g = 0; g < TEMPOS_MAX_FANOUT_GROUPS; ++g) {
        // Every member carries its group's size; the first group whose slot 0 says 0 ends the list.
        Result<tempos_fanout_member> first = lookup<tempos_fanout_member>(**inner, g * TEMPOS_MAX_SUBSCRIBERS);
        if (!first) return first.status();
        if (first->group_size == 0) break;
        FanoutGroup group;
        group.members.push_back(decode(first->ep, ingress));
        for (std::uint32_t m = 1; m < first->group_size && m < TEMPOS_MAX_SUBSCRIBERS; ++m) {
            Result<tempos_fanout_member> slot = lookup<tempos_fanout_member>(**inner, g * TEMPOS_MAX_SUBSCRIBERS + m);
            if (!slot) return slot.status();
            group.members.push_back(decode(slot->ep, ingress));
        }
        if (fanout) {
            const xdp::FanoutTable table(maps.fanout_routes.fd.get(), fanout->maps.group_counters.fd.get(),
                                         fanout->maps.topic_counters.fd.get());
            const Result<tempos_fanout_group_counters> sum = table.read_group_counters(static_cast<std::uint8_t>(topic), g);
            if (!sum) return sum.status();
            group.counters = *sum;
            Result<std::uint32_t> cpus = contributing_cpus<tempos_fanout_group_counters>(
                fanout->maps.group_counters, topic * TEMPOS_MAX_FANOUT_GROUPS + g,
                [](const tempos_fanout_group_counters& c) { return c.copies != 0; });
            if (!cpus) return cpus.status();
            group.copying_cpus = *cpus;
        }
        groups.push_back(std::move(group));
    }
    return groups;
}

template <typename Counters>
bool all_zero(const Counters& counters) {
    static const Counters zero{};
    return std::memcmp(&counters, &zero, sizeof(Counters)) == 0;
}

Result<TopicState> topic_state(const RouterMaps& maps, const std::optional<AttachedFanout>& fanout,
                               std::uint32_t topic, const Interface& ingress) {
    TopicState state;
    state.topic = topic;
    Result<std::vector<Member>> members = strict_members(maps, topic, ingress);
    if (!members) return members.status();
    state.strict_members = std::move(members).value();
    Result<std::vector<FanoutGroup>> groups = fanout_groups(maps, fanout, topic, ingress);
    if (!groups) return groups.status();
    state.groups = std::move(groups).value();
    Result<TopicCounters> counters = topic_counters(maps, topic);
    if (!counters) return counters.status();
    state.counters = *counters;
    Result<std::optional<tempos_rate_limit>> limit = xdp::AdmissionTable(maps.topic_limits.fd.get()).get(topic);
    if (!limit) return limit.status();
    state.limit = *limit;
    if (fanout) {
        const xdp::FanoutTable table(maps.fanout_routes.fd.get(), fanout->maps.group_counters.fd.get(),
                                     fanout->maps.topic_counters.fd.get());
        const Result<tempos_fanout_topic_counters> sum = table.read_topic_counters(static_cast<std::uint8_t>(topic));
        if (!sum) return sum.status();
        state.fanout_counters = *sum;
    }
    return state;
}

bool is_active(const TopicState& topic) {
    return !topic.strict_members.empty() || !topic.groups.empty() || topic.limit || !all_zero(topic.counters.sum) ||
           (topic.fanout_counters && !all_zero(*topic.fanout_counters));
}

Result<std::vector<Interface>> egress_ports(const OpenMap& map) {
    std::vector<Interface> ports;
    std::uint32_t key = 0;
    const std::uint32_t* previous = nullptr;
    while (bpf_map_get_next_key(map.fd.get(), previous, &key) == 0) {
        ports.push_back(interface_of(static_cast<int>(key)));
        previous = &key;
    }
    if (errno != ENOENT) return bpf_error("listing " + map.name, errno);
    return ports;
}

// Every egress_vlans entry, ascending by VLAN ifindex.
Result<std::vector<EgressVlan>> egress_vlans(const OpenMap& map) {
    std::vector<EgressVlan> vlans;
    std::uint32_t key = 0;
    const std::uint32_t* previous = nullptr;
    while (bpf_map_get_next_key(map.fd.get(), previous, &key) == 0) {
        previous = &key;
        tempos_egress_vlan value{};
        if (bpf_map_lookup_elem(map.fd.get(), &key, &value) != 0) {
            if (errno == ENOENT) continue;  // deleted meanwhile
            return bpf_error("reading " + map.name, errno);
        }
        vlans.push_back({interface_of(static_cast<int>(key)), interface_of(static_cast<int>(value.lower_ifindex)),
                         ntohs(value.tpid), static_cast<std::uint16_t>(ntohs(value.tci) & 0x0fff)});
    }
    if (errno != ENOENT) return bpf_error("listing " + map.name, errno);
    std::sort(vlans.begin(), vlans.end(), [](const EgressVlan& a, const EgressVlan& b) { return a.vlan.ifindex < b.vlan.ifindex; });
    return vlans;
}

// The CPUs with an entry in the best-effort cpumap, ascending.
Result<std::vector<BestEffortCpu>> best_effort_cpus(const OpenMap& map) {
    std::vector<BestEffortCpu> cpus;
    for (std::uint32_t cpu = 0; cpu < TEMPOS_MAX_CPUS; ++cpu) {
        bpf_cpumap_val value{};
        if (bpf_map_lookup_elem(map.fd.get(), &cpu, &value) == 0)
            cpus.push_back({cpu, value.qsize});
        else if (errno != ENOENT)
            return bpf_error("reading " + map.name, errno);
    }
    return cpus;
}

}  // namespace

Result<RouterState> read_router_state(const std::string& interface, std::span<const std::uint32_t> topics) {
    for (const std::uint32_t topic : topics)
        if (topic >= TEMPOS_MAX_TOPICS)
            return Result<RouterState>::error(ErrorCode::invalid_argument,
                                              "topic " + std::to_string(topic) + " out of range 0.." +
                                                  std::to_string(TEMPOS_MAX_TOPICS - 1));
    RouterState state;
    state.interface.name = interface;
    state.interface.ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
    if (state.interface.ifindex == 0)
        return Result<RouterState>::error(ErrorCode::invalid_argument,
                                          "no interface " + interface +
                                              " in this network namespace (run tempos-inspect in the MoM's: "
                                              "ip netns exec NS tempos-inspect ...)");
    state.possible_cpus = libbpf_num_possible_cpus();
    if (state.possible_cpus <= 0) return bpf_error("counting the possible CPUs", state.possible_cpus);

    Result<AttachedRouter> router = attached_router(state.interface);
    if (!router) return router.status();
    state.router = router->program;
    state.mode = router->mode;
    const RouterMaps& maps = router->maps;
    Result<std::optional<AttachedFanout>> fanout = attached_fanout(state.interface, maps.fanout_routes.id);
    if (!fanout) return fanout.status();
    if (fanout->has_value()) state.fanout = (*fanout)->program;

    Result<std::vector<Interface>> ports = egress_ports(maps.egress_ports);
    if (!ports) return ports.status();
    state.egress_ports = std::move(ports).value();
    Result<std::vector<EgressVlan>> vlans = egress_vlans(maps.egress_vlans);
    if (!vlans) return vlans.status();
    state.egress_vlans = std::move(vlans).value();

    Result<std::vector<BestEffortCpu>> cpus = best_effort_cpus(maps.be_cpumap);
    if (!cpus) return cpus.status();
    state.best_effort_cpus = std::move(cpus).value();
    Result<std::optional<tempos_rate_limit>> publisher =
        xdp::AdmissionTable(maps.topic_limits.fd.get()).get(TEMPOS_PUBLISHER_LIMIT_SLOT);
    if (!publisher) return publisher.status();
    state.publisher_limit = *publisher;

    const bool listed = !topics.empty();
    for (std::uint32_t topic = 0; topic < TEMPOS_MAX_TOPICS; ++topic) {
        if (listed && std::find(topics.begin(), topics.end(), topic) == topics.end()) continue;
        Result<TopicState> topic_read = topic_state(maps, *fanout, topic, state.interface);
        if (!topic_read) return topic_read.status();
        if (listed || is_active(*topic_read)) state.topics.push_back(std::move(topic_read).value());
    }
    Result<TopicCounters> no_topic = topic_counters(maps, TEMPOS_NO_TOPIC_SLOT);
    if (!no_topic) return no_topic.status();
    state.no_topic = *no_topic;
    return state;
}

}  // namespace tempos::inspect
