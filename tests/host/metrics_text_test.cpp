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
    counters.at(3, Path::bq).sent = 4;
    counters.unknown_topic = 2;
    counters.empty_datagrams = 1;
    counters.reloads_ok = 3;
    counters.reloads_failed = 1;
    MetricsSnapshot s;
    s.counters = &counters;
    s.sq_depth = 6;
    s.sq_capacity = 64;
    s.bq_capacity = 32;
    TopicStats kernel;
    kernel.topic = 3;
    kernel.kernel_packets = 11;
    kernel.kernel_dropped = 2;
    kernel.socket_sent = 4;
    s.adapters.push_back({"xdp \"main\"", AdapterStats{"native", {kernel}}});

    const std::string text = render_metrics(s);
    EXPECT_TRUE(has_line(text, "tempos_events_received_total{topic=\"3\",path=\"bq\"} 5")) << text;
    EXPECT_TRUE(has_line(text, "tempos_events_queued_total{topic=\"3\",path=\"bq\"} 4"));
    EXPECT_TRUE(has_line(text, "tempos_events_dropped_total{topic=\"3\",path=\"bq\"} 1"));
    EXPECT_TRUE(has_line(text, "tempos_events_sent_total{topic=\"3\",path=\"bq\"} 4"));
    EXPECT_TRUE(has_line(text, "tempos_ingress_discarded_total{reason=\"unknown_topic\"} 2"));
    EXPECT_TRUE(has_line(text, "tempos_ingress_discarded_total{reason=\"empty\"} 1"));
    EXPECT_TRUE(has_line(text, "tempos_queue_depth{queue=\"sq\"} 6"));
    EXPECT_TRUE(has_line(text, "tempos_queue_capacity{queue=\"bq\"} 32"));
    EXPECT_TRUE(has_line(text, "tempos_reloads_total{result=\"ok\"} 3"));
    EXPECT_TRUE(has_line(text, "tempos_reloads_total{result=\"failed\"} 1"));
    EXPECT_TRUE(has_line(text, "tempos_adapter_mode{adapter=\"xdp \\\"main\\\"\",mode=\"native\"} 1")) << text;
    EXPECT_TRUE(has_line(text, "tempos_kernel_packets_total{adapter=\"xdp \\\"main\\\"\",topic=\"3\"} 11"));
    EXPECT_TRUE(has_line(text, "tempos_kernel_dropped_total{adapter=\"xdp \\\"main\\\"\",topic=\"3\"} 2"));
    EXPECT_TRUE(has_line(text, "tempos_adapter_sent_total{adapter=\"xdp \\\"main\\\"\",topic=\"3\"} 4"));
}

}  // namespace
}  // namespace tempos::mom
