// Linked into tempos-mom-faults only (tests/host/CMakeLists.txt): the test build of tempos-mom whose fault points
// (host-stub/fatal.hpp) fire as TEMPOS_INJECT_FAULT says. The production tempos-mom has no hook, so no
// environment variable can make it fail on purpose.
//   TEMPOS_INJECT_FAULT=ingress_poll     the receiver's poll() fails once a datagram is waiting
//   TEMPOS_INJECT_FAULT=dispatcher_loop  a dispatcher throws once it has taken an event
#include <cstdlib>
#include <string>

#include "fatal.hpp"

namespace {

tempos::mom::FaultPoint configured_point;

bool fire(tempos::mom::FaultPoint point) { return point == configured_point; }

// Installed before main() runs.
const bool installed = [] {
    const char* fault = std::getenv("TEMPOS_INJECT_FAULT");
    if (fault == nullptr) return false;
    const std::string name = fault;
    if (name == "ingress_poll")
        configured_point = tempos::mom::FaultPoint::ingress_poll;
    else if (name == "dispatcher_loop")
        configured_point = tempos::mom::FaultPoint::dispatcher_loop;
    else
        return false;
    tempos::mom::set_fault_hook(fire);
    return true;
}();

}  // namespace
