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

std::string passed_summary(const tempos_topic_counters& sum) {
    std::string text;
    for (int reason = 0; reason < TEMPOS_PASS_REASONS; ++reason)
        if (sum.passed[reason] != 0)
            text += fmt::format("{}{}={}", text.empty() ? "" : " ", kPassReasonNames[reason], sum.passed[reason]);
    return text.empty() ? "-" : text;
}

std::vector<std::string> counter_row(const std::string& slot, const TopicCounters& c) {
    return {slot, std::to_string(c.sum.redirected_packets), std::to_string(c.sum.redirected_bytes),
            std::to_string(c.sum.aborted), std::to_string(c.redirecting_cpus), passed_summary(c.sum)};
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

    TextTable counters({"topic", "redirected", "bytes", "aborted", "cpus", "passed to the stack"});
    for (const TopicState& topic : state.topics) counters.add(counter_row(std::to_string(topic.topic), topic.counters));
    counters.add(counter_row("no topic", state.no_topic));
    out += "\nXDP router counters (summed over CPUs; cpus: CPUs that redirected)\n";
    counters.print(out);

    if (!state.fanout) return out;
    TextTable fanout_topics({"topic", "events", "passed_ttl", "passed_unresolved", "passed_gso", "aborted"});
    TextTable fanout_groups({"topic", "group", "copies", "bytes", "clone_errors", "unresolved", "cpus"});
    for (const TopicState& topic : state.topics) {
        if (!topic.fanout_counters) continue;
        const tempos_fanout_topic_counters& c = *topic.fanout_counters;
        // A topic's counters outlive its fan-out route: listed while either is there.
        if (topic.groups.empty() && c.events + c.passed_ttl + c.passed_unresolved + c.passed_gso + c.aborted == 0)
            continue;
        fanout_topics.add({std::to_string(topic.topic), std::to_string(c.events), std::to_string(c.passed_ttl),
                           std::to_string(c.passed_unresolved), std::to_string(c.passed_gso),
                           std::to_string(c.aborted)});
        for (std::size_t g = 0; g < topic.groups.size(); ++g) {
            const FanoutGroup& group = topic.groups[g];
            fanout_groups.add({std::to_string(topic.topic), std::to_string(g), std::to_string(group.counters.copies),
                               std::to_string(group.counters.bytes), std::to_string(group.counters.clone_errors),
                               std::to_string(group.counters.unresolved), std::to_string(group.copying_cpus)});
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
