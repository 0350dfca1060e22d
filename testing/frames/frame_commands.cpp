// tempos-testkit's frames subcommands: `frames list` names the malformed-frame cases, `frames inject` sends
// them from an AF_PACKET socket and prints, as one JSON object, what each should do; `frames capture-checksums`
// captures the UDP frames an interface receives and checks each one's checksum in full (udp_checksum_check.hpp).
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <fstream>
#include <map>
#include <optional>

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
#include "frames/udp_checksum_check.hpp"
#include "tempos/unique_fd.hpp"
#include "topology/interface.hpp"
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

// Every frame out of `ifname` (in the calling thread's namespace), 2 ms apart as a publisher would send them, so
// that no burst overflows a receive queue on the way.
Status send_paced(const std::string& ifname, const std::vector<InjectedFrame>& injected) {
    std::vector<std::vector<std::uint8_t>> frames;
    for (const InjectedFrame& f : injected) frames.push_back(f.frame);
    const Result<std::size_t> dropped = send_frames(ifname, frames, std::chrono::milliseconds(2));
    if (!dropped) return dropped.status();
    if (*dropped > 0)
        return Status::error(ErrorCode::system_error, ifname + " dropped " + std::to_string(*dropped) + " of " +
                                                          std::to_string(frames.size()) + " frames as they were sent");
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
    const auto send = [&] { return send_paced(o.ifname, frames->frames); };
    if (Status st = o.ns.empty() ? send() : run_in_netns(o.ns, send); !st) return st;
    std::printf("%s\n", report(*frames).dump().c_str());
    return Status::ok();
}

struct CaptureOptions {
    std::string ns;
    std::string ifname;
    int port = 0;
    std::uint64_t count = 0;
    double timeout_s = 30;
    std::string ready_file;
};

volatile sig_atomic_t capture_stop = 0;

// Counts the verdicts of every UDP frame to `port` received on `ifname` (in the calling thread's namespace) until
// `count` were seen, the timeout passed, or SIGINT/SIGTERM. The socket exists before the ready file does.
Result<std::map<std::string, std::uint64_t>> capture(const CaptureOptions& o) {
    const unsigned ifindex = if_nametoindex(o.ifname.c_str());
    if (ifindex == 0) return errno_status("no interface " + o.ifname);
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    if (fd.get() < 0) return errno_status("AF_PACKET socket");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        return errno_status("binding the AF_PACKET socket to " + o.ifname);
    const int on = 1;
    if (::setsockopt(fd.get(), SOL_PACKET, PACKET_AUXDATA, &on, sizeof(on)) != 0) return errno_status("PACKET_AUXDATA");
    const int buffer = 8 << 20;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    if (!o.ready_file.empty()) std::ofstream(o.ready_file) << "ready\n";

    std::map<std::string, std::uint64_t> counts;
    std::uint64_t seen = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.timeout_s);
    std::vector<std::uint8_t> frame(65536);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
    while (!capture_stop && (o.count == 0 || seen < o.count) && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        iovec iov{frame.data(), frame.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        const ssize_t n = ::recvmsg(fd.get(), &msg, MSG_DONTWAIT);
        if (n < 0) continue;
        bool partial = false;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
            tpacket_auxdata aux;
            std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
            partial = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
        }
        std::uint16_t dport = 0;
        const UdpChecksumVerdict verdict = check_udp_checksum(frame.data(), static_cast<std::size_t>(n), partial, &dport);
        if (verdict == UdpChecksumVerdict::not_udp || dport != o.port) continue;
        ++counts[verdict_name(verdict)];
        ++seen;
    }
    return counts;
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
    auto c = std::make_shared<CaptureOptions>();
    CLI::App* capture_cmd = frames->add_subcommand(
        "capture-checksums",
        "Captures the UDP frames to a port an interface receives and checks each checksum in full; prints counts "
        "per verdict as JSON ({\"complete_ok\": n, \"partial_ok\": n, ...})");
    capture_cmd->add_option("--ns", c->ns, "Network namespace (/run/netns/NS; default: this one)");
    capture_cmd->add_option("--ifname", c->ifname, "Interface to capture on")->required();
    capture_cmd->add_option("--port", c->port, "UDP destination port")->required()->check(CLI::Range(1, 65535));
    capture_cmd->add_option("--count", c->count, "Stop after this many frames (0: until the timeout or SIGINT)");
    capture_cmd->add_option("--timeout", c->timeout_s, "Seconds at most")->capture_default_str();
    capture_cmd->add_option("--ready-file", c->ready_file, "Written once the socket captures");
    capture_cmd->callback([c] {
        struct sigaction stop{};
        stop.sa_handler = [](int) { capture_stop = 1; };
        ::sigaction(SIGINT, &stop, nullptr);
        ::sigaction(SIGTERM, &stop, nullptr);
        std::optional<Result<std::map<std::string, std::uint64_t>>> counts;
        const auto run = [&] {
            counts.emplace(capture(*c));
            return counts->status();
        };
        fail_on(c->ns.empty() ? run() : run_in_netns(c->ns, run), "capture-checksums");
        nlohmann::json out = nlohmann::json::object();
        for (const char* name : {"complete_ok", "complete_bad", "partial_ok", "partial_bad", "none"})
            out[name] = (*counts)->count(name) ? (*counts)->at(name) : 0;
        std::printf("%s\n", out.dump().c_str());
    });

    inject_cmd->callback([o] {
        if (!o->all && o->cases.empty())
            fail_on(Status::error(ErrorCode::invalid_argument, "give --case NAME or --all"), "inject");
        fail_on(inject(*o), "inject");
    });
}

}  // namespace tempos::testkit
