// TopicConfig -> the kernel's struct tempos_route (include/tempos/xdp_abi.h). Pure: the egress interface of
// each subscriber comes from a resolver, so the byte layout is testable without a kernel.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "tempos/adapter.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

// Where frames toward one subscriber leave: the interface index and that interface's MAC (the new
// Ethernet source).
struct EgressPort {
    int ifindex = 0;
    Mac src_mac{};
};

using EgressResolver = std::function<Result<EgressPort>(const Endpoint&)>;
// The MAC of a subscriber configured without one, when the adapter knows it (neighbour_resolver.hpp).
using NeighbourLookup = std::function<std::optional<Mac>(const Endpoint&)>;

// Checks what every path needs: each group has 1..TEMPOS_MAX_SUBSCRIBERS members, each with a non-zero
// address and port; a strict topic has at most TEMPOS_MAX_FANOUT_GROUPS groups (the kernel fan-out's limit,
// enforced whatever xdp_mode is, so a configuration valid with "off" stays valid with XDP).
Status validate_topic(const TopicConfig& topic);

// One group -> one route. Addresses and ports in network order; an IPv6 member has TEMPOS_EP_IPV6. With a MAC (configured, or else answered by
// `neighbour`): TEMPOS_EP_HAS_MAC, mac, src_mac and ifindex from the resolver. Without: flags clear, the
// kernel's bpf_fib_lookup is the router's fallback, and the resolver is not called.
Result<tempos_route> translate_group(const SubscriptionGroup& group, const EgressResolver& egress,
                                     const NeighbourLookup& neighbour = nullptr);

// Every group of a fan-out topic -> one route each, in the topic's group order (1..TEMPOS_MAX_FANOUT_GROUPS).
Result<std::vector<tempos_route>> translate_fanout(const TopicConfig& topic, const EgressResolver& egress,
                                                   const NeighbourLookup& neighbour = nullptr);

// Whether some member of the topic has no configured MAC (its route then depends on the neighbour table).
bool has_macless_member(const TopicConfig& topic);

}  // namespace tempos::xdp
