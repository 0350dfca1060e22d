// Entering network namespaces from C++. A named namespace (/run/netns/NAME, as `ip netns add` and Topology
// create them) is entered by the calling thread only, for a scope; sockets created inside stay in it.
#pragma once

#include <functional>
#include <string>

#include "tempos/status.hpp"

namespace tempos::testkit {

// The calling thread in network namespace `ns` from construction to destruction (or leave()). A thread that
// cannot return aborts the process: every later socket would silently be born in the wrong namespace.
class NetnsScope {
public:
    explicit NetnsScope(const std::string& ns);
    ~NetnsScope();
    NetnsScope(const NetnsScope&) = delete;
    NetnsScope& operator=(const NetnsScope&) = delete;

    // Ok once the thread is inside; else why it is not (and it stayed where it was).
    const Status& status() const { return status_; }
    // Back where the thread came from, before the scope ends.
    Status leave();

private:
    std::string ns_;
    int original_ = -1;
    Status status_;
};

// Runs `fn` with the calling thread in network namespace `ns`, then moves the thread back. Returns fn's
// Status, or why the namespace could not be entered or left.
Status run_in_netns(const std::string& ns, const std::function<Status()>& fn);

// Moves the calling thread (for a single-threaded test: the process) into a fresh, unnamed network namespace
// with lo up: whatever is created there (veth pairs, attached programs) disappears with the process.
Status enter_private_netns();

}  // namespace tempos::testkit
