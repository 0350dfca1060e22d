// Keeps XDP programs resident in the kernel's XDP dispatcher while they are benchmarked.
//
// Every BPF_PROG_TEST_RUN call on an XDP program adds it to the dispatcher and removes it afterwards; each
// change regenerates the dispatcher and waits for an RCU grace period (milliseconds). A program that is already
// attached in native mode somewhere stays in the dispatcher, and test runs then cost microseconds. So the bench
// moves itself into a private network namespace and attaches each program to a veth there (no traffic ever
// flows; everything disappears with the process).
#pragma once

#include <string>
#include <vector>

namespace tempos::bench {

// Enters a fresh netns and attaches each program (native XDP) to a veth of its own. Empty on success.
std::string hold_in_dispatcher(const std::vector<int>& prog_fds);

}  // namespace tempos::bench
