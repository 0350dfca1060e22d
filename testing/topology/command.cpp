#include "topology/command.hpp"

#include <chrono>

#include "process/process.hpp"

namespace tempos::testkit {

namespace {

std::string quoted(const std::vector<std::string>& argv) {
    std::string text;
    for (const std::string& a : argv) text += (text.empty() ? "" : " ") + a;
    return "`" + text + "`";
}

}  // namespace

Result<std::string> run_command(const std::vector<std::string>& argv) {
    if (argv.empty()) return Result<std::string>::error(ErrorCode::invalid_argument, "run_command: no command");
    Result<Process> started = Process::start(argv);
    if (!started) return started.status().prefixed("cannot run " + quoted(argv));
    Process& command = *started;
    // Bounded: these tools finish in milliseconds; one that hangs is killed and reported.
    const Result<int> ended = command.wait(std::chrono::seconds(60));
    const int status = ended ? *ended : command.kill_and_reap();
    if (ended && status == 0) return command.output();
    std::string errors = command.errors();
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) errors.pop_back();
    const std::string how = ended ? command.how_it_ended() : "did not end within 60 s";
    return Result<std::string>::error(ErrorCode::system_error,
                                      quoted(argv) + " " + how + (errors.empty() ? "" : ": " + errors));
}

Status set_permanent_neighbour(const std::string& ifname, const std::string& ip, const std::string& mac) {
    return run_command({"ip", "neigh", "replace", ip, "lladdr", mac, "dev", ifname, "nud", "permanent"}).status();
}

Status flush_neighbours(const std::string& ifname) { return run_command({"ip", "neigh", "flush", "dev", ifname}).status(); }

std::vector<std::string> veth_pair_command(const std::string& ns, const std::string& a, const std::string& b,
                                           const std::string& peer_ns, int queues) {
    std::vector<std::string> queue_args;
    if (queues > 0) queue_args = {"numtxqueues", std::to_string(queues), "numrxqueues", std::to_string(queues)};
    std::vector<std::string> args{"ip"};
    if (!ns.empty()) args.insert(args.end(), {"-n", ns});
    args.insert(args.end(), {"link", "add", a});
    args.insert(args.end(), queue_args.begin(), queue_args.end());
    args.insert(args.end(), {"type", "veth", "peer", "name", b});
    args.insert(args.end(), queue_args.begin(), queue_args.end());
    if (!peer_ns.empty()) args.insert(args.end(), {"netns", peer_ns});
    return args;
}

}  // namespace tempos::testkit
