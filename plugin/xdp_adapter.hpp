// The adapter tempos-mom loads: strict single-group topics are routed by the XDP program in the kernel, strict
// topics with several groups are fanned out by the TC program (one clone per group, docs/fanout.md), everything
// else (and anything the kernel hands back) goes through the UDP socket path.
#pragma once

#include <atomic>
#include <bitset>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>

#include <spdlog/logger.h>

#include "adapter_options.hpp"
#include "network_interface.hpp"
#include "route_translation.hpp"
#include "fanout_attachment.hpp"
#include "local_addresses.hpp"
#include "neighbour_resolver.hpp"
#include "veth_peer_counters.hpp"
#include "socket_path.hpp"
#include "tempos/adapter.hpp"
#include "tempos/unique_fd.hpp"
#include "xdp_attachment.hpp"

namespace tempos::xdp {

class XdpAdapter final : public Adapter {
public:
    explicit XdpAdapter(const AdapterEnv& env);
    ~XdpAdapter() override;

    // Each method catches at the plugin boundary (adapter_boundary.hpp): no exception reaches the host.
    std::string name() const noexcept override { return "xdp"; }
    Status check_channel(const ChannelConfig& channel) const noexcept override;
    Status check_topic(const TopicConfig& topic) const noexcept override;
    Status connect(const ChannelConfig& channel) noexcept override;
    Status configure_qos(const TopicConfig& topic) noexcept override;
    Status configure_topics(std::span<const TopicConfig> topics, std::span<Status> results) noexcept override;
    Status remove_topic(std::uint8_t topic) noexcept override;
    Status remove_topics(std::span<const std::uint8_t> topics, std::span<Status> results) noexcept override;
    Status configure_publisher_limit(const std::optional<RateLimit>& limit) noexcept override;
    Status send(std::uint8_t topic, std::span<const std::uint8_t> payload) noexcept override;
    AdapterStats stats() const noexcept override;
    std::uint64_t capabilities_kept() const noexcept override;
    void close() noexcept override;

private:
    enum class State { created, connected, closed };

    Status state_error() const;
    template <typename Body>
    Status control_call(const char* operation, Body&& body) noexcept;
    Result<EgressPort> egress_for(const Endpoint& subscriber);
    AdapterStats collect_stats() const;
    void release();
    // What a configure_topics call writes into the map-in-maps (topic_limits, fanout_routes, topic_routes), kept
    // until every topic is staged and then written with a bounded number of RCU grace periods (apply_staged):
    // the removals all at once (clear_slots), then one batched update per map.
    struct Staged {
        enum class Map { limits, fanout, routes };
        struct Clear {
            std::size_t index;  // in the call's topics
            Map map;
            SlotToClear slot;
        };
        struct Publish {
            std::size_t index;
            UniqueFd inner;  // frozen
        };
        std::size_t index = 0;  // of the topic being staged
        std::vector<Clear> clears;
        std::vector<Publish> limits, fanouts, routes;
    };
    Status configure_one(const TopicConfig& topic, Staged* staged);
    Status set_limit(const TopicConfig& topic, Staged* staged);
    void apply_staged(std::span<const TopicConfig> topics, Staged& staged, std::span<Status> results);
    Status route_in_kernel(const TopicConfig& topic, Staged* staged = nullptr);
    void routed_in_kernel(const TopicConfig& topic);
    Status fan_out_in_kernel(const TopicConfig& topic, Staged* staged = nullptr);
    void fanned_out_in_kernel(const TopicConfig& topic);
    Status remove_from_xdp(std::uint8_t topic, Staged* staged = nullptr);
    Status remove_from_fanout(std::uint8_t topic, Staged* staged = nullptr);
    void removed_from(Staged::Map map, std::uint8_t topic);
    Status remove_from_kernel(std::uint8_t topic, Staged* staged = nullptr);
    Result<CpuSet> best_effort_cpus(const AdapterOptions& options) const;
    Status attach_fanout(const ChannelConfig& channel, XdpMode requested, const Ipv4& mom_ipv4);
    std::optional<Mac> neighbour_mac(const Endpoint& subscriber);
    void note_macless(const TopicConfig& topic);
    void neighbours_changed() noexcept;
    void stop_neighbour_resolver();
    void warn_limits_not_enforced();
    void take_over_topics();
    Status check_ipv6_members(const TopicConfig& topic) const;

    // The logger lives from construction to close(); only used while not closed.
    std::shared_ptr<spdlog::logger> log_;
    // Exclusive: connect() and close(). Shared: every other call, so send() never races a teardown.
    mutable std::shared_mutex lifecycle_;
    // Serialises the control-plane calls that run under the shared lifecycle lock.
    mutable std::mutex control_;
    State state_ = State::created;
    std::unique_ptr<SocketPath> sockets_;
    std::unique_ptr<XdpAttachment> xdp_;
    std::unique_ptr<FanoutAttachment> fanout_;  // only with xdp_: it serves what the XDP router passes up
    std::unique_ptr<LocalAddressWatcher> local_;  // only with xdp_: keeps the programs' local_destinations current
    // Only with xdp_: the MACs of subscribers configured without one. Its thread calls neighbours_changed().
    std::unique_ptr<NeighbourResolver> neighbours_;
    // Reads veth peers' drops for stats() (CAP_NET_ADMIN); null when its thread could not start (said once).
    std::unique_ptr<VethPeerCounters> peer_counters_;
    // The topics in a kernel program with a MAC-less member: rewritten when a neighbour changes.
    std::map<std::uint8_t, TopicConfig> macless_topics_;
    InterfaceInfo interface_;
    std::bitset<256> configured_;
    std::bitset<256> in_kernel_;
    std::bitset<256> in_fanout_;
    // Topics whose kernel state came from an earlier tempos-mom's pins and that no configure_qos has set since.
    std::bitset<256> adopted_;
    bool persist_ = false;
    // Interfaces other than interface_ that routes send through (ifindex -> name): their drops are reported.
    std::map<int, std::string> egress_interfaces_;
    // Egress VLAN sub-interfaces written to egress_vlans (their lower device is in egress_interfaces_ unless it is
    // the MoM's interface), and stacked ones left to the socket path.
    std::set<int> vlan_egresses_;
    bool socket_fallback_warned_ = false;
    bool limits_warned_ = false;
    // Devices whose veth peer could not be asked for its drops: said once each (stats() runs at every scrape).
    mutable std::set<std::string> peer_unreadable_logged_;
    // The xdp_mode of the last check_channel() (connect() calls it too); auto until then.
    mutable std::atomic<XdpMode> checked_mode_{XdpMode::automatic};
};

}  // namespace tempos::xdp
