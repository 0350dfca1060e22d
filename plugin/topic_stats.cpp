#include "topic_stats.hpp"

#include <algorithm>

namespace tempos::xdp {

void add_kernel_counters(TopicStats& stats, const tempos_topic_counters& kernel) {
    stats.kernel_packets += kernel.redirected_packets;
    stats.kernel_bytes += kernel.redirected_bytes;
    stats.kernel_dropped += kernel.aborted;
    // A hand-over to the TC fan-out program stays in the kernel: not a pass to the socket path.
    for (int reason = 0; reason < TEMPOS_PASS_REASONS; ++reason)
        if (reason != TEMPOS_PASS_FANOUT) stats.kernel_passed += kernel.passed[reason];
    // No MAC in the route entry (neighbour not resolved yet, or failed) and bpf_fib_lookup did not answer either.
    stats.kernel_passed_unresolved += kernel.passed[TEMPOS_PASS_FIB];
    // Longer than the egress MTU: the kernel would drop a redirected frame, the socket path sends it fragmented.
    stats.kernel_passed_too_big += kernel.passed[TEMPOS_PASS_TOO_BIG];
    // The per-CPU sums are read one CPU after the other, so a frame in flight may be seen arriving and not yet
    // offered: the queue's drops are never negative.
    stats.best_effort_offloaded += kernel.best_effort_offered;
    const std::uint64_t dropped = kernel.best_effort_offered > kernel.best_effort_arrived
                                      ? kernel.best_effort_offered - kernel.best_effort_arrived
                                      : 0;
    stats.best_effort_queue_dropped += dropped;
    // Frames that left the queue reach the socket path like passed ones.
    stats.kernel_passed += kernel.best_effort_offered - dropped;
    stats.policed_topic_rate += kernel.policed[TEMPOS_POLICE_TOPIC_RATE];
    stats.policed_publisher_rate += kernel.policed[TEMPOS_POLICE_PUBLISHER_RATE];
    stats.policed_contended += kernel.policed[TEMPOS_POLICE_CONTENDED];
    // Not the queue's "dropped": it is not monotonic (frames in flight), and kernel_dropped is a counter.
    stats.kernel_dropped += kernel.policed[TEMPOS_POLICE_TOPIC_RATE] +
                            kernel.policed[TEMPOS_POLICE_PUBLISHER_RATE] + kernel.policed[TEMPOS_POLICE_CONTENDED];
}

void add_fanout_counters(TopicStats& stats, const tempos_fanout_topic_counters& topic,
                         std::span<const tempos_fanout_group_counters> groups) {
    stats.kernel_passed +=
        topic.passed_ttl + topic.passed_unresolved + topic.passed_gso + topic.passed_too_big + topic.passed_family;
    stats.kernel_passed_unresolved += topic.passed_unresolved;
    // A group's route MTU below the datagram (the FIB's FRAG_NEEDED): the socket path sends it, fragmented.
    stats.kernel_passed_too_big += topic.passed_too_big;
    stats.kernel_dropped += topic.aborted;
    for (const tempos_fanout_group_counters& group : groups) {
        stats.kernel_packets += group.copies;
        stats.kernel_bytes += group.bytes;
        stats.kernel_dropped += group.clone_errors;
    }
}

void add_socket_counters(TopicStats& stats, const SocketCounters& sockets) {
    stats.socket_sent += sockets.sent;
    stats.socket_bytes += sockets.bytes;
    stats.socket_errors += sockets.errors;
    for (std::size_t r = 0; r < kSendErrorReasons; ++r)
        stats.socket_errors_by_reason[to_string(static_cast<SendErrorReason>(r))] += sockets.by_reason[r];
}

bool has_traffic(const TopicStats& stats) {
    return stats.kernel_packets != 0 || stats.kernel_bytes != 0 || stats.kernel_passed != 0 ||
           stats.kernel_dropped != 0 || stats.socket_sent != 0 || stats.socket_bytes != 0 ||
           stats.socket_errors != 0 || stats.best_effort_offloaded != 0 || stats.policed_topic_rate != 0 ||
           stats.policed_publisher_rate != 0 || stats.policed_contended != 0 ||
           std::any_of(stats.socket_errors_by_reason.begin(), stats.socket_errors_by_reason.end(),
                       [](const auto& reason) { return reason.second != 0; });
}

}  // namespace tempos::xdp
