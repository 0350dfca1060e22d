#include "metrics_text.hpp"

#include <sstream>

namespace tempos::mom {

namespace {

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// Label values are adapter names and modes from the config: escape what the format requires.
std::string escape(const std::string& value) {
    std::string out;
    for (char ch : value) {
        if (ch == '\\' || ch == '"') out += '\\';
        if (ch == '\n') {
            out += "\\n";
            continue;
        }
        out += ch;
    }
    return out;
}

bool topic_seen(const MomCounters& c, int topic) {
    for (const auto& p : c.topics[topic])
        if (p.received.load() || p.queued.load() || p.dropped.load() || p.sent.load() || p.send_errors.load() ||
            p.abandoned.load())
            return true;
    return false;
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& s) {
    std::ostringstream out;
    const MomCounters& c = *s.counters;

    struct PathMetric {
        const char* name;
        const char* help;
        std::atomic<std::uint64_t> PathCounters::*field;
    };
    const PathMetric path_metrics[] = {
        {"tempos_events_received_total", "Events of a known topic taken by the receiver.", &PathCounters::received},
        {"tempos_events_queued_total", "Events accepted by the topic's queue.", &PathCounters::queued},
        {"tempos_events_dropped_total", "Events dropped because the queue was full (in events or [mom] queue_bytes).",
         &PathCounters::dropped},
        {"tempos_events_sent_total", "Successful adapter send() calls.", &PathCounters::sent},
        {"tempos_send_errors_total", "Failed adapter send() calls.", &PathCounters::send_errors},
        {"tempos_events_abandoned_total", "Events still queued when the drain at SIGTERM ended (drain_timeout).",
         &PathCounters::abandoned},
    };
    for (const auto& metric : path_metrics) {
        header(out, metric.name, "counter", metric.help);
        for (int topic = 0; topic < 256; ++topic) {
            if (!s.topics.count(static_cast<std::uint8_t>(topic)) && !topic_seen(c, topic)) continue;
            for (Path path : {Path::sq, Path::bq})
                out << metric.name << "{topic=\"" << topic << "\",path=\"" << path_name(path) << "\"} "
                    << (c.topics[topic][static_cast<int>(path)].*metric.field).load() << '\n';
        }
    }

    header(out, "tempos_ingress_discarded_total", "counter", "Datagrams discarded by the receiver, by reason.");
    out << "tempos_ingress_discarded_total{reason=\"unknown_topic\"} " << c.unknown_topic.load() << '\n'
        << "tempos_ingress_discarded_total{reason=\"empty\"} " << c.empty_datagrams.load() << '\n'
        << "tempos_ingress_discarded_total{reason=\"receive_error\"} " << c.receive_errors.load() << '\n'
        << "tempos_ingress_discarded_total{reason=\"ttl_expired\"} " << c.ttl_expired.load() << '\n';

    header(out, "tempos_ingress_isolated", "gauge",
           "1 when the steering program sends strict topics to the strict ingress socket, 0 when both sockets "
           "take every class.");
    out << "tempos_ingress_isolated " << (s.ingress_isolated ? 1 : 0) << '\n';
    header(out, "tempos_ingress_socket_datagrams_total", "counter",
           "Datagrams an ingress socket's thread read, by the class of their topic (none: unknown or empty).");
    for (Path socket : {Path::sq, Path::bq}) {
        const auto& by_class = c.ingress_sockets[static_cast<int>(socket)].datagrams;
        for (int cls = 0; cls < 3; ++cls)
            out << "tempos_ingress_socket_datagrams_total{socket=\"" << path_name(socket) << "\",class=\""
                << (cls == kNoClass ? "none" : path_name(static_cast<Path>(cls))) << "\"} " << by_class[cls].load()
                << '\n';
    }
    header(out, "tempos_ingress_socket_drops_total", "counter",
           "Datagrams the kernel dropped because an ingress socket's receive buffer was full (SO_RXQ_OVFL).");
    for (Path socket : {Path::sq, Path::bq})
        out << "tempos_ingress_socket_drops_total{socket=\"" << path_name(socket) << "\"} "
            << s.ingress_socket_drops[static_cast<int>(socket)] << '\n';

    header(out, "tempos_netns_udp_errors_total", "counter",
           "UDP error counters of tempos-mom's network namespace (/proc/net/snmp), every socket there.");
    for (const auto& [name, value] : s.stack.udp)
        out << "tempos_netns_udp_errors_total{counter=\"" << name << "\"} " << value << '\n';
    if (s.stack.interface_rx_dropped) {
        header(out, "tempos_interface_rx_dropped_total", "counter",
               "Frames the MoM's interface dropped on receive (/proc/net/dev drop: rx_dropped + rx_missed_errors).");
        out << "tempos_interface_rx_dropped_total{interface=\"" << escape(s.interface) << "\"} "
            << *s.stack.interface_rx_dropped << '\n';
    }

    header(out, "tempos_queue_depth", "gauge", "Events waiting in a dispatcher queue.");
    out << "tempos_queue_depth{queue=\"sq\"} " << s.sq_depth << "\ntempos_queue_depth{queue=\"bq\"} " << s.bq_depth
        << '\n';
    header(out, "tempos_queue_capacity", "gauge", "Capacity of a dispatcher queue.");
    out << "tempos_queue_capacity{queue=\"sq\"} " << s.sq_capacity << "\ntempos_queue_capacity{queue=\"bq\"} "
        << s.bq_capacity << '\n';
    header(out, "tempos_queue_bytes", "gauge", "Payload bytes waiting in a dispatcher queue.");
    out << "tempos_queue_bytes{queue=\"sq\"} " << s.sq_bytes << "\ntempos_queue_bytes{queue=\"bq\"} " << s.bq_bytes
        << '\n';
    header(out, "tempos_queue_capacity_bytes", "gauge",
           "Payload bytes a dispatcher queue may hold ([mom] queue_bytes).");
    out << "tempos_queue_capacity_bytes{queue=\"sq\"} " << s.sq_capacity_bytes
        << "\ntempos_queue_capacity_bytes{queue=\"bq\"} " << s.bq_capacity_bytes << '\n';

    header(out, "tempos_reloads_total", "counter", "Configuration reloads (SIGHUP), by result.");
    out << "tempos_reloads_total{result=\"ok\"} " << c.reloads_ok.load() << '\n'
        << "tempos_reloads_total{result=\"failed\"} " << c.reloads_failed.load() << '\n';
    header(out, "tempos_reload_rollback_failures_total", "counter",
           "Refused reloads whose rollback failed too; each ends the process with exit status 3.");
    out << "tempos_reload_rollback_failures_total " << c.rollbacks_failed.load() << '\n';

    header(out, "tempos_adapter_mode", "gauge", "The mode an adapter runs in (value is always 1).");
    for (const auto& a : s.adapters)
        out << "tempos_adapter_mode{adapter=\"" << escape(a.name) << "\",mode=\"" << escape(a.stats.mode)
            << "\"} 1\n";

    struct AdapterMetric {
        const char* name;
        const char* help;
        std::uint64_t TopicStats::*field;
    };
    const AdapterMetric adapter_metrics[] = {
        {"tempos_kernel_packets_total", "Events delivered by the kernel fast path.", &TopicStats::kernel_packets},
        {"tempos_kernel_bytes_total", "Bytes delivered by the kernel fast path.", &TopicStats::kernel_bytes},
        {"tempos_kernel_passed_total", "Events the kernel program passed to the socket path.",
         &TopicStats::kernel_passed},
        {"tempos_kernel_passed_unresolved_total",
         "Of the events passed to the socket path, those passed because a subscriber's MAC was unknown (its "
         "neighbour not resolved yet, or failed).",
         &TopicStats::kernel_passed_unresolved},
        {"tempos_kernel_passed_too_big_total",
         "Of the events passed to the socket path, those longer than the egress MTU (the socket path sends them "
         "fragmented).",
         &TopicStats::kernel_passed_too_big},
        {"tempos_kernel_dropped_total", "Events dropped or aborted in the kernel.", &TopicStats::kernel_dropped},
        {"tempos_adapter_sent_total", "Copies an adapter sent from user space.", &TopicStats::socket_sent},
        {"tempos_adapter_sent_bytes_total", "Bytes an adapter sent from user space.", &TopicStats::socket_bytes},
        {"tempos_adapter_send_errors_total", "Copies an adapter failed to send.", &TopicStats::socket_errors},
        {"tempos_best_effort_offloaded_total", "Best-effort events the kernel handed to the best-effort CPUs.",
         &TopicStats::best_effort_offloaded},
    };
    for (const auto& metric : adapter_metrics) {
        header(out, metric.name, "counter", metric.help);
        for (const auto& a : s.adapters)
            for (const auto& t : a.stats.topics)
                out << metric.name << "{adapter=\"" << escape(a.name) << "\",topic=\"" << int(t.topic) << "\"} "
                    << t.*metric.field << '\n';
    }
    // A gauge: offered minus arrived also holds the frames still in a queue, so under load it rises and falls;
    // once the queues are idle it is what they dropped (the kernel exposes no count of its own to a program).
    header(out, "tempos_best_effort_unarrived", "gauge",
           "Best-effort events handed to the best-effort CPUs that have not arrived there: in a queue, or dropped by "
           "it (once the queues are idle: dropped).");
    for (const auto& a : s.adapters)
        for (const auto& t : a.stats.topics)
            out << "tempos_best_effort_unarrived{adapter=\"" << escape(a.name) << "\",topic=\"" << int(t.topic)
                << "\"} " << t.best_effort_queue_dropped << '\n';
    header(out, "tempos_adapter_send_errors_by_reason_total", "counter",
           "Copies an adapter failed to send, by reason; icmp_* reasons count copies that were sent and refused "
           "afterwards by an ICMP error.");
    for (const auto& a : s.adapters)
        for (const auto& t : a.stats.topics)
            for (const auto& [reason, copies] : t.socket_errors_by_reason)
                out << "tempos_adapter_send_errors_by_reason_total{adapter=\"" << escape(a.name) << "\",topic=\""
                    << int(t.topic) << "\",reason=\"" << escape(reason) << "\"} " << copies << '\n';

    header(out, "tempos_device_xdp_errors_total", "counter",
           "XDP transmit errors the driver of a device the kernel path sends on counts (frames it dropped).");
    for (const auto& a : s.adapters)
        for (const auto& d : a.stats.devices)
            out << "tempos_device_xdp_errors_total{adapter=\"" << escape(a.name) << "\",interface=\""
                << escape(d.interface) << "\"} " << d.xdp_errors << '\n';
    header(out, "tempos_device_tx_dropped_total", "counter",
           "Transmit drops of a device the kernel path sends on (all causes; a veth counts here frames redirected "
           "into it that its peer cannot receive).");
    for (const auto& a : s.adapters)
        for (const auto& d : a.stats.devices)
            out << "tempos_device_tx_dropped_total{adapter=\"" << escape(a.name) << "\",interface=\""
                << escape(d.interface) << "\"} " << d.tx_dropped << '\n';
    header(out, "tempos_device_peer_tx_dropped_total", "counter",
           "For a veth the kernel path sends on (the MoM's own among them): its peer's transmit drops, where the "
           "kernel counts frames sent into the veth that its receive ring had no room for.");
    for (const auto& a : s.adapters)
        for (const auto& d : a.stats.devices)
            if (d.peer_tx_dropped)
                out << "tempos_device_peer_tx_dropped_total{adapter=\"" << escape(a.name) << "\",interface=\""
                    << escape(d.interface) << "\",peer=\"" << escape(d.peer) << "\"} " << *d.peer_tx_dropped << '\n';
    header(out, "tempos_policed_events_total", "counter", "Events dropped by admission control in the kernel, by reason.");
    const std::pair<const char*, std::uint64_t TopicStats::*> police_reasons[] = {
        {"topic_rate", &TopicStats::policed_topic_rate},
        {"publisher_rate", &TopicStats::policed_publisher_rate},
        {"contended", &TopicStats::policed_contended},
    };
    for (const auto& a : s.adapters)
        for (const auto& t : a.stats.topics)
            for (const auto& [reason, field] : police_reasons)
                out << "tempos_policed_events_total{adapter=\"" << escape(a.name) << "\",topic=\"" << int(t.topic)
                    << "\",reason=\"" << reason << "\"} " << t.*field << '\n';
    return out.str();
}

}  // namespace tempos::mom
