// The Prometheus text rendering of the MoM's counters.
#include <gtest/gtest.h>

#include "metrics_text.hpp"

namespace tempos::mom {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(MetricsText, ListsConfiguredTopicsPerPathEvenAtZero) {
    MomCounters counters;
    MetricsSnapshot s;
    s.counters = &counters;
    s.topics[7] = TopicConfig{7, Qos::strict, {}};
    const std::string text = render_metrics(s);
    EXPECT_TRUE(has_line(text, "tempos_events_received_total{topic=\"7\",path=\"sq\"} 0")) << text;
    EXPECT_TRUE(has_line(text, "tempos_events_received_total{topic=\"7\",path=\"bq\"} 0")) << text;
    EXPECT_EQ(text.find("topic=\"8\""), std::string::npos);
    EXPECT_TRUE(has_line(text, "# TYPE tempos_events_received_total counter"));
}

TEST(MetricsText, RendersCountersDepthsReloadsAndAdapterStats) {
    MomCounters counters;
    counters.at(3, Path::bq).received = 5;
    counters.at(3, Path::bq).queued = 4;
    counters.at(3, Path::bq).dropped = 1;
    counters.at(3, Path::bq).sent = 3;
    counters.at(3, Path::bq).abandoned = 1;
    counters.unknown_topic = 2;
    counters.empty_datagrams = 1;
    counters.reloads_ok = 3;
    counters.reloads_failed = 1;
    MetricsSnapshot s;
    s.counters = &counters;
    s.sq_depth = 6;
    s.sq_capacity = 64;
    s.bq_capacity = 32;
    s.interface = "eth0";
    s.stack.udp = {{"InErrors", 5}, {"RcvbufErrors", 4}};
    s.stack.interface_rx_dropped = 9;
    TopicStats kernel;
    kernel.topic = 3;
    kernel.kernel_packets = 11;
    kernel.kernel_dropped = 2;
    kernel.socket_sent = 4;
    kernel.socket_errors_by_reason = {{"no_buffers", 2}, {"icmp_port_unreachable", 1}};
    const DeviceStats veth{"eth0", 7, 9, "p-mom-eth0", 5};
    const DeviceStats no_peer{"eth1", 0, 0, "", std::nullopt};
    s.adapters.push_back({"xdp \"main\"", AdapterStats{"native", {kernel}, {veth, no_peer}}});

    const std::string text = render_metrics(s);
    for (const char* line : {
             "tempos_events_received_total{topic=\"3\",path=\"bq\"} 5",
             "tempos_events_queued_total{topic=\"3\",path=\"bq\"} 4",
             "tempos_events_dropped_total{topic=\"3\",path=\"bq\"} 1",
             "tempos_events_sent_total{topic=\"3\",path=\"bq\"} 3",
             "tempos_events_abandoned_total{topic=\"3\",path=\"bq\"} 1",
             "tempos_ingress_discarded_total{reason=\"unknown_topic\"} 2",
             "tempos_ingress_discarded_total{reason=\"empty\"} 1",
             "tempos_queue_depth{queue=\"sq\"} 6",
             "tempos_netns_udp_errors_total{counter=\"InErrors\"} 5",
             "tempos_netns_udp_errors_total{counter=\"RcvbufErrors\"} 4",
             "tempos_interface_rx_dropped_total{interface=\"eth0\"} 9",
             "tempos_queue_capacity{queue=\"bq\"} 32",
             "tempos_reloads_total{result=\"ok\"} 3",
             "tempos_reloads_total{result=\"failed\"} 1",
             "tempos_adapter_mode{adapter=\"xdp \\\"main\\\"\",mode=\"native\"} 1",
             "tempos_kernel_packets_total{adapter=\"xdp \\\"main\\\"\",topic=\"3\"} 11",
             "tempos_kernel_dropped_total{adapter=\"xdp \\\"main\\\"\",topic=\"3\"} 2",
             "tempos_adapter_sent_total{adapter=\"xdp \\\"main\\\"\",topic=\"3\"} 4",
             "tempos_adapter_send_errors_by_reason_total{adapter=\"xdp \\\"main\\\"\",topic=\"3\","
             "reason=\"no_buffers\"} 2",
             "tempos_adapter_send_errors_by_reason_total{adapter=\"xdp \\\"main\\\"\",topic=\"3\","
             "reason=\"icmp_port_unreachable\"} 1",
             "tempos_device_xdp_errors_total{adapter=\"xdp \\\"main\\\"\",interface=\"eth0\"} 7",
             "tempos_device_tx_dropped_total{adapter=\"xdp \\\"main\\\"\",interface=\"eth0\"} 9",
             "tempos_device_peer_tx_dropped_total{adapter=\"xdp \\\"main\\\"\",interface=\"eth0\","
             "peer=\"p-mom-eth0\"} 5",
         })
        EXPECT_TRUE(has_line(text, line)) << line << " is not in:\n" << text;
    // A device whose peer could not be asked (or that is no veth) has no peer line: absent, not 0.
    EXPECT_EQ(text.find("tempos_device_peer_tx_dropped_total{adapter=\"xdp \\\"main\\\"\",interface=\"eth1\""),
              std::string::npos)
        << text;
}

}  // namespace
}  // namespace tempos::mom
