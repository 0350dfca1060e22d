// tempos-testkit's frames subcommands: `frames list` names the malformed-frame cases, `frames inject` sends
// them from an AF_PACKET socket and prints, as one JSON object, what each should do.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "frames/malformed_frames.hpp"
#include "tempos/unique_fd.hpp"
#include "topology/netns.hpp"

namespace tempos::testkit {

namespace {

struct InjectOptions {
    std::string ns;
    std::string ifname;
    std::vector<std::string> cases;
    bool all = false;
    std::string src_mac, dst_mac, src_ip, dst_ip;
    int port = 0, strict_topic = 0, best_effort_topic = 0, unknown_topic = 0;
    std::uint64_t first_sequence = 1'000'000;
};

Result<MacAddr> parse_mac(const std::string& text) {
    MacAddr mac{};
    unsigned b[6];
    char end = 0;
    if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
        return Status::error(ErrorCode::invalid_argument, "not a MAC address: " + text);
    for (int i = 0; i < 6; ++i) mac[i] = static_cast<std::uint8_t>(b[i]);
    return mac;
}

Result<Ipv4Addr> parse_ipv4(const std::string& text) {
    Ipv4Addr ip{};
    if (inet_pton(AF_INET, text.c_str(), ip.data()) != 1)
        return Status::error(ErrorCode::invalid_argument, "not an IPv4 address: " + text);
    return ip;
}

Status errno_status(const std::string& what) {
    return Status::error(errno == EPERM || errno == EACCES ? ErrorCode::permission_denied : ErrorCode::system_error,
                         what + ": " + std::strerror(errno));
}

// Sends every frame out of `ifname` (in the calling thread's namespace), 2 ms apart as a publisher would send
// them, so that no burst overflows a receive queue on the way.
Status send_frames(const std::string& ifname, const std::vector<InjectedFrame>& frames) {
    const unsigned ifindex = if_nametoindex(ifname.c_str());
    if (ifindex == 0) return errno_status("no interface " + ifname);
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return errno_status("AF_PACKET socket");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        return errno_status("binding the AF_PACKET socket to " + ifname);
    for (const InjectedFrame& f : frames) {
        const ssize_t sent = ::send(fd.get(), f.frame.data(), f.frame.size(), 0);
        if (sent < 0) return errno_status("sending " + f.name);
        if (static_cast<std::size_t>(sent) != f.frame.size())
            return Status::error(ErrorCode::system_error, "short send: " + f.name);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return Status::ok();
}

// {"cases": [descriptions], "expected": {slot: {effect: count}}, "delivered": count, "last_sequence": n}
nlohmann::json report(const MalformedFrames& sent) {
    nlohmann::json cases = nlohmann::json::array();
    nlohmann::json expected = nlohmann::json::object();
    int delivered = 0;
    for (const InjectedFrame& f : sent.frames) {
        cases.push_back(f.description);
        nlohmann::json& count = expected[f.slot][f.effect];
        count = count.is_null() ? 1 : count.get<int>() + 1;
        delivered += f.delivered ? 1 : 0;
    }
    return {{"cases", cases}, {"expected", expected}, {"delivered", delivered}, {"last_sequence", sent.last_sequence}};
}

Status inject(const InjectOptions& o) {
    MalformedTarget target;
    Result<MacAddr> src_mac = parse_mac(o.src_mac), dst_mac = parse_mac(o.dst_mac);
    Result<Ipv4Addr> src_ip = parse_ipv4(o.src_ip), dst_ip = parse_ipv4(o.dst_ip);
    for (const Status& st : {src_mac.status(), dst_mac.status(), src_ip.status(), dst_ip.status()})
        if (!st) return st;
    target.src_mac = *src_mac;
    target.dst_mac = *dst_mac;
    target.src_ip = *src_ip;
    target.dst_ip = *dst_ip;
    target.port = static_cast<std::uint16_t>(o.port);
    target.strict_topic = static_cast<std::uint8_t>(o.strict_topic);
    target.best_effort_topic = static_cast<std::uint8_t>(o.best_effort_topic);
    target.unknown_topic = static_cast<std::uint8_t>(o.unknown_topic);
    target.first_sequence = o.first_sequence;
    Result<MalformedFrames> frames = malformed_frames(target, o.all ? std::vector<std::string>{} : o.cases);
    if (!frames) return frames.status();
    const auto send = [&] { return send_frames(o.ifname, frames->frames); };
    if (Status st = o.ns.empty() ? send() : run_in_netns(o.ns, send); !st) return st;
    std::printf("%s\n", report(*frames).dump().c_str());
    return Status::ok();
}

void fail_on(const Status& st, const char* command) {
    if (st) return;
    std::fprintf(stderr, "tempos-testkit frames %s: %s\n", command, st.message().c_str());
    throw CLI::RuntimeError(1);
}

}  // namespace

void add_frame_commands(CLI::App& app) {
    CLI::App* frames = app.add_subcommand("frames", "Frames built with the test kit's PacketBuilder");
    frames->require_subcommand(1);

    frames->add_subcommand("list", "Names and describes the malformed-frame cases")->callback([] {
        const MalformedFrames all = *malformed_frames(MalformedTarget{}, {});
        for (const InjectedFrame& f : all.frames) std::printf("%-30s %s\n", f.name.c_str(), f.description.c_str());
    });

    auto o = std::make_shared<InjectOptions>();
    CLI::App* inject_cmd = frames->add_subcommand(
        "inject", "Sends malformed-frame cases from an AF_PACKET socket; prints what each should do as JSON");
    inject_cmd->add_option("--ns", o->ns, "Network namespace to send from (/run/netns/NS; default: this one)");
    inject_cmd->add_option("--ifname", o->ifname, "Interface to send out of")->required();
    auto* one = inject_cmd->add_option("--case", o->cases, "A case to send (repeatable; see `frames list`)");
    auto* all = inject_cmd->add_flag("--all", o->all, "Send every case, in order");
    one->excludes(all);
    inject_cmd->add_option("--src-mac", o->src_mac, "Ethernet source (the sender's interface)")->required();
    inject_cmd->add_option("--dst-mac", o->dst_mac, "Ethernet destination (the MoM's interface)")->required();
    inject_cmd->add_option("--src-ip", o->src_ip, "IPv4 source")->required();
    inject_cmd->add_option("--dst-ip", o->dst_ip, "IPv4 destination (the MoM)")->required();
    inject_cmd->add_option("--port", o->port, "The MoM's UDP port")->required()->check(CLI::Range(1, 65535));
    inject_cmd->add_option("--strict-topic", o->strict_topic)->required()->check(CLI::Range(0, 255));
    inject_cmd->add_option("--best-effort-topic", o->best_effort_topic)->required()->check(CLI::Range(0, 255));
    inject_cmd->add_option("--unknown-topic", o->unknown_topic)->required()->check(CLI::Range(0, 255));
    inject_cmd->add_option("--first-sequence", o->first_sequence, "Events carry sequences above this")
        ->capture_default_str();
    inject_cmd->callback([o] {
        if (!o->all && o->cases.empty())
            fail_on(Status::error(ErrorCode::invalid_argument, "give --case NAME or --all"), "inject");
        fail_on(inject(*o), "inject");
    });
}

}  // namespace tempos::testkit
