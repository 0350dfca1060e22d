// tempos-testkit's topology subcommands, for the e2e shell (scripts/lib/topology.sh wraps them):
//   topology create --layout one-legged|two-legged --subscribers N --id ID [--peer-pass]
//                   [--publisher-tx-csum-off] [--forwarding] [--ipv6]        prints shell assignments to eval
//   topology destroy --id ID                                                 kills what runs inside, deletes
//   topology drop-report --id ID                                             interfaces that dropped frames
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "topology/layouts.hpp"
#include "topology/world.hpp"

namespace tempos::testkit {

namespace {

[[noreturn]] void fail(const char* command, const Status& why) {
    std::fprintf(stderr, "tempos-testkit topology %s: %s\n", command, why.message().c_str());
    throw CLI::RuntimeError(1);
}

// NAME='value': ids and addresses never hold a quote (create checks the id).
void assign(const std::string& name, const std::string& value) { std::printf("%s='%s'\n", name.c_str(), value.c_str()); }

struct CreateOptions {
    std::string layout;
    int subscribers = 3;
    std::string id;
    BridgedOptions bridged;
};

void create(const CreateOptions& o) {
    const bool two = o.layout == "two-legged";
    Result<Topology> built =
        two ? two_legged(o.subscribers, o.bridged, o.id) : one_legged(o.subscribers, o.bridged, o.id);
    if (!built) fail("create", built.status());
    Topology& t = *built;
    t.keep();  // the shell owns it now: `topology destroy --id` removes it
    assign("TOPO_ID", t.id());
    std::string nodes;
    for (const std::string& node : t.nodes()) {
        nodes += (nodes.empty() ? "" : " ") + node;
        assign("TOPO_NS_" + node, t.ns(node));
        if (!t.ip(node).empty()) assign("TOPO_IP_" + node, t.ip(node));
        if (!t.ip6(node).empty()) assign("TOPO_IP6_" + node, t.ip6(node));
    }
    std::printf("TOPO_NODES=(%s)\n", nodes.c_str());
    assign("TOPO_MOM_IF", world::bridged::kMomIf);
    assign("TOPO_MOM_EGRESS_IF", two ? world::bridged::kMomEgressIf : world::bridged::kMomIf);
}

void drop_report(const std::string& id) {
    const Result<std::vector<NodeInterfaceDrops>> all = Topology::drops_by_id(id);
    if (!all) fail("drop-report", all.status());
    for (const NodeInterfaceDrops& d : *all)
        if (d.drops.rx_dropped || d.drops.tx_dropped)
            std::printf("%s:%s: rx dropped %llu, tx dropped %llu\n", d.node.c_str(), d.drops.ifname.c_str(),
                        static_cast<unsigned long long>(d.drops.rx_dropped),
                        static_cast<unsigned long long>(d.drops.tx_dropped));
}

// Namespace names derive from the id: letters, digits, '_' and '.' only.
const CLI::Validator kIdChars = CLI::Validator(
    [](std::string& id) {
        return id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") ==
                       std::string::npos
                   ? std::string()
                   : "an id holds letters, digits, '_' and '.' only";
    },
    "ID");

}  // namespace

void add_topology_commands(CLI::App& app) {
    CLI::App* topology = app.add_subcommand("topology", "Network namespaces of the e2e scenarios");
    topology->require_subcommand(1);

    auto o = std::make_shared<CreateOptions>();
    CLI::App* make = topology->add_subcommand("create", "Build a layout; prints TOPO_* assignments for eval");
    make->add_option("--layout", o->layout, "one-legged or two-legged")
        ->required()
        ->check(CLI::IsMember({"one-legged", "two-legged"}));
    make->add_option("--subscribers", o->subscribers, "Subscriber nodes sub1..subN")
        ->check(CLI::Range(0, 200))
        ->capture_default_str();
    make->add_option("--id", o->id, "Namespaces are named ID-<node>")->required()->check(kIdChars);
    make->add_flag("--peer-pass", o->bridged.peer_pass,
                   "XDP_PASS program on the MoM's bridge ports (what native XDP into a veth needs)");
    make->add_flag("--publisher-tx-csum-off", o->bridged.publisher_tx_csum_off,
                   "pub:eth0 computes UDP checksums in software (default: offload on, CHECKSUM_PARTIAL)");
    make->add_flag("--forwarding", o->bridged.forwarding, "IPv4 forwarding on in the MoM's namespace");
    make->add_flag("--ipv6", o->bridged.ipv6, "IPv6 addresses too (world.hpp; nodad): TOPO_IP6_<node>");
    make->callback([o] { create(*o); });

    auto destroy_id = std::make_shared<std::string>();
    CLI::App* destroy = topology->add_subcommand("destroy", "Kill what runs in the namespaces ID-*, delete them");
    destroy->add_option("--id", *destroy_id)->required()->check(kIdChars);
    destroy->callback([destroy_id] {
        if (Status st = Topology::destroy_by_id(*destroy_id); !st) fail("destroy", st);
    });

    auto report_id = std::make_shared<std::string>();
    CLI::App* report = topology->add_subcommand("drop-report", "Interfaces of ID-* that dropped frames");
    report->add_option("--id", *report_id)->required()->check(kIdChars);
    report->callback([report_id] { drop_report(*report_id); });
}

}  // namespace tempos::testkit
