#include "state_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace tempos::inspect {

namespace {

// Rows of cells printed in left-aligned columns as wide as their widest cell.
class TextTable {
public:
    explicit TextTable(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    bool empty() const { return rows_.size() == 1; }

    void print(std::string& out) const {
        std::vector<std::size_t> widths;
        for (const auto& row : rows_) {
            widths.resize(std::max(widths.size(), row.size()));
            for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
        }
        for (const auto& row : rows_) {
            std::string line = "  ";
            for (std::size_t c = 0; c < row.size(); ++c)
                line += c + 1 < row.size() ? fmt::format("{:<{}}  ", row[c], widths[c]) : row[c];
            out += line + "\n";
        }
    }

private:
    std::vector<std::vector<std::string>> rows_;
};

std::string describe(const Interface& interface) {
    return fmt::format("{} (ifindex {})", interface.name, interface.ifindex);
}

void add_members(TextTable& table, std::uint32_t topic, const std::string& route, const std::string& group,
                 const std::vector<Member>& members) {
    for (std::size_t m = 0; m < members.size(); ++m) {
        const Member& member = members[m];
        table.add({std::to_string(topic), route, group, std::to_string(m), fmt::format("{}:{}", member.ip, member.port),
                   member.mac.value_or("(FIB lookup)"),
                   member.egress ? fmt::format("{} from {}", member.egress->name, member.src_mac.value_or("?"))
                                 : std::string("-")});
    }
}

// A GCRA limit as the configuration states it: events/s and burst.
std::string limit_text(const std::optional<tempos_rate_limit>& limit) {
    if (!limit) return "none";
    const std::uint64_t interval = limit->interval_ns == 0 ? 1 : limit->interval_ns;
    return fmt::format("{} events/s, burst {} (interval {} ns)", 1'000'000'000 / interval,
                       limit->tolerance_ns / interval + 1, interval);
}

// "name=count" for every reason with a non-zero count, "-" if none.
template <std::size_t N>
std::string reasons_summary(const std::array<const char*, N>& names, const __u64 (&counts)[N]) {
    std::string text;
    for (std::size_t reason = 0; reason < N; ++reason)
        if (counts[reason] != 0) text += fmt::format("{}{}={}", text.empty() ? "" : " ", names[reason], counts[reason]);
    return text.empty() ? "-" : text;
}

std::vector<std::string> counter_row(const std::string& slot, const TopicCounters& c) {
    return {slot, std::to_string(c.sum.redirected_packets), std::to_string(c.sum.redirected_bytes),
            std::to_string(c.sum.aborted), std::to_string(c.redirecting_cpus), reasons_summary(kPassReasonNames, c.sum.passed),
            std::to_string(c.sum.best_effort_offered), std::to_string(c.sum.best_effort_arrived),
            reasons_summary(kPoliceReasonNames, c.sum.policed)};
}

}  // namespace

std::string to_table(const RouterState& state) {
    std::string out = fmt::format("interface {}, {} possible CPUs\n", describe(state.interface), state.possible_cpus);
    out += fmt::format("XDP router    program {} {}, {} mode\n", state.router.id, state.router.name,
                       to_string(state.mode));
    out += state.fanout ? fmt::format("TC fan-out    program {} {}, tcx ingress\n", state.fanout->id, state.fanout->name)
                        : std::string("TC fan-out    none attached\n");
    std::string ports;
    for (const Interface& port : state.egress_ports) ports += (ports.empty() ? "" : ", ") + describe(port);
    out += "egress ports  " + (ports.empty() ? "none (XDP_TX back out of " + state.interface.name + ")" : ports) + "\n";
    std::string vlans;
    for (const EgressVlan& vlan : state.egress_vlans)
        vlans += fmt::format("{}{} -> {} tagged {} {}", vlans.empty() ? "" : ", ", describe(vlan.vlan),
                             describe(vlan.lower), vlan.tpid == 0x88a8 ? "802.1ad" : vlan.tpid == 0x8100 ? "802.1Q"
                                                                     : fmt::format("tpid {:#06x}", vlan.tpid),
                             vlan.vid);
    out += "egress VLANs  " + (vlans.empty() ? std::string("none (every copy leaves untagged)") : vlans) + "\n";

    std::string cpus;
    for (const BestEffortCpu& cpu : state.best_effort_cpus)
        cpus += fmt::format("{}{} (queue {})", cpus.empty() ? "" : ", ", cpu.cpu, cpu.queue);
    out += "best-effort   " + (cpus.empty() ? std::string("passed to the stack (no best-effort CPUs)") : "CPUs " + cpus) +
           "\n";
    out += "publisher limit " + limit_text(state.publisher_limit) + "\n";

    TextTable routes({"topic", "route", "group", "member", "subscriber", "mac", "egress"});
    for (const TopicState& topic : state.topics) {
        add_members(routes, topic.topic, "strict", "-", topic.strict_members);
        for (std::size_t g = 0; g < topic.groups.size(); ++g)
            add_members(routes, topic.topic, "fan-out", std::to_string(g), topic.groups[g].members);
    }
    out += "\nroutes\n";
    if (routes.empty())
        out += "  none: every topic goes to the MoM's socket\n";
    else
        routes.print(out);

    TextTable counters({"topic", "redirected", "bytes", "aborted", "cpus", "passed to the stack", "best-effort offered",
                        "arrived", "policed"});
    for (const TopicState& topic : state.topics) counters.add(counter_row(std::to_string(topic.topic), topic.counters));
    counters.add(counter_row("no topic", state.no_topic));
    TextTable limits({"topic", "rate limit"});
    for (const TopicState& topic : state.topics)
        if (topic.limit) limits.add({std::to_string(topic.topic), limit_text(topic.limit)});
    if (!limits.empty()) {
        out += "\nadmission limits\n";
        limits.print(out);
    }
    out += "\nXDP router counters (summed over CPUs; cpus: CPUs that redirected; best-effort offered - arrived: "
           "dropped by the cpumap queues once idle)\n";
    counters.print(out);

    if (!state.fanout) return out;
    TextTable fanout_topics(
        {"topic", "events", "passed_ttl", "passed_unresolved", "passed_too_big", "passed_family", "passed_gso",
         "aborted"});
    TextTable fanout_groups({"topic", "group", "copies", "bytes", "clone_errors", "unresolved", "too_big", "cpus"});
    for (const TopicState& topic : state.topics) {
        if (!topic.fanout_counters) continue;
        const tempos_fanout_topic_counters& c = *topic.fanout_counters;
        // A topic's counters outlive its fan-out route: listed while either is there.
        if (topic.groups.empty() &&
            c.events + c.passed_ttl + c.passed_unresolved + c.passed_too_big + c.passed_family + c.passed_gso +
                    c.aborted ==
                0)
            continue;
        fanout_topics.add({std::to_string(topic.topic), std::to_string(c.events), std::to_string(c.passed_ttl),
                           std::to_string(c.passed_unresolved), std::to_string(c.passed_too_big),
                           std::to_string(c.passed_family), std::to_string(c.passed_gso), std::to_string(c.aborted)});
        for (std::size_t g = 0; g < topic.groups.size(); ++g) {
            const FanoutGroup& group = topic.groups[g];
            fanout_groups.add({std::to_string(topic.topic), std::to_string(g), std::to_string(group.counters.copies),
                               std::to_string(group.counters.bytes), std::to_string(group.counters.clone_errors),
                               std::to_string(group.counters.unresolved), std::to_string(group.counters.too_big),
                               std::to_string(group.copying_cpus)});
        }
    }
    out += "\nTC fan-out counters (summed over CPUs; cpus: CPUs that sent the group copies)\n";
    if (fanout_topics.empty()) {
        out += "  no fanned-out topic\n";
        return out;
    }
    fanout_topics.print(out);
    out += "\n";
    fanout_groups.print(out);
    return out;
}

}  // namespace tempos::inspect
