#include "xdp_attachment.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "best_effort_table.hpp"
#include "cpumap_threads.hpp"
#include "pin_set.hpp"
#include "skeleton.hpp"
#include "tempos/system_status.hpp"
#include "tempos/unique_fd.hpp"
#include "xdp_hook.hpp"
#include "tempos_router.skel.h"

namespace tempos::xdp {

namespace {

// A failure leaves best-effort work at the kernel's priority: isolation is weaker, nothing is lost, so the router
// still attaches, and the warning says what to grant.
void lower_best_effort_threads(int cpumap_fd, const AttachRequest& request, spdlog::logger& log) {
    if (request.best_effort_cpus.empty() || request.best_effort_nice == 0) return;
    bpf_map_info info{};
    __u32 length = sizeof(info);
    Status lowered = bpf_obj_get_info_by_fd(cpumap_fd, &info, &length) == 0
                         ? renice_cpumap_threads(info.id, request.best_effort_cpus, request.best_effort_nice)
                         : system_status("reading the best-effort cpumap's id", errno);
    if (!lowered)
        log.warn("best_effort_nice = {} not applied, the best-effort kernel threads stay at nice 0 ({}): grant "
                 "CAP_SYS_NICE, or leave best_effort_nice out (docs/isolation.md)",
                 request.best_effort_nice, lowered.message());
}

BestEffortMaps best_effort_maps(const tempos_router& skeleton) {
    return {bpf_map__fd(skeleton.maps.be_cpumap), bpf_map__fd(skeleton.maps.be_cpu_slots),
            bpf_program__fd(skeleton.progs.tempos_best_effort_entry), bpf_map__fd(skeleton.maps.topic_classes)};
}

// The router's maps that a restart keeps (docs/restart.md): routes, counters with their round-robin cursors,
// classes, limits and buckets, destinations and egress ports. Not the best-effort cpumap and its slot list: they
// hold this program's cpumap-entry program and this start's CPU set, made fresh and filled before the swap.
// (egress_ports is pinned too, by hand: see attach.)
std::vector<bpf_map*> persisted_maps(const tempos_router& skeleton) {
    const auto& m = skeleton.maps;
    return {m.topic_routes,  m.topic_counters, m.fanout_routes, m.local_destinations, m.topic_classes,
            m.topic_limits,  m.topic_buckets,  m.pub_buckets,   m.egress_vlans};
}

Status schema_mismatch(const std::string& interface, const std::filesystem::path& other) {
    return Status::error(ErrorCode::busy,
                         "a data plane pinned under another schema is at " + other.string() + " (this build's is " +
                             schema_dir_name(TEMPOS_PIN_SCHEMA) +
                             "): left serving, not reused and not removed; run the build that pinned it, or release "
                             "it with tempos-mom --release-pins " +
                             interface + " (the router leaves until the next start; docs/restart.md)");
}

// Which slots of an array (or array of maps) hold something: a slot of an array of maps is empty (ENOENT) or an
// inner map id; an array slot of __u32 counts when it is not 0.
std::bitset<TEMPOS_MAX_TOPICS> filled_slots(int fd, bool of_maps) {
    std::bitset<TEMPOS_MAX_TOPICS> filled;
    for (std::uint32_t topic = 0; topic < TEMPOS_MAX_TOPICS; ++topic) {
        std::uint32_t value = 0;
        if (bpf_map_lookup_elem(fd, &topic, &value) == 0 && (of_maps || value != 0)) filled.set(topic);
    }
    return filled;
}

}  // namespace

Result<std::unique_ptr<XdpAttachment>> XdpAttachment::attach(const AttachRequest& request, spdlog::logger& log) {
    if (request.mode == XdpMode::off)
        return Status::error(ErrorCode::invalid_argument, "xdp_mode off attaches nothing");

    // RLIMIT_MEMLOCK: libbpf 1.1 probes whether the kernel charges BPF memory to the memory cgroup (5.11+) and
    // only raises the rlimit on older kernels, where that needs CAP_SYS_RESOURCE. Nothing to do here.
    SkeletonPtr<tempos_router> skeleton(tempos_router__open(), tempos_router__destroy);
    if (!skeleton) return xdp_errno_status("opening the XDP router", errno);
    set_mom_constants(*skeleton, request.mom_port, request.mom_ipv4);
    set_mom_ipv6(*skeleton, request.mom_ipv6);
    skeleton->rodata->best_effort_cpu_count = static_cast<__u32>(request.best_effort_cpus.size());

    HookRequest hook_request{static_cast<const AttachTarget&>(request), request.mode, request.priority, {}, {}, false};
    // How the router writes a CHECKSUM_PARTIAL datagram's checksum depends on the mode (bpf/udp_csum_partial.h).
    // bss is mmapped before and after load, so this holds for both attach methods.
    tempos_router* program = skeleton.get();
    hook_request.before_attempt = [program](XdpMode mode) {
        program->bss->attached_generic = mode == XdpMode::generic ? 1 : 0;
    };
    hook_request.mode_required = request.mode_required;

    // A set this build's schema pinned is taken over even without persist (then released by the caller once
    // attached): the interface is never without a router, and a set of another schema is never touched.
    Result<PinnedSets> pinned = find_pinned_sets(request.interface);
    if (!pinned) return pinned.status().prefixed("looking for a pinned data plane");
    if (!pinned->other_schemas.empty()) return schema_mismatch(request.interface, pinned->other_schemas.front());
    // A router link whose interface is gone (its ifindex reads 0) marks the whole set as a dead interface's: a new
    // namespace can get the same inode and the interface the same name, and must not inherit its counters.
    if (pinned->own_exists) {
        UniqueFd link(bpf_obj_get((pinned->own / TEMPOS_PIN_ROUTER_LINK).c_str()));
        bpf_link_info info{};
        std::uint32_t length = sizeof(info);
        if (link.get() >= 0 && bpf_obj_get_info_by_fd(link.get(), &info, &length) == 0 && info.xdp.ifindex == 0) {
            log.warn("the data plane pinned at {} belongs to an interface that is gone (its link is detached): "
                     "removed, a fresh one is made",
                     pinned->own.string());
            if (Result<std::vector<std::string>> removed = remove_pin_dir(pinned->own); !removed)
                return removed.status().prefixed("removing the stale pinned data plane");
            pinned->own_exists = false;
        }
    }
    const bool adopting = pinned->own_exists;
    std::filesystem::path pin_dir;
    std::filesystem::path pin_after_load;  // egress_ports, when persist makes it
    if (request.persist || adopting) {
        if (request.attach == XdpAttachMethod::libxdp)
            return Status::error(ErrorCode::invalid_argument,
                                 request.persist
                                     ? "persist needs xdp_attach = \"link\": only a bpf_link can be pinned and have "
                                       "its program swapped in place (docs/restart.md)"
                                     : "a router pinned by an earlier tempos-mom (persist) holds " + request.interface +
                                           " at " + pinned->own.string() +
                                           "; xdp_attach = \"libxdp\" cannot take it over: set xdp_attach = "
                                           "\"link\", or release it with tempos-mom --release-pins " +
                                           request.interface);
        if (request.persist) {
            if (Status mounted = ensure_bpffs(); !mounted) return mounted;
            std::error_code ec;
            std::filesystem::create_directories(pinned->own, ec);
            if (ec) {
                const bool denied = ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted;
                return Status::error(denied ? ErrorCode::permission_denied : ErrorCode::system_error,
                                     "creating " + pinned->own.string() + ": " + ec.message() +
                                         (denied ? " (persist needs a bpffs directory this user may write: run "
                                                   "tempos-mom --prepare-pins USER as root first, as the systemd "
                                                   "drop-in persist.conf does; docs/restart.md)"
                                                 : ""));
            }
        }
        pin_dir = pinned->own;
        // egress_ports by hand: the kernel adds BPF_F_RDONLY_PROG to every devmap (dev_map_init_map) and refuses it
        // at creation, so libbpf's comparison of a pinned devmap with its definition always fails.
        const std::filesystem::path egress_pin = pin_dir / bpf_map__name(skeleton->maps.egress_ports);
        if (const int pinned_egress = bpf_obj_get(egress_pin.c_str()); pinned_egress >= 0) {
            const int err = bpf_map__reuse_fd(skeleton->maps.egress_ports, pinned_egress);
            ::close(pinned_egress);  // reuse_fd holds its own duplicate
            if (err != 0) return xdp_errno_status("reusing the pinned " + egress_pin.string(), err);
        } else if (errno != ENOENT) {
            return xdp_errno_status("opening the pinned " + egress_pin.string(), errno);
        } else if (request.persist) {
            pin_after_load = egress_pin;
        }
        // libbpf reuses a pinned map whose type, sizes and flags match, pins a new one otherwise absent.
        for (bpf_map* map : persisted_maps(*skeleton))
            if (const int err = bpf_map__set_pin_path(map, (pin_dir / bpf_map__name(map)).c_str()); err != 0)
                return xdp_errno_status(std::string("setting the pin path of ") + bpf_map__name(map), err);
    }
    // A fresh set is removed again if this start fails; an adopted one stays with its router serving.
    struct FreshPins {
        std::filesystem::path dir;
        ~FreshPins() {
            if (!dir.empty()) (void)remove_pin_dir(dir);
        }
    } fresh_pins{request.persist && !adopting ? pin_dir : std::filesystem::path()};

    Result<std::unique_ptr<XdpHook>> hook = Status::error(ErrorCode::internal, "no attach method");
    if (request.attach == XdpAttachMethod::libxdp) {
        hook = hook_with_libxdp(skeleton->obj, hook_request, log);  // libxdp loads the object
    } else {
        if (const int err = tempos_router__load(skeleton.get()); err != 0) {
            if (adopting)
                return xdp_errno_status("loading the XDP router with the maps pinned at " + pin_dir.string() +
                                            " (left serving; if this build's maps differ in shape under the same "
                                            "schema, release them with tempos-mom --release-pins " +
                                            request.interface + ")",
                                        err);
            return xdp_errno_status("loading the XDP router", err);
        }
        if (!pin_after_load.empty() && bpf_obj_pin(bpf_map__fd(skeleton->maps.egress_ports), pin_after_load.c_str()) != 0)
            return xdp_errno_status("pinning " + pin_after_load.string(), errno);
        const int prog_fd = bpf_program__fd(skeleton->progs.tempos_router);
        if (adopting) hook = hook_by_pinned_link(pin_dir / TEMPOS_PIN_ROUTER_LINK, prog_fd, hook_request, log);
        if (!adopting || (hook && !*hook)) {
            if (request.persist) hook_request.pin = pin_dir / TEMPOS_PIN_ROUTER_LINK;
            hook = hook_with_link(prog_fd, hook_request, log);
        }
    }
    if (!hook) return hook.status();
    // After the attach (libxdp loads the object itself): until the entries are in, a best-effort frame meets an
    // empty cpumap slot and passes (bpf/best_effort.h), so nothing is lost.
    if (Status installed = install_best_effort_cpus(best_effort_maps(*skeleton), request.best_effort_cpus,
                                                    request.best_effort_queue);
        !installed)
        return installed;
    lower_best_effort_threads(bpf_map__fd(skeleton->maps.be_cpumap), request, log);

    auto routes = std::make_unique<RouteTable>(bpf_map__fd(skeleton->maps.topic_routes),
                                               bpf_map__fd(skeleton->maps.topic_counters));
    fresh_pins.dir.clear();
    return std::unique_ptr<XdpAttachment>(
        new XdpAttachment(skeleton.release(), std::move(*hook), request.ifindex, std::move(routes),
                          request.best_effort_cpus, std::move(pin_dir), adopting));
}

XdpAttachment::XdpAttachment(tempos_router* skeleton, std::unique_ptr<XdpHook> hook, int ifindex,
                             std::unique_ptr<RouteTable> routes, CpuSet best_effort_cpus,
                             std::filesystem::path pin_dir, bool adopted)
    : skeleton_(skeleton),
      hook_(std::move(hook)),
      ifindex_(ifindex),
      routes_(std::move(routes)),
      best_effort_cpus_(std::move(best_effort_cpus)),
      admission_(bpf_map__fd(skeleton->maps.topic_limits)),
      pin_dir_(std::move(pin_dir)),
      adopted_(adopted) {}

std::bitset<TEMPOS_MAX_TOPICS> XdpAttachment::topics_with_routes() const {
    return adopted_ ? filled_slots(bpf_map__fd(skeleton_->maps.topic_routes), true) : std::bitset<TEMPOS_MAX_TOPICS>();
}

std::bitset<TEMPOS_MAX_TOPICS> XdpAttachment::topics_with_fanout_routes() const {
    return adopted_ ? filled_slots(bpf_map__fd(skeleton_->maps.fanout_routes), true) : std::bitset<TEMPOS_MAX_TOPICS>();
}

std::bitset<TEMPOS_MAX_TOPICS> XdpAttachment::topics_with_state() const {
    if (!adopted_) return {};
    return topics_with_routes() | topics_with_fanout_routes() |
           filled_slots(bpf_map__fd(skeleton_->maps.topic_classes), false) |
           filled_slots(bpf_map__fd(skeleton_->maps.topic_limits), true);
}

XdpAttachment::~XdpAttachment() {
    routes_.reset();
    hook_.reset();  // the router leaves the interface (only it: xdp_hook.hpp)
    tempos_router__destroy(skeleton_);
}

int XdpAttachment::program_fd() const { return bpf_program__fd(skeleton_->progs.tempos_router); }

int XdpAttachment::fanout_routes_fd() const { return bpf_map__fd(skeleton_->maps.fanout_routes); }

Status XdpAttachment::set_topic_class(std::uint8_t topic, bool strict) {
    return xdp::set_topic_class(best_effort_maps(*skeleton_), topic, strict);
}
int XdpAttachment::local_destinations_fd() const { return bpf_map__fd(skeleton_->maps.local_destinations); }

Status XdpAttachment::add_egress_port(int ifindex) {
    const __u32 key = static_cast<__u32>(ifindex);
    const __u32 value = key;
    if (bpf_map_update_elem(bpf_map__fd(skeleton_->maps.egress_ports), &key, &value, BPF_ANY) != 0)
        return xdp_errno_status("adding ifindex " + std::to_string(ifindex) + " to egress_ports", errno);
    return Status::ok();
}

Status XdpAttachment::set_egress_vlan(int ifindex, const tempos_egress_vlan& vlan) {
    const __u32 key = static_cast<__u32>(ifindex);
    if (bpf_map_update_elem(bpf_map__fd(skeleton_->maps.egress_vlans), &key, &vlan, BPF_ANY) != 0)
        return xdp_errno_status("adding VLAN interface " + std::to_string(ifindex) + " to egress_vlans", errno);
    return Status::ok();
}

}  // namespace tempos::xdp
