#include "state_json.hpp"

namespace tempos::inspect {

namespace {

using nlohmann::ordered_json;

ordered_json interface_json(const Interface& interface) {
    return {{"name", interface.name}, {"ifindex", interface.ifindex}};
}

ordered_json program_json(const AttachedProgram& program) { return {{"id", program.id}, {"name", program.name}}; }

template <typename T>
ordered_json optional_json(const std::optional<T>& value) {
    return value ? ordered_json(*value) : ordered_json(nullptr);
}

ordered_json members_json(const std::vector<Member>& members) {
    ordered_json list = ordered_json::array();
    for (const Member& m : members)
        list.push_back({{"ip", m.ip},
                        {"port", m.port},
                        {"mac", optional_json(m.mac)},
                        {"src_mac", optional_json(m.src_mac)},
                        {"egress", m.egress ? interface_json(*m.egress) : ordered_json(nullptr)}});
    return list;
}

// The kernel's form of a limit (bpf/admission.h): null when there is none.
ordered_json limit_json(const std::optional<tempos_rate_limit>& limit) {
    if (!limit) return nullptr;
    return {{"interval_ns", limit->interval_ns}, {"tolerance_ns", limit->tolerance_ns}};
}

ordered_json counters_json(const TopicCounters& counters) {
    ordered_json passed = ordered_json::object();
    for (int reason = 0; reason < TEMPOS_PASS_REASONS; ++reason)
        passed[kPassReasonNames[reason]] = counters.sum.passed[reason];
    ordered_json policed = ordered_json::object();
    for (int reason = 0; reason < TEMPOS_POLICE_REASONS; ++reason)
        policed[kPoliceReasonNames[reason]] = counters.sum.policed[reason];
    return {{"redirected_packets", counters.sum.redirected_packets},
            {"redirected_bytes", counters.sum.redirected_bytes},
            {"aborted", counters.sum.aborted},
            {"passed", std::move(passed)},
            {"best_effort_offered", counters.sum.best_effort_offered},
            {"best_effort_arrived", counters.sum.best_effort_arrived},
            {"policed", std::move(policed)},
            {"redirecting_cpus", counters.redirecting_cpus}};
}

ordered_json fanout_topic_json(const tempos_fanout_topic_counters& c) {
    return {{"events", c.events},
            {"passed_ttl", c.passed_ttl},
            {"passed_unresolved", c.passed_unresolved},
            {"passed_gso", c.passed_gso},
            {"passed_too_big", c.passed_too_big},
            {"passed_family", c.passed_family},
            {"aborted", c.aborted}};
}

ordered_json group_json(const FanoutGroup& group, std::size_t index, bool counted) {
    ordered_json counters = nullptr;
    if (counted)
        counters = {{"copies", group.counters.copies},
                    {"bytes", group.counters.bytes},
                    {"clone_errors", group.counters.clone_errors},
                    {"unresolved", group.counters.unresolved},
                    {"too_big", group.counters.too_big},
                    {"copying_cpus", group.copying_cpus}};
    return {{"group", index}, {"members", members_json(group.members)}, {"counters", std::move(counters)}};
}

}  // namespace

ordered_json to_json(const RouterState& state) {
    ordered_json topics = ordered_json::array();
    for (const TopicState& topic : state.topics) {
        ordered_json groups = ordered_json::array();
        for (std::size_t g = 0; g < topic.groups.size(); ++g)
            groups.push_back(group_json(topic.groups[g], g, state.fanout.has_value()));
        topics.push_back({{"topic", topic.topic},
                          {"strict_members", members_json(topic.strict_members)},
                          {"groups", std::move(groups)},
                          {"counters", counters_json(topic.counters)},
                          {"fanout_counters", topic.fanout_counters ? fanout_topic_json(*topic.fanout_counters)
                                                                    : ordered_json(nullptr)},
                          {"limit", limit_json(topic.limit)}});
    }
    ordered_json ports = ordered_json::array();
    for (const Interface& port : state.egress_ports) ports.push_back(interface_json(port));
    ordered_json vlans = ordered_json::array();
    for (const EgressVlan& vlan : state.egress_vlans)
        vlans.push_back({{"vlan", interface_json(vlan.vlan)},
                         {"lower", interface_json(vlan.lower)},
                         {"tpid", vlan.tpid},
                         {"vid", vlan.vid}});
    ordered_json cpus = ordered_json::array();
    for (const BestEffortCpu& cpu : state.best_effort_cpus) cpus.push_back({{"cpu", cpu.cpu}, {"queue", cpu.queue}});
    ordered_json xdp = program_json(state.router);
    xdp["mode"] = to_string(state.mode);
    ordered_json fanout = nullptr;
    if (state.fanout) {
        fanout = program_json(*state.fanout);
        fanout["attach"] = "tcx_ingress";
    }
    return {{"interface", interface_json(state.interface)},
            {"possible_cpus", state.possible_cpus},
            {"xdp", std::move(xdp)},
            {"fanout", std::move(fanout)},
            {"egress_ports", std::move(ports)},
            {"egress_vlans", std::move(vlans)},
            {"best_effort_cpus", std::move(cpus)},
            {"publisher_limit", limit_json(state.publisher_limit)},
            {"topics", std::move(topics)},
            {"no_topic", counters_json(state.no_topic)}};
}

}  // namespace tempos::inspect
