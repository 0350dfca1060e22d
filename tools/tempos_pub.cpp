// tempos-pub: publishes numbered, timestamped events to a MoM over UDP, bounded in count and time.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "endpoint_arg.hpp"
#include "event_format.hpp"
#include "round_to.hpp"

namespace {
// Set by SIGINT/SIGTERM: the run ends early and still prints its summary (what was sent until then).
volatile sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tempos-pub: publish numbered, timestamped events to a MoM (UDP; first payload byte = topic)"};
    std::string to;
    unsigned topic = 0;
    std::uint64_t count = 1000;
    double rate = 1000;
    std::size_t size = 32;
    double max_seconds = 60;
    std::uint64_t first_sequence = 0;
    bool json = false;
    app.add_option("--to", to, "MoM address IP:PORT or [IPv6]:PORT")->required();
    app.add_option("--topic", topic, "topic id written as the first payload byte")->check(CLI::Range(0, 255));
    app.add_option("--count", count, "number of events to send")->check(CLI::PositiveNumber);
    app.add_option("--rate", rate, "events per second; 0 = as fast as possible")->check(CLI::NonNegativeNumber);
    app.add_option("--size", size, "payload bytes (>= 17: topic, sequence, send time)")
        ->check(CLI::Range(tempos::tools::kEventHeaderSize, std::size_t{65507}));
    app.add_option("--max-seconds", max_seconds, "stop after this long even if --count is not reached")
        ->check(CLI::PositiveNumber);
    app.add_option("--first-sequence", first_sequence, "sequence number of the first event");
    app.add_flag("--json", json, "print a JSON summary on stdout");
    CLI11_PARSE(app, argc, argv);

    const tempos::tools::EndpointSocket dest = tempos::tools::open_endpoint_socket("tempos-pub", "--to", to);
    if (dest.fd < 0) return dest.exit_status;
    const int fd = dest.fd;

    struct sigaction on_stop {};
    on_stop.sa_handler = request_stop;
    sigaction(SIGINT, &on_stop, nullptr);
    sigaction(SIGTERM, &on_stop, nullptr);

    std::vector<std::uint8_t> payload(size, 0);
    const std::uint64_t period_ns = rate > 0 ? static_cast<std::uint64_t>(1e9 / rate) : 0;
    const std::uint64_t start = tempos::tools::monotonic_ns();
    const std::uint64_t stop = start + static_cast<std::uint64_t>(max_seconds * 1e9);
    std::uint64_t sent = 0, errors = 0, late_max_ns = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t due = start + i * period_ns;
        if (period_ns != 0 && tempos::tools::monotonic_ns() < due) tempos::tools::sleep_until_ns(due);
        const std::uint64_t now = tempos::tools::monotonic_ns();
        if (now >= stop || stop_requested) break;
        // Paced events carry the time they were due, not the time they left: a sender held up (descheduled, a
        // full socket buffer) then shows as latency of the events it delayed instead of hiding it (no
        // coordinated omission). Unpaced events have no schedule: they carry the send time.
        const std::uint64_t stamp = period_ns != 0 ? due : now;
        late_max_ns = std::max(late_max_ns, now - stamp);
        tempos::tools::write_payload_pattern(payload, first_sequence + i);
        tempos::tools::write_event_header(payload, {static_cast<std::uint8_t>(topic), first_sequence + i, stamp});
        if (sendto(fd, payload.data(), payload.size(), 0, dest.endpoint.get(), dest.endpoint.length) ==
            static_cast<ssize_t>(payload.size()))
            ++sent;
        else
            ++errors;
    }
    const double seconds = static_cast<double>(tempos::tools::monotonic_ns() - start) / 1e9;
    close(fd);
    const double sent_rate = seconds > 0 ? static_cast<double>(sent) / seconds : 0.0;
    const nlohmann::ordered_json summary{{"sent", sent},
                                         {"errors", errors},
                                         {"stopped", stop_requested != 0},
                                         {"seconds", tempos::tools::round_to(seconds, 6)},
                                         {"rate", tempos::tools::round_to(sent_rate, 1)},
                                         {"late_max_us", tempos::tools::round_to(late_max_ns / 1e3, 1)}};
    if (json)
        std::printf("%s\n", summary.dump().c_str());
    else
        std::fprintf(stderr, "tempos-pub: sent %llu events (%llu errors) in %.3f s\n",
                     static_cast<unsigned long long>(sent), static_cast<unsigned long long>(errors), seconds);
    // A run stopped by a signal ends as asked: only errors make it fail.
    return errors == 0 && (sent == count || stop_requested) ? 0 : 1;
}
