// The adapter contract between tempos-mom and the adapters it loads at run time.
//
// A plugin exports exactly two Boost.DLL aliases (see TEMPOS_DECLARE_ADAPTER below):
//   tempos_adapter_abi_version  a std::uint32_t equal to kAdapterAbiVersion at the plugin's build
//   tempos_create_adapter       Adapter* (const AdapterEnv&) noexcept
// The host reads the version before touching anything else, because every type below (std::string,
// std::vector, the vtable layout) crosses the boundary by value: a mismatch would be undefined behaviour.
// Errors cross as values (Status); no exception may leave a plugin: every Adapter method is noexcept, so a
// plugin catches at its boundary and returns the failure as a Status.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/common.h>

#include "tempos/status.hpp"

namespace tempos {

// Bump on any change to a type in this header or to the Adapter vtable.
// 2: check_channel, check_topic. 3: every Adapter method is noexcept (a plugin reports failures as Status only).
// 4: TopicStats::socket_errors_by_reason.
// 5: AdapterStats::devices.
// 6: TopicStats counts best-effort hand-overs, cpumap drops and policed events; TopicConfig::rate_limit;
//    Adapter::configure_publisher_limit.
// 7: TopicStats::kernel_passed_unresolved.
// 8: Adapter::capabilities_kept.
// 9: Endpoint::ip6, ChannelConfig::mom_address6 and ::receives_ipv4 (IPv6, docs/ipv6.md);
//    TopicStats::kernel_passed_too_big.
// 10: Adapter::configure_topics (many topics in one call, one Status each).
// 11: DeviceStats::peer and ::peer_tx_dropped (a veth's ring-full drops, counted on its peer).
// 12: Adapter::remove_topics (many removals in one call, one Status each).
inline constexpr std::uint32_t kAdapterAbiVersion = 12;

inline constexpr const char* kAbiVersionSymbol = "tempos_adapter_abi_version";
inline constexpr const char* kFactorySymbol = "tempos_create_adapter";

using Ipv4 = std::array<std::uint8_t, 4>;   // network byte order: {10,0,0,1}
using Ipv6 = std::array<std::uint8_t, 16>;  // network byte order
using Mac = std::array<std::uint8_t, 6>;

enum class Qos : std::uint8_t { best_effort, strict };

struct Endpoint {
    Ipv4 ip{};
    std::uint16_t port = 0;        // host byte order
    std::optional<Mac> mac;        // absent: the adapter resolves it (neighbour table)
    // An IPv6 subscriber's address; ip is then 0.0.0.0 and unused. Never IPv4-mapped: ::ffff:a.b.c.d is read as
    // the IPv4 a.b.c.d, so each subscriber has one family.
    std::optional<Ipv6> ip6 = std::nullopt;
    bool is_ipv6() const { return ip6.has_value(); }
    bool operator==(const Endpoint&) const = default;
};

// Each event of a topic goes to exactly one member of every group, chosen round-robin.
struct SubscriptionGroup {
    std::vector<Endpoint> members;
    bool operator==(const SubscriptionGroup&) const = default;
};

// An admission limit (docs/isolation.md): on average `rate` events per second, up to `burst` back to back.
struct RateLimit {
    std::uint64_t rate = 0;   // events/s
    std::uint64_t burst = 1;  // events
    bool operator==(const RateLimit&) const = default;
};

struct TopicConfig {
    std::uint8_t id = 0;
    Qos qos = Qos::best_effort;
    std::vector<SubscriptionGroup> groups;
    std::optional<RateLimit> rate_limit = std::nullopt;  // events over it are dropped before delivery; absent: none
    bool operator==(const TopicConfig&) const = default;
};

struct ChannelConfig {
    std::string interface;                       // may be empty for adapters that need none
    Ipv4 mom_address{};                          // the MoM's IPv4 ingress address (0.0.0.0 = any)
    std::optional<Ipv6> mom_address6;            // an IPv6 listen address (:: = any); absent: listen is IPv4
    bool receives_ipv4 = true;                   // false: an IPv6 listener that takes no IPv4 (v6only, or ::1...)
    std::uint16_t port = 9998;                   // the MoM's UDP ingress port, host byte order
    std::map<std::string, std::string> options;  // adapter-specific keys from [[adapters]]
};

struct TopicStats {
    std::uint8_t topic = 0;
    std::uint64_t kernel_packets = 0;   // delivered without leaving the kernel
    std::uint64_t kernel_bytes = 0;
    std::uint64_t kernel_passed = 0;    // handed to the socket path by the kernel program
    std::uint64_t kernel_passed_unresolved = 0;  // of those: a subscriber's MAC was unknown (neighbour unresolved)
    std::uint64_t kernel_passed_too_big = 0;     // of those: longer than the egress MTU (the socket path fragments)
    std::uint64_t kernel_dropped = 0;   // aborted or dropped in the kernel
    std::uint64_t socket_sent = 0;      // copies sent by send()
    std::uint64_t socket_bytes = 0;
    std::uint64_t socket_errors = 0;    // copies send() failed to send (never counted in socket_sent)
    // Adapter-defined reasons (e.g. "no_buffers") -> copies. Every reason the adapter knows is listed, at 0 too.
    // The xdp adapter's "icmp_*" reasons count copies that were sent (in socket_sent) and refused afterwards by
    // an ICMP error; the others add up to socket_errors.
    std::map<std::string, std::uint64_t> socket_errors_by_reason;
    // Best-effort isolation (docs/isolation.md): events handed to the best-effort CPUs, those that have not
    // arrived there (in a queue or dropped by it: not monotonic, a gauge), and events dropped by admission
    // control, by reason.
    std::uint64_t best_effort_offloaded = 0;
    std::uint64_t best_effort_queue_dropped = 0;
    std::uint64_t policed_topic_rate = 0;
    std::uint64_t policed_publisher_rate = 0;
    std::uint64_t policed_contended = 0;
};

// What a network device the adapter transmits on counts as dropped: frames the kernel program handed to it
// that never left, so "delivered by the kernel" can be read against them.
struct DeviceStats {
    std::string interface;
    std::uint64_t xdp_errors = 0;  // the driver's XDP transmit error counters, summed
    std::uint64_t tx_dropped = 0;  // the interface's transmit drops (all causes)
    // For a veth: its peer's name (in its own namespace) and the peer's transmit drops, where the kernel counts the
    // frames sent into this interface that it had no room for (a full receive ring): they appear in none of this
    // interface's own counters. No value when the peer could not be asked.
    std::string peer;
    std::optional<std::uint64_t> peer_tx_dropped;
};

struct AdapterStats {
    std::string mode;                   // adapter-defined, e.g. "native", "generic", "off"
    std::vector<TopicStats> topics;     // sorted by topic id
    std::vector<DeviceStats> devices;   // the devices the kernel path transmits on
};

// What the host hands a plugin at creation: its log sinks and level, so the plugin logs through a named
// logger of its own without touching spdlog's global registry.
struct AdapterEnv {
    std::vector<spdlog::sink_ptr> log_sinks;
    spdlog::level::level_enum log_level = spdlog::level::info;
};

// Thread-safety: connect/configure_qos/close/stats are called from the control thread; send() may be called
// concurrently from the dispatcher threads (one per QoS class) and concurrently with configure_qos().
class Adapter {
public:
    virtual ~Adapter() = default;

    virtual std::string name() const noexcept = 0;
    // Check a configuration without touching the system (no privileges needed, no interface looked up,
    // nothing opened or attached): what these refuse, connect() and configure_qos() refuse too. They may be
    // called on an adapter that is never connected (`tempos-mom --check`).
    virtual Status check_channel(const ChannelConfig& channel) const noexcept = 0;
    virtual Status check_topic(const TopicConfig& topic) const noexcept = 0;
    virtual Status connect(const ChannelConfig& channel) noexcept = 0;
    virtual Status configure_qos(const TopicConfig& topic) noexcept = 0;
    // configure_qos for each of `topics` (distinct ids) in one call, so that an adapter can publish them together
    // (the xdp adapter: one batched update of its route map, one RCU grace period instead of one per topic).
    // results[i] (results.size() == topics.size()) is topic i's outcome: a topic that fails is left as a failed
    // configure_qos leaves it (the host puts its old value back), the others take effect. Each topic changes
    // atomically on its own (an event sees its old or its new configuration, never a mix); the topics of one call
    // need not change at the same instant. Returns the first failure, or ok.
    virtual Status configure_topics(std::span<const TopicConfig> topics, std::span<Status> results) noexcept {
        std::size_t failed = results.size();
        for (std::size_t i = 0; i < topics.size() && i < results.size(); ++i) {
            results[i] = configure_qos(topics[i]);
            if (!results[i] && failed == results.size()) failed = i;
        }
        try {
            return failed == results.size() ? Status::ok() : results[failed];
        } catch (...) {  // copying the message ran out of memory
            return Status::error(ErrorCode::internal, "");
        }
    }
    // The limit every publisher (source IPv4) meets for its best-effort events; nullopt: none. An adapter without
    // admission control accepts and ignores it.
    virtual Status configure_publisher_limit(const std::optional<RateLimit>& limit) noexcept {
        (void)limit;
        return Status::ok();
    }
    // Forgets a topic; events of it are no longer delivered.
    virtual Status remove_topic(std::uint8_t topic) noexcept = 0;
    // remove_topic for each of `topics` (distinct ids) in one call, so that an adapter can remove them together
    // (the xdp adapter: the kernel slots emptied at once, a bounded number of RCU grace periods instead of one or
    // more per topic). results[i] (results.size() == topics.size()) is topic i's outcome, as remove_topic's would
    // be. Returns the first failure, or ok.
    virtual Status remove_topics(std::span<const std::uint8_t> topics, std::span<Status> results) noexcept {
        std::size_t failed = results.size();
        for (std::size_t i = 0; i < topics.size() && i < results.size(); ++i) {
            results[i] = remove_topic(topics[i]);
            if (!results[i] && failed == results.size()) failed = i;
        }
        try {
            return failed == results.size() ? Status::ok() : results[failed];
        } catch (...) {  // copying the message ran out of memory
            return Status::error(ErrorCode::internal, "");
        }
    }
    // User-space delivery: one copy per subscription group, to one member round-robin.
    virtual Status send(std::uint8_t topic, std::span<const std::uint8_t> payload) noexcept = 0;
    virtual AdapterStats stats() const noexcept = 0;
    // The Linux capabilities (a mask of 1 << CAP_*) the control thread still needs once connect() and the first
    // configure_qos() calls are done: for reloads (configure_qos, remove_topic) and for close(). tempos-mom drops
    // every capability no adapter names here; threads of the adapter's own drop theirs (docs/install.md).
    virtual std::uint64_t capabilities_kept() const noexcept { return 0; }
    // Releases everything the adapter holds; a second call does nothing.
    virtual void close() noexcept = 0;
};

using AdapterFactory = Adapter*(const AdapterEnv&) noexcept;

}  // namespace tempos

// Use once in a plugin's .cpp, with a function `tempos::Adapter* fn(const tempos::AdapterEnv&) noexcept`.
// Needs <boost/dll/alias.hpp>.
#define TEMPOS_DECLARE_ADAPTER(factory_fn)                                                   \
    namespace tempos_plugin_export {                                                         \
    const std::uint32_t tempos_adapter_abi_version_value = ::tempos::kAdapterAbiVersion;    \
    }                                                                                        \
    BOOST_DLL_ALIAS(tempos_plugin_export::tempos_adapter_abi_version_value,                 \
                    tempos_adapter_abi_version)                                              \
    BOOST_DLL_ALIAS(factory_fn, tempos_create_adapter)
