// Runs tests/plugin/xdp_attach_holder (TEMPOS_ATTACH_HOLDER_PATH) as a child that keeps the adapter attached
// until it is killed: the tests then SIGKILL it and check that nothing it attached is left behind.
#pragma once

#include <chrono>
#include <string>

#include "process/process.hpp"

namespace tempos::test {

// `mode`: the xdp_mode the holder connects with. Returns once it printed its "mode=..." line (the adapter is
// attached then), or an error when it ends or stays silent for 10 s.
inline Result<testkit::Process> start_attach_holder(const char* iface, const char* mode) {
    Result<testkit::Process> holder = testkit::Process::start({TEMPOS_ATTACH_HOLDER_PATH, iface, mode, "hold"});
    if (!holder) return holder;
    if (Status attached = holder->wait_for_output("mode=", std::chrono::seconds(10)); !attached) return attached;
    return holder;
}

}  // namespace tempos::test
