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
}

void add_fanout_counters(TopicStats& stats, const tempos_fanout_topic_counters& topic,
                         std::span<const tempos_fanout_group_counters> groups) {
    stats.kernel_passed += topic.passed_ttl + topic.passed_unresolved + topic.passed_gso;
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
           stats.socket_errors != 0 ||
           std::any_of(stats.socket_errors_by_reason.begin(), stats.socket_errors_by_reason.end(),
                       [](const auto& reason) { return reason.second != 0; });
}

}  // namespace tempos::xdp
