// A test holding the real libxdp_adapter.so, loaded through Boost.DLL, whose logger writes into a RecordingSink.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "plugin_loader.hpp"
#include "recording_sink.hpp"

namespace tempos::test {

class LoadedXdpAdapterTest : public ::testing::Test {
protected:
    // Loads the plugin. Fixtures that prepare more (a namespace, interfaces) do it first, then call this.
    void SetUp() override {
        env_.log_sinks = {sink_};
        env_.log_level = spdlog::level::debug;
        auto loaded = load_xdp_adapter(env_);
        if (auto* error = std::get_if<std::string>(&loaded)) FAIL() << *error;
        loaded_ = std::move(std::get<LoadedAdapter>(loaded));
    }

    Adapter& adapter() { return *loaded_.adapter; }
    // connect() on `interface` for events to `port`, in `mode`.
    Status connect_channel(const std::string& interface, std::uint16_t port, const std::string& mode) {
        ChannelConfig channel;
        channel.interface = interface;
        channel.port = port;
        channel.options["xdp_mode"] = mode;
        return adapter().connect(channel);
    }

    std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
    AdapterEnv env_;
    LoadedAdapter loaded_;
};

}  // namespace tempos::test
