#include "xdp_adapter.hpp"

#include <arpa/inet.h>

#include <array>

#include <bpf/libbpf.h>
#include <linux/capability.h>

#include "adapter_options.hpp"
#include "pin_set.hpp"
#include "tempos/adapter_boundary.hpp"
#include "topic_stats.hpp"
#include "xdp_mode_choice.hpp"

namespace tempos::xdp {

XdpAdapter::XdpAdapter(const AdapterEnv& env)
    // Not registered in spdlog's registry: the plugin leaves no global state behind when it is unloaded.
    : log_(std::make_shared<spdlog::logger>("xdp_adapter", env.log_sinks.begin(), env.log_sinks.end())) {
    log_->set_level(env.log_level);
}

XdpAdapter::~XdpAdapter() { close(); }

Status XdpAdapter::state_error() const {
    if (state_ == State::connected) return Status::ok();
    return Status::error(ErrorCode::not_connected,
                         state_ == State::closed ? "the xdp adapter is closed" : "the xdp adapter is not connected");
}

Status XdpAdapter::check_channel(const ChannelConfig& channel) const noexcept {
    return at_boundary("check_channel", [&]() -> Status {
        const Result<AdapterOptions> options = parse_adapter_options(channel.options);
        if (!options) return options.status();
        // check_topic() judges IPv6 subscribers by the mode asked for here (also when connect() calls this).
        checked_mode_.store(options->mode);
        if (options->mode != XdpMode::off && channel.interface.empty())
            return Status::error(ErrorCode::invalid_argument,
                                 "xdp_mode " + std::string(to_string(options->mode)) +
                                     " needs an interface to attach to (or set xdp_mode = \"off\")");
        return Status::ok();
    });
}

Status XdpAdapter::check_topic(const TopicConfig& topic) const noexcept {
    return at_boundary("check_topic", [&]() -> Status {
        if (topic.rate_limit) {
            if (Status valid = AdmissionTable::validate(*topic.rate_limit); !valid)
                return valid.prefixed("topic " + std::to_string(topic.id));
        }
        if (Status ipv6 = check_ipv6_members(topic); !ipv6) return ipv6;
        return validate_topic(topic);
    });
}

// What the kernel path can route of a strict topic with IPv6 subscribers (docs/ipv6.md): the router and the TC
// fan-out rewrite an IPv6 event for an IPv6 member and an IPv4 one for an IPv4 member, never across families (the
// headers differ in size and they do not rebuild them). So, with a kernel path, a strict group must be of one
// family, and so must a strict topic with several groups (the fan-out sends every group a copy of the one
// event). Judged by the mode asked for, not the one attached, so that --check and every start agree.
Status XdpAdapter::check_ipv6_members(const TopicConfig& topic) const {
    bool any_ipv6 = false;
    std::size_t members = 0, members_ipv6 = 0;
    for (std::size_t g = 0; g < topic.groups.size(); ++g) {
        std::size_t ipv6 = 0;
        for (const Endpoint& member : topic.groups[g].members) ipv6 += member.ip6 ? 1 : 0;
        any_ipv6 = any_ipv6 || ipv6 != 0;
        members += topic.groups[g].members.size();
        members_ipv6 += ipv6;
        if (topic.qos != Qos::strict || checked_mode_.load() == XdpMode::off) continue;
        if (ipv6 != 0 && ipv6 != topic.groups[g].members.size())
            return Status::error(ErrorCode::invalid_argument,
                                 "topic " + std::to_string(topic.id) + ", group " + std::to_string(g) +
                                     ": strict with IPv4 and IPv6 members in one group, and the XDP router does not "
                                     "turn an event of one family into the other (docs/ipv6.md); give each family "
                                     "its own topic, set xdp_mode = \"off\" (socket path, both families) or make "
                                     "the topic best-effort");
    }
    if (topic.qos == Qos::strict && checked_mode_.load() != XdpMode::off && members_ipv6 != 0 &&
        members_ipv6 != members)
        return Status::error(ErrorCode::invalid_argument,
                             "topic " + std::to_string(topic.id) +
                                 ": strict with several subscription groups of IPv4 and IPv6 members, and the "
                                 "kernel fan-out does not turn an event of one family into the other "
                                 "(docs/ipv6.md); give each family its own topic, set xdp_mode = \"off\" (socket "
                                 "path, both families) or make the topic best-effort");
    // Connected: the socket path must have its IPv6 sockets.
    if (any_ipv6 && sockets_) return sockets_->check_topic(topic);
    return Status::ok();
}

Status XdpAdapter::connect(const ChannelConfig& channel) noexcept {
    return at_boundary("connect", [&]() -> Status {
        std::unique_lock lifecycle(lifecycle_);
        if (state_ == State::connected) return Status::error(ErrorCode::invalid_argument, "already connected");
        if (state_ == State::closed) return state_error();

        if (Status valid = check_channel(channel); !valid) return valid;
        const AdapterOptions options = *parse_adapter_options(channel.options);
        const XdpMode requested = options.mode;

        if (requested != XdpMode::off) {
            Result<InterfaceInfo> info = query_interface(channel.interface);
            if (!info) return info.status();
            interface_ = std::move(*info);
        }

        Result<std::unique_ptr<SocketPath>> sockets = SocketPath::open();
        if (!sockets) return sockets.status();
        sockets_ = std::move(*sockets);

        if (requested != XdpMode::off) {
            const ModeChoice choice = choose_xdp_mode(requested, interface_facts(interface_.name, interface_.ifindex));
            if (!choice.message.empty()) {
                if (choice.warn)
                    log_->warn("{}", choice.message);
                else
                    log_->info("{}", choice.message);
            }
            AttachRequest request;
            request.interface = interface_.name;
            request.ifindex = interface_.ifindex;
            request.mode = choice.attach;
            request.attach = options.attach;
            request.priority = options.priority;
            request.mom_port = channel.port;
            // The rewrite's IP source: the configured address, else the interface's, else 0 (the kernel keeps
            // each frame's own destination, which is the MoM's address the publisher used).
            request.mom_ipv4 = channel.mom_address;
            if (request.mom_ipv4 == Ipv4{} && interface_.ipv4) request.mom_ipv4 = *interface_.ipv4;
            // IPv6: the configured address; with [::] each frame's own destination (an address of the interface
            // the publisher used, never link-local: local_addresses.hpp).
            request.mom_ipv6 = channel.mom_address6.value_or(Ipv6{});
            Result<CpuSet> cpus = best_effort_cpus(options);
            if (!cpus) return cpus.status();
            request.best_effort_cpus = std::move(*cpus);
            request.best_effort_queue = options.best_effort_queue;
            request.best_effort_nice = options.best_effort_nice;
            request.persist = options.persist;
            request.mode_required = requested != XdpMode::automatic;
            persist_ = options.persist;
            Result<std::unique_ptr<XdpAttachment>> attached = XdpAttachment::attach(request, *log_);
            if (!attached) {
                // busy fails even auto: the socket-path fallback is for an interface or kernel without XDP, not
                // for one whose XDP belongs to another program (its owner must decide; docs/coexistence.md).
                if (requested != XdpMode::automatic || attached.code() == ErrorCode::busy) {
                    sockets_.reset();
                    return attached.status();
                }
                log_->warn("XDP unavailable on {} ({}): strict topics are served by the socket path",
                           interface_.name, attached.message());
                socket_fallback_warned_ = true;
            } else {
                xdp_ = std::move(*attached);
                // Started here, while this thread holds CAP_NET_ADMIN; without it the peers' drops are not exported.
                Result<std::unique_ptr<VethPeerCounters>> peer_counters = VethPeerCounters::start(log_);
                if (peer_counters)
                    peer_counters_ = std::move(*peer_counters);
                else
                    log_->warn("veth ring-full drops (counted on the peers) are not exported: {}",
                               peer_counters.message());
                // Until the maps are filled the router takes nothing: every frame goes up to the socket path.
                // Reused maps: the watcher's first fill replaces whatever the earlier tempos-mom wrote.
                Result<std::unique_ptr<LocalAddressWatcher>> local =
                    LocalAddressWatcher::start(interface_.ifindex, listen_addresses(channel),
                                               DestinationTable(xdp_->local_destinations_fd()), log_);
                if (!local) {
                    xdp_.reset();
                    sockets_.reset();
                    return local.status();
                }
                local_ = std::move(*local);
                Result<std::unique_ptr<NeighbourResolver>> neighbours =
                    NeighbourResolver::start([this] { neighbours_changed(); }, log_);
                if (!neighbours) {
                    local_.reset();
                    xdp_.reset();
                    sockets_.reset();
                    return neighbours.status();
                }
                neighbours_ = std::move(*neighbours);
                log_->info("XDP router attached to {} (ifindex {}) in {} mode with {}, port {}, source address {}, "
                           "best-effort CPUs \"{}\" (queue {})",
                           interface_.name, interface_.ifindex, to_string(xdp_->mode()), to_string(xdp_->method()),
                           channel.port, format_ip(request.mom_ipv4), format_cpu_list(request.best_effort_cpus),
                           request.best_effort_queue);
                if (Status fanout = attach_fanout(channel, requested, request.mom_ipv4); !fanout) {
                    neighbours_.reset();
                    local_.reset();
                    xdp_.reset();
                    sockets_.reset();
                    return fanout;
                }
                take_over_topics();
                if (!persist_ && !xdp_->pin_dir().empty()) {
                    // Taken over without a gap; without persist nothing stays pinned: the router leaves with this
                    // process again.
                    const Result<std::vector<std::string>> released = release_pins(interface_.name);
                    if (released)
                        log_->info("persist is off: the {} pin(s) under {} are removed; the router leaves with "
                                   "this process",
                                   released->size(), xdp_->pin_dir().string());
                    else
                        log_->warn("persist is off, but the pins under {} could not be removed: {}",
                                   xdp_->pin_dir().string(), released.message());
                } else if (persist_) {
                    log_->info("persist: the router's link and maps are pinned under {}; it stays attached and "
                               "routing when tempos-mom stops (release: tempos-mom --release-pins {})",
                               xdp_->pin_dir().string(), interface_.name);
                }
            }
        } else {
            log_->info("xdp_mode off: every topic is served by the socket path");
        }
        state_ = State::connected;
        return Status::ok();
    });
}

// The configured set, each CPU online; or the default for this interface (best_effort_cpus.hpp).
Result<CpuSet> XdpAdapter::best_effort_cpus(const AdapterOptions& options) const {
    if (!options.best_effort_cpus) return default_best_effort_cpus(interface_.name);
    const int possible = libbpf_num_possible_cpus();
    for (unsigned cpu : *options.best_effort_cpus)
        if (possible > 0 && cpu >= static_cast<unsigned>(possible))
            return Status::error(ErrorCode::invalid_argument,
                                 "best_effort_cpus: CPU " + std::to_string(cpu) + " does not exist (this machine has " +
                                     std::to_string(possible) + ")");
    return *options.best_effort_cpus;
}

// The same failure policy as XDP: an explicit mode fails connect(), auto warns and leaves multi-group strict
// topics to the socket path.
Status XdpAdapter::attach_fanout(const ChannelConfig& channel, XdpMode requested, const Ipv4& mom_ipv4) {
    FanoutRequest request;
    request.interface = interface_.name;
    request.ifindex = interface_.ifindex;
    request.mom_port = channel.port;
    request.mom_ipv4 = mom_ipv4;
    request.mom_ipv6 = channel.mom_address6.value_or(Ipv6{});  // as the router's (connect)
    // One map for both programs: the router counts a topic in it as handed over (TEMPOS_PASS_FANOUT).
    request.shared_routes_fd = xdp_->fanout_routes_fd();
    request.shared_local_destinations_fd = xdp_->local_destinations_fd();
    request.pin_dir = xdp_->pin_dir();
    request.persist = persist_;
    Result<std::unique_ptr<FanoutAttachment>> attached = FanoutAttachment::attach(request, *log_);
    if (!attached) {
        if (requested != XdpMode::automatic) return attached.status();
        log_->warn("kernel fan-out unavailable on {} ({}): strict topics with several groups are served by the "
                   "socket path",
                   interface_.name, attached.message());
        return Status::ok();
    }
    fanout_ = std::move(*attached);
    log_->info("TC fan-out program attached to {} (tcx ingress)", interface_.name);
    return Status::ok();
}

// The kernel state reused from pins (docs/restart.md): its routes keep serving until configure_qos replaces them
// or remove_topic drops them (tempos-mom removes every topic its configuration does not name).
void XdpAdapter::take_over_topics() {
    if (!xdp_->adopted()) return;
    in_kernel_ = xdp_->topics_with_routes();
    if (fanout_) in_fanout_ = xdp_->topics_with_fanout_routes();
    adopted_ = xdp_->topics_with_state();
    log_->info("took over the data plane pinned at {}: {} topic(s) with state ({} routed, {} fanned out); routes, "
               "counters and round-robin cursors go on",
               xdp_->pin_dir().string(), adopted_.count(), in_kernel_.count(), in_fanout_.count());
}

Result<EgressPort> XdpAdapter::egress_for(const Endpoint& subscriber) {
    const Result<int> ifindex = route_output_ifindex(endpoint_address(subscriber));
    if (!ifindex) return ifindex.status();
    // 0 = leave through the interface the frame arrived on (XDP_TX), see xdp_abi.h.
    if (*ifindex == interface_.ifindex) return EgressPort{0, interface_.mac};
    const Result<InterfaceInfo> info = query_interface(*ifindex);
    if (!info) return info.status();
    if (egress_interfaces_.count(*ifindex) || vlan_egresses_.count(*ifindex)) return EgressPort{*ifindex, info->mac};
    // A VLAN sub-interface: the router tags the frame itself and hands it to the lower device
    // (bpf/egress_vlan.h), which is what needs a place in egress_ports (a VLAN device has no XDP transmit).
    int device = *ifindex;
    std::string device_name = info->name;
    const Result<std::optional<VlanLink>> vlan = query_vlan(*ifindex);
    if (!vlan) return vlan.status();
    if (*vlan) {
        const Result<std::optional<VlanLink>> stacked = query_vlan((*vlan)->lower_ifindex);
        if (!stacked) return stacked.status();
        if (*stacked) {
            // Two tags on egress (a VLAN device on a VLAN device): the router writes one. Out of egress_ports, so
            // the router passes these events (no_egress) and the socket path sends them through the kernel.
            log_->warn("{} is a VLAN device on the VLAN device {}: the router writes one tag only; events for "
                       "subscribers behind it are served by the socket path (counted as no_egress)",
                       info->name, (*vlan)->lower_ifindex);
            vlan_egresses_.insert(*ifindex);
            return EgressPort{*ifindex, info->mac};
        }
        tempos_egress_vlan entry{};
        entry.lower_ifindex = static_cast<__u32>((*vlan)->lower_ifindex);
        entry.tpid = htons((*vlan)->tpid);
        entry.tci = htons((*vlan)->vid);
        if (Status set = xdp_->set_egress_vlan(*ifindex, entry); !set) return set;
        vlan_egresses_.insert(*ifindex);
        device = (*vlan)->lower_ifindex;
        if (device == interface_.ifindex || egress_interfaces_.count(device)) return EgressPort{*ifindex, info->mac};
        const Result<InterfaceInfo> lower = query_interface(device);
        if (!lower) return lower.status();
        device_name = lower->name;
    }
    // Native redirect into a veth whose peer cannot receive it would drop every frame. Such a port stays out of
    // egress_ports: the router passes those events up (counted as no_egress) and the socket path delivers them.
    const InterfaceFacts facts = interface_facts(device_name, device);
    if (xdp_->mode() == XdpMode::native && !native_transmit_delivers(facts)) {
        log_->warn("native XDP cannot redirect into veth {}: {}; events for subscribers behind it are served by the "
                   "socket path (counted as no_egress)",
                   device_name, peer_problem(facts));
    } else if (Status added = xdp_->add_egress_port(device); !added) {
        return added;
    }
    egress_interfaces_[device] = device_name;
    return EgressPort{*ifindex, info->mac};
}

// A subscriber without a configured MAC: the neighbour resolver's answer (ARP or NDP), or none yet (the route
// entry then leaves it to bpf_fib_lookup, which refuses while forwarding is off: the event takes the socket path,
// counted).
std::optional<Mac> XdpAdapter::neighbour_mac(const Endpoint& subscriber) {
    return neighbours_ ? neighbours_->mac_of(endpoint_address(subscriber)) : std::nullopt;
}

void XdpAdapter::note_macless(const TopicConfig& topic) {
    if (has_macless_member(topic))
        macless_topics_[topic.id] = topic;
    else
        macless_topics_.erase(topic.id);
}

// On the resolver's thread: a neighbour was learnt, changed or lost. Each topic that depends on one is written
// again, replacing its route atomically (route_table.hpp, fanout_table.hpp).
void XdpAdapter::neighbours_changed() noexcept {
    try {
        std::shared_lock lifecycle(lifecycle_);
        std::lock_guard control(control_);
        if (state_ != State::connected || !neighbours_) return;  // closing: stop_neighbour_resolver() waits
        const std::map<std::uint8_t, TopicConfig> topics = macless_topics_;
        for (const auto& [id, topic] : topics) {
            const Status rewritten = in_kernel_.test(id)    ? route_in_kernel(topic)
                                     : in_fanout_.test(id) ? fan_out_in_kernel(topic)
                                                           : Status::ok();
            if (!rewritten) log_->warn("topic {}: route not rewritten after a neighbour change: {}", id, rewritten.message());
        }
    } catch (const std::exception& e) {
        if (log_) log_->error("rewriting routes after a neighbour change: {}", e.what());
    } catch (...) {
    }
}

// The resolver's thread may be waiting in neighbours_changed() for the locks: it is taken out under them and
// stopped with none held, before close() takes the lifecycle lock exclusively.
void XdpAdapter::stop_neighbour_resolver() {
    std::unique_ptr<NeighbourResolver> neighbours;
    {
        std::shared_lock lifecycle(lifecycle_);
        std::lock_guard control(control_);
        neighbours = std::move(neighbours_);
    }
    neighbours.reset();
}

Status XdpAdapter::route_in_kernel(const TopicConfig& topic, Staged* staged) {
    const Result<tempos_route> route =
        translate_group(topic.groups.front(), [this](const Endpoint& e) { return egress_for(e); },
                        [this](const Endpoint& e) { return neighbour_mac(e); });
    if (!route) return route.status().prefixed("topic " + std::to_string(topic.id));
    if (staged) {
        Result<UniqueFd> inner = xdp_->routes().prepare(topic.id, *route);
        if (!inner) return inner.status();
        staged->routes.push_back(Staged::Publish{staged->index, std::move(*inner)});
        return Status::ok();
    }
    if (Status set = xdp_->routes().set(topic.id, *route); !set) return set;
    routed_in_kernel(topic);
    return Status::ok();
}

void XdpAdapter::routed_in_kernel(const TopicConfig& topic) {
    in_kernel_.set(topic.id);
    note_macless(topic);
}

Status XdpAdapter::fan_out_in_kernel(const TopicConfig& topic, Staged* staged) {
    const Result<std::vector<tempos_route>> routes =
        translate_fanout(topic, [this](const Endpoint& e) { return egress_for(e); },
                         [this](const Endpoint& e) { return neighbour_mac(e); });
    if (!routes) return routes.status();
    if (staged) {
        Result<UniqueFd> inner = fanout_->table().prepare(topic.id, *routes);
        if (!inner) return inner.status();
        staged->fanouts.push_back(Staged::Publish{staged->index, std::move(*inner)});
        return Status::ok();
    }
    if (Status set = fanout_->table().set(topic.id, *routes); !set) return set;
    fanned_out_in_kernel(topic);
    return Status::ok();
}

void XdpAdapter::fanned_out_in_kernel(const TopicConfig& topic) {
    in_fanout_.set(topic.id);
    note_macless(topic);
}

// While a topic is in neither program (moving between the XDP route and the fan-out, or leaving the kernel),
// its events reach the socket path, which serves every group correctly. With `staged`, the slot is emptied later
// with the call's other removals (apply_staged), still before any of the call's routes is published.
Status XdpAdapter::remove_from_xdp(std::uint8_t topic, Staged* staged) {
    if (!xdp_ || !in_kernel_.test(topic)) return Status::ok();
    if (staged) {
        staged->clears.push_back(Staged::Clear{staged->index, Staged::Map::routes, xdp_->routes().slot(topic)});
        return Status::ok();
    }
    if (Status removed = xdp_->routes().remove(topic); !removed) return removed;
    removed_from(Staged::Map::routes, topic);
    return Status::ok();
}

Status XdpAdapter::remove_from_fanout(std::uint8_t topic, Staged* staged) {
    if (!fanout_ || !in_fanout_.test(topic)) return Status::ok();
    if (staged) {
        staged->clears.push_back(Staged::Clear{staged->index, Staged::Map::fanout, fanout_->table().slot(topic)});
        return Status::ok();
    }
    if (Status removed = fanout_->table().remove(topic); !removed) return removed;
    removed_from(Staged::Map::fanout, topic);
    return Status::ok();
}

void XdpAdapter::removed_from(Staged::Map map, std::uint8_t topic) {
    if (map == Staged::Map::limits) return;
    (map == Staged::Map::routes ? in_kernel_ : in_fanout_).reset(topic);
    macless_topics_.erase(topic);
}

Status XdpAdapter::remove_from_kernel(std::uint8_t topic, Staged* staged) {
    if (Status removed = remove_from_xdp(topic, staged); !removed) return removed;
    return remove_from_fanout(topic, staged);
}

// A control-plane call: at the plugin boundary, under the shared lifecycle lock and the control mutex, on a
// connected adapter only.
template <typename Body>
Status XdpAdapter::control_call(const char* operation, Body&& body) noexcept {
    return at_boundary(operation, [&]() -> Status {
        std::shared_lock lifecycle(lifecycle_);
        std::lock_guard control(control_);
        if (Status s = state_error(); !s) return s;
        return body();
    });
}

Status XdpAdapter::configure_qos(const TopicConfig& topic) noexcept {
    return control_call("configure_qos", [&]() -> Status { return configure_one(topic, nullptr); });
}

// One topic's configure_qos. With `staged`, what goes into a map-in-map (limit, fan-out route, route, or their
// removal) is left in `staged` for configure_topics to write with the other topics'; the rest takes effect here.
Status XdpAdapter::configure_one(const TopicConfig& topic, Staged* staged) {
    if (Status valid = check_topic(topic); !valid) return valid;

    // The socket path always knows every topic: it serves best-effort topics and whatever the kernel passes
    // up (e.g. a strict event whose subscriber has no neighbour entry yet).
    sockets_->set_topic(topic);
    configured_.set(topic.id);
    adopted_.reset(topic.id);

    const bool strict = topic.qos == Qos::strict;
    // Before any route: a strict topic the router does not serve must never take the best-effort CPUs.
    if (xdp_) {
        if (Status classified = xdp_->set_topic_class(topic.id, strict); !classified) return classified;
        if (Status limited = set_limit(topic, staged); !limited) return limited;
    } else if (topic.rate_limit) {
        warn_limits_not_enforced();
    }
    // An update within the same program replaces the route atomically (no gap); a move between the XDP route
    // and the fan-out first removes the topic from the program that served it.
    if (strict && xdp_ && topic.groups.size() == 1) {
        if (Status removed = remove_from_fanout(topic.id, staged); !removed) return removed;
        if (Status routed = route_in_kernel(topic, staged); !routed) return routed;
        if (!staged)
            log_->debug("topic {}: strict, {} subscribers, routed in the kernel", topic.id,
                        topic.groups.front().members.size());
        return Status::ok();
    }
    if (strict && fanout_ && topic.groups.size() > 1) {
        if (Status removed = remove_from_xdp(topic.id, staged); !removed) return removed;
        if (Status fanned = fan_out_in_kernel(topic, staged); !fanned) return fanned;
        log_->debug("topic {}: strict, {} subscription groups, fanned out in the kernel", topic.id,
                    topic.groups.size());
        return Status::ok();
    }
    if (Status removed = remove_from_kernel(topic.id, staged); !removed) return removed;
    if (strict && xdp_ && topic.groups.size() > 1) {
        log_->warn(
            "topic {}: strict with {} subscription groups and no kernel fan-out; served by the socket path",
            topic.id, topic.groups.size());
    } else if (strict && !xdp_ && !socket_fallback_warned_) {
        log_->warn("xdp_mode off: strict topics (first: {}) are served by the socket path", topic.id);
        socket_fallback_warned_ = true;
    }
    return Status::ok();
}

// The topic's limit (none: its slot emptied). With `staged`, left for apply_staged; a slot already empty needs no
// removal (and a lookup waits for no grace period).
Status XdpAdapter::set_limit(const TopicConfig& topic, Staged* staged) {
    if (!staged) return xdp_->admission().set(topic.id, topic.rate_limit);
    if (topic.rate_limit) {
        Result<UniqueFd> inner = xdp_->admission().prepare(topic.id, *topic.rate_limit);
        if (!inner) return inner.status();
        staged->limits.push_back(Staged::Publish{staged->index, std::move(*inner)});
        return Status::ok();
    }
    const Result<bool> held = xdp_->admission().holds(topic.id);
    if (!held) return held.status();
    if (*held)
        staged->clears.push_back(Staged::Clear{staged->index, Staged::Map::limits, xdp_->admission().slot(topic.id)});
    return Status::ok();
}

// Every topic as configure_qos would, except that what goes into the map-in-maps is written together at the end:
// a resync of many topics pays a bounded number of RCU grace periods (map_ops.hpp), not one or more per topic. A
// topic with something staged reads as failed until all of it is written, so that an exception on the way leaves
// nothing the host believes done and is not.
Status XdpAdapter::configure_topics(std::span<const TopicConfig> topics, std::span<Status> results) noexcept {
    return control_call("configure_topics", [&]() -> Status {
        if (results.size() != topics.size())
            return Status::error(ErrorCode::internal, "configure_topics: " + std::to_string(results.size()) +
                                                          " results for " + std::to_string(topics.size()) + " topics");
        Staged staged;
        for (std::size_t i = 0; i < topics.size(); ++i) {
            staged.index = i;
            results[i] = configure_one(topics[i], &staged);
        }
        apply_staged(topics, staged, results);
        for (const Status& result : results)
            if (!result) return result;
        return Status::ok();
    });
}

// In configure_qos's order for each topic (its limit, its old slots emptied, its fan-out route or route): one
// batched update of topic_limits, then every removal at once (its limit's too), then one batched update of
// fanout_routes and of topic_routes. A topic whose write fails gets that error and none of its later writes
// (configure_qos would have stopped there); the others go on. The writes of a topic whose configure_one failed
// after staging them still happen, as configure_qos made them before failing.
void XdpAdapter::apply_staged(std::span<const TopicConfig> topics, Staged& staged, std::span<Status> results) {
    std::vector<bool> configured(topics.size()), stopped(topics.size());
    for (std::size_t i = 0; i < topics.size(); ++i) configured[i] = results[i].is_ok();
    auto pending = [&](std::size_t index) {
        if (configured[index])
            results[index] = Status::error(ErrorCode::internal,
                                           "topic " + std::to_string(topics[index].id) + ": not written to the kernel");
    };
    for (const Staged::Clear& clear : staged.clears) pending(clear.index);
    for (const auto* list : {&staged.limits, &staged.fanouts, &staged.routes})
        for (const Staged::Publish& publish : *list) pending(publish.index);
    auto failed = [&](std::size_t index, const Status& why) {
        results[index] = why;
        configured[index] = false;
        stopped[index] = true;
    };

    // One map's staged inner maps, published with one batched update; the kernel stops at a slot it refuses: that
    // topic fails, the batch goes on after it.
    auto publish_all = [&](const std::vector<Staged::Publish>& list, auto&& publish, auto&& published_one) {
        std::vector<std::size_t> indexes;
        std::vector<std::uint32_t> keys;
        std::vector<int> fds;
        for (const Staged::Publish& staged_map : list) {
            if (stopped[staged_map.index]) continue;
            indexes.push_back(staged_map.index);
            keys.push_back(topics[staged_map.index].id);
            fds.push_back(staged_map.inner.get());
        }
        std::size_t next = 0;
        while (next < keys.size()) {
            std::uint32_t published = 0;
            const Status status = publish(std::span(keys).subspan(next), std::span(fds).subspan(next), published);
            for (std::size_t i = next; i < next + published && i < keys.size(); ++i) published_one(topics[indexes[i]]);
            next += published;
            if (status) break;
            if (next < keys.size()) failed(indexes[next], status);
            ++next;
        }
    };
    publish_all(
        staged.limits,
        [&](auto keys, auto fds, std::uint32_t& published) { return xdp_->admission().publish(keys, fds, published); },
        [](const TopicConfig&) {});
    std::vector<const Staged::Clear*> clears;
    std::vector<SlotToClear> slots;
    for (const Staged::Clear& clear : staged.clears) {
        if (stopped[clear.index]) continue;
        clears.push_back(&clear);
        slots.push_back(clear.slot);
    }
    std::vector<Status> cleared(slots.size());
    clear_slots(slots, cleared);
    for (std::size_t k = 0; k < clears.size(); ++k) {
        if (cleared[k])
            removed_from(clears[k]->map, topics[clears[k]->index].id);
        else if (!stopped[clears[k]->index])
            failed(clears[k]->index, cleared[k]);
    }

    if (fanout_)
        publish_all(
            staged.fanouts,
            [&](auto keys, auto fds, std::uint32_t& published) {
                return fanout_->table().publish(keys, fds, published);
            },
            [&](const TopicConfig& topic) { fanned_out_in_kernel(topic); });
    publish_all(
        staged.routes,
        [&](auto keys, auto fds, std::uint32_t& published) { return xdp_->routes().publish(keys, fds, published); },
        [&](const TopicConfig& topic) { routed_in_kernel(topic); });

    for (std::size_t i = 0; i < topics.size(); ++i)
        if (configured[i]) results[i] = Status::ok();
    log_->debug("configure_topics: {} removal(s), {} limit(s), {} fan-out route(s), {} route(s) written in the kernel",
                staged.clears.size(), staged.limits.size(), staged.fanouts.size(), staged.routes.size());
}

Status XdpAdapter::remove_topic(std::uint8_t topic) noexcept {
    return control_call("remove_topic", [&]() -> Status {
        // A topic neither configured nor taken over has no kernel state to reset (and each reset of an array of
        // maps costs an RCU grace period).
        if (!configured_.test(topic) && !adopted_.test(topic)) {
            sockets_->remove_topic(topic);
            return Status::ok();
        }
        if (Status removed = remove_from_kernel(topic); !removed) return removed;
        if (xdp_) {
            if (Status classified = xdp_->set_topic_class(topic, false); !classified) return classified;
            if (Status limited = xdp_->admission().set(topic, std::nullopt); !limited) return limited;
        }
        sockets_->remove_topic(topic);
        configured_.reset(topic);
        adopted_.reset(topic);
        return Status::ok();
    });
}

// remove_topic for each topic, in its order (out of the programs, then not strict, then no limit), each step for
// every topic at once: two waves of removals (clear_slots) instead of one or two grace periods per topic.
Status XdpAdapter::remove_topics(std::span<const std::uint8_t> topics, std::span<Status> results) noexcept {
    return control_call("remove_topics", [&]() -> Status {
        if (results.size() != topics.size())
            return Status::error(ErrorCode::internal, "remove_topics: " + std::to_string(results.size()) +
                                                          " results for " + std::to_string(topics.size()) + " topics");
        std::vector<std::size_t> known;  // topics with state to reset, as indexes in `topics`
        for (std::size_t i = 0; i < topics.size(); ++i) {
            results[i] = Status::ok();
            if (configured_.test(topics[i]) || adopted_.test(topics[i]))
                known.push_back(i);
            else
                sockets_->remove_topic(topics[i]);
        }
        // Empties the slots with `clears` (topic index, map, slot), the failures in `results`.
        auto clear = [&](const std::vector<Staged::Clear>& clears) {
            std::vector<SlotToClear> slots;
            for (const Staged::Clear& c : clears) slots.push_back(c.slot);
            std::vector<Status> cleared(slots.size());
            clear_slots(slots, cleared);
            for (std::size_t k = 0; k < clears.size(); ++k) {
                if (cleared[k])
                    removed_from(clears[k].map, topics[clears[k].index]);
                else if (results[clears[k].index])
                    results[clears[k].index] = cleared[k];
            }
        };
        std::vector<Staged::Clear> programs;
        for (const std::size_t i : known) {
            if (xdp_ && in_kernel_.test(topics[i]))
                programs.push_back({i, Staged::Map::routes, xdp_->routes().slot(topics[i])});
            if (fanout_ && in_fanout_.test(topics[i]))
                programs.push_back({i, Staged::Map::fanout, fanout_->table().slot(topics[i])});
        }
        clear(programs);
        std::vector<Staged::Clear> limits;
        for (const std::size_t i : known) {
            if (!xdp_ || !results[i]) continue;
            if (Status classified = xdp_->set_topic_class(topics[i], false); !classified) {
                results[i] = classified;
                continue;
            }
            const Result<bool> held = xdp_->admission().holds(topics[i]);
            if (!held)
                results[i] = held.status();
            else if (*held)
                limits.push_back({i, Staged::Map::limits, xdp_->admission().slot(topics[i])});
        }
        clear(limits);
        for (const std::size_t i : known) {
            if (!results[i]) continue;
            sockets_->remove_topic(topics[i]);
            configured_.reset(topics[i]);
            adopted_.reset(topics[i]);
        }
        for (const Status& result : results)
            if (!result) return result;
        return Status::ok();
    });
}

Status XdpAdapter::configure_publisher_limit(const std::optional<RateLimit>& limit) noexcept {
    return control_call("configure_publisher_limit", [&]() -> Status {
        if (limit) {
            if (Status valid = AdmissionTable::validate(*limit); !valid) return valid.prefixed("publisher limit");
        }
        if (!xdp_) {
            if (limit) warn_limits_not_enforced();
            return Status::ok();
        }
        return xdp_->admission().set(TEMPOS_PUBLISHER_LIMIT_SLOT, limit);
    });
}

// Admission control lives in the XDP router: without it nothing is policed. Said once.
void XdpAdapter::warn_limits_not_enforced() {
    if (limits_warned_) return;
    limits_warned_ = true;
    log_->warn("rate limits need the XDP router, which is not attached: they are not enforced");
}

Status XdpAdapter::send(std::uint8_t topic, std::span<const std::uint8_t> payload) noexcept {
    return at_boundary("send", [&]() -> Status {
        std::shared_lock lifecycle(lifecycle_);
        if (state_ != State::connected) return state_error();
        return sockets_->send(topic, payload);
    });
}

// An exception while collecting (out of memory) yields what the mode alone says; the host keeps running.
AdapterStats XdpAdapter::stats() const noexcept {
    try {
        return collect_stats();
    } catch (...) {
        return AdapterStats{};
    }
}

AdapterStats XdpAdapter::collect_stats() const {
    std::shared_lock lifecycle(lifecycle_);
    std::lock_guard control(control_);
    AdapterStats stats;
    stats.mode = xdp_ ? std::string(to_string(xdp_->mode())) : "off";
    if (state_ != State::connected) return stats;
    sockets_->collect_queued_errors();
    for (unsigned id = 0; id < TEMPOS_MAX_TOPICS; ++id) {
        TopicStats topic;
        topic.topic = static_cast<std::uint8_t>(id);
        if (xdp_) {
            if (const Result<tempos_topic_counters> kernel = xdp_->routes().read_counters(id))
                add_kernel_counters(topic, *kernel);
            else
                log_->warn("topic {}: kernel counters unreadable: {}", id, kernel.message());
        }
        if (fanout_ && in_fanout_.test(id)) {
            const Result<tempos_fanout_topic_counters> totals = fanout_->table().read_topic_counters(topic.topic);
            std::array<tempos_fanout_group_counters, TEMPOS_MAX_FANOUT_GROUPS> groups{};
            Status read = totals.status();
            for (std::uint32_t g = 0; read && g < groups.size(); ++g) {
                const Result<tempos_fanout_group_counters> group = fanout_->table().read_group_counters(topic.topic, g);
                read = group.status();
                if (group) groups[g] = *group;
            }
            if (read)
                add_fanout_counters(topic, *totals, groups);
            else
                log_->warn("topic {}: fan-out counters unreadable: {}", id, read.message());
        }
        add_socket_counters(topic, sockets_->counters(topic.topic));
        if (configured_.test(id) || adopted_.test(id) || has_traffic(topic)) stats.topics.push_back(topic);
    }
    if (xdp_) {
        std::map<int, std::string> devices = egress_interfaces_;
        devices[interface_.ifindex] = interface_.name;
        std::vector<int> veths;
        std::map<int, std::size_t> veth_device;  // ifindex -> its entry in stats.devices
        for (const auto& [ifindex, name] : devices) {
            const Result<DeviceDrops> drops = device_drops(name, ifindex);
            if (!drops) {
                log_->warn("device {}: drop counters unreadable: {}", name, drops.message());
                continue;
            }
            if (drops->veth) {
                veths.push_back(ifindex);
                veth_device[ifindex] = stats.devices.size();
            }
            stats.devices.push_back(DeviceStats{name, drops->xdp_errors, drops->tx_dropped, {}, std::nullopt});
        }
        if (peer_counters_ && !veths.empty()) {
            for (const auto& [ifindex, peer] : peer_counters_->read(veths)) {
                DeviceStats& device = stats.devices[veth_device.at(ifindex)];
                if (peer) {
                    device.peer = peer->peer;
                    device.peer_tx_dropped = peer->tx_dropped;
                } else if (peer_unreadable_logged_.insert(device.interface).second) {
                    log_->warn("device {}: its veth peer's drops (frames its full receive ring refused) are not "
                               "exported: {}", device.interface, peer.message());
                }
            }
        }
    }
    return stats;
}

// With the router attached, a reload publishes routes, limits and fan-out groups in fresh inner maps
// (bpf_map_create: CAP_BPF, as kernel.unprivileged_bpf_disabled refuses it otherwise); through libxdp, close()
// finds its program by id (bpf_prog_get_fd_by_id: CAP_SYS_ADMIN) and detaches it over netlink (CAP_NET_ADMIN),
// without which the router would stay on the interface. Links (XDP bpf_link, tcx) leave when their fd closes, and map updates
// through held fds need nothing: xdp_mode off keeps no capability at all.
std::uint64_t XdpAdapter::capabilities_kept() const noexcept {
    try {
        std::shared_lock lifecycle(lifecycle_);
        if (!xdp_) return 0;
        std::uint64_t kept = std::uint64_t{1} << CAP_BPF;
        if (xdp_->method() == XdpAttachMethod::libxdp)
            kept |= (std::uint64_t{1} << CAP_NET_ADMIN) | (std::uint64_t{1} << CAP_SYS_ADMIN);
        return kept;
    } catch (...) {
        // Unknown: keep what libxdp would need.
        return (std::uint64_t{1} << CAP_BPF) | (std::uint64_t{1} << CAP_NET_ADMIN) | (std::uint64_t{1} << CAP_SYS_ADMIN);
    }
}

// Whatever throws while releasing (the logger), the adapter ends closed.
void XdpAdapter::close() noexcept {
    try {
        release();
    } catch (...) {
        state_ = State::closed;
    }
}

void XdpAdapter::release() {
    stop_neighbour_resolver();
    std::unique_lock lifecycle(lifecycle_);
    if (state_ == State::closed) return;
    const bool was_connected = state_ == State::connected;
    const bool pinned = xdp_ && persist_;
    fanout_.reset();  // closes the tcx link: the TC program leaves the interface (unless pinned)
    local_.reset();   // stops the address watcher before the maps it writes go away
    peer_counters_.reset();
    macless_topics_.clear();
    xdp_.reset();     // closes the link: the program leaves the interface (unless pinned)
    sockets_.reset();
    configured_.reset();
    in_kernel_.reset();
    in_fanout_.reset();
    adopted_.reset();
    egress_interfaces_.clear();
    vlan_egresses_.clear();
    state_ = State::closed;
    if (was_connected && pinned)
        log_->info("closed; persist: the router stays attached to {} and keeps routing on its last routes",
                   interface_.name);
    else if (was_connected)
        log_->info("closed");
    log_->flush();
    log_.reset();
}

}  // namespace tempos::xdp
