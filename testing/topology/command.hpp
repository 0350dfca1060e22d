// Running the tools a topology is built with (ip, ethtool, sysctl) to completion through the test kit's one
// process runner (process/process.hpp): no shell, output captured. The child inherits the calling thread's
// network namespace.
#pragma once

#include <string>
#include <vector>

#include "tempos/status.hpp"

namespace tempos::testkit {

// Runs argv[0] (looked up in PATH) with argv; its stdout on exit status 0, else an error quoting the command
// and what it wrote to stderr.
Result<std::string> run_command(const std::vector<std::string>& argv);

// `ip neigh replace IP lladdr MAC dev IFNAME nud permanent`: the kernel knows the neighbour as after an ARP reply.
Status set_permanent_neighbour(const std::string& ifname, const std::string& ip, const std::string& mac);
// `ip neigh flush dev IFNAME`: the kernel forgets every neighbour of the interface.
Status flush_neighbours(const std::string& ifname);

// `ip [-n NS] link add A [queues] type veth peer name B [queues] [netns PEER_NS]`; queues 0: the kernel's
// default (one per CPU).
std::vector<std::string> veth_pair_command(const std::string& ns, const std::string& a, const std::string& b,
                                           const std::string& peer_ns, int queues);

}  // namespace tempos::testkit
