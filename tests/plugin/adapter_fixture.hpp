// A test holding the real libxdp_adapter.so, loaded by tempos-mom's own loader, whose logger writes into a
// RecordingSink.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "plugin_loader.hpp"  // host-stub/
#include "recording_sink.hpp"

namespace tempos::test {

class LoadedXdpAdapterTest : public ::testing::Test {
protected:
    // Loads the plugin. Fixtures that prepare more (a namespace, interfaces) do it first, then call this.
    void SetUp() override {
        env_.log_sinks = {sink_};
        env_.log_level = spdlog::level::debug;
        Result<mom::LoadedAdapter> loaded = mom::load_adapter(TEMPOS_XDP_ADAPTER_PATH, env_);
        if (!loaded) FAIL() << loaded.message();
        loaded_.emplace(std::move(*loaded));
    }

    Adapter& adapter() { return loaded_->adapter(); }
    // connect() on `interface` for events to `port` (listening on `mom_address`, 0.0.0.0: any), in `mode`, with the
    // further adapter `options`.
    Status connect_channel(const std::string& interface, std::uint16_t port, const std::string& mode,
                           std::map<std::string, std::string> options = {}, Ipv4 mom_address = {}) {
        ChannelConfig channel;
        channel.interface = interface;
        channel.port = port;
        channel.mom_address = mom_address;
        channel.options = std::move(options);
        channel.options["xdp_mode"] = mode;
        return adapter().connect(channel);
    }

    // The adapter's stats of `topic`, when it reports the topic.
    std::optional<TopicStats> stats_of(std::uint8_t topic) {
        const AdapterStats stats = adapter().stats();
        for (const TopicStats& t : stats.topics)
            if (t.topic == topic) return t;
        return std::nullopt;
    }

    std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
    AdapterEnv env_;
    std::optional<mom::LoadedAdapter> loaded_;
};

}  // namespace tempos::test
