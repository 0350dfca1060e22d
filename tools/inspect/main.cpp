// tempos-inspect: what a running MoM has told the kernel on one interface, read live from the kernel: the attached
// XDP router (and mode), the TC fan-out program, each strict topic's route and group members, the egress ports and
// the per-CPU counters summed. Run it in the MoM's network namespace:
//   ip netns exec NS tempos-inspect --interface eth0 [--topic N]... [--json]
// Exit status: 0 printed; 2 no XDP program is attached to the interface; 1 any other error (said on stderr).
#include <cstdio>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>

#include "router_state.hpp"
#include "state_json.hpp"
#include "state_table.hpp"

int main(int argc, char** argv) {
    CLI::App app{"Shows the live kernel state of a running tempos-mom on an interface: attached programs, routes, "
                 "counters"};
    std::string interface;
    std::vector<std::uint32_t> topics;
    bool json = false;
    app.add_option("-i,--interface", interface, "the MoM's interface (its [mom] interface)")->required();
    app.add_option("-t,--topic", topics, "report only these topics (0..255), listed even when idle; default: every "
                                         "topic with a route or a non-zero counter")
        ->check(CLI::Range(0, TEMPOS_MAX_TOPICS - 1));
    app.add_flag("--json", json, "print JSON (field names: docs/inspect.md) instead of tables");
    CLI11_PARSE(app, argc, argv);

    const tempos::Result<tempos::inspect::RouterState> state = tempos::inspect::read_router_state(interface, topics);
    if (!state) {
        std::fprintf(stderr, "tempos-inspect: %s\n", state.message().c_str());
        return state.code() == tempos::ErrorCode::not_found ? 2 : 1;
    }
    if (json)
        std::cout << tempos::inspect::to_json(*state).dump(2) << "\n";
    else
        std::cout << tempos::inspect::to_table(*state);
    return 0;
}
