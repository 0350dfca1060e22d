// The XDP router in the kernel: loads the embedded skeleton, sets its load-time constants and attaches it
// through the configured method (xdp_hook.hpp). With a bpf_link (the default) the link fd belongs to this process
// and is never pinned, so the program leaves the interface when the object is destroyed or the process dies (even
// by SIGKILL): no blackhole. Through libxdp it leaves when the object is destroyed, not when the process is killed
// (docs/coexistence.md).
#pragma once

#include <bitset>
#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "adapter_options.hpp"
#include "admission_table.hpp"
#include "best_effort_cpus.hpp"
#include "route_table.hpp"
#include "tempos/adapter.hpp"
#include "xdp_hook.hpp"
#include "xdp_mode.hpp"

struct tempos_router;

namespace tempos::xdp {

struct AttachRequest : ProgramRequest {
    XdpMode mode = XdpMode::automatic;  // automatic, native or generic
    XdpAttachMethod attach = XdpAttachMethod::link;
    std::optional<unsigned> priority;   // libxdp's run priority
    CpuSet best_effort_cpus;            // the cpumap's CPUs (docs/isolation.md); empty: best-effort passes
    std::uint32_t best_effort_queue = 2048;
    int best_effort_nice = 0;           // the cpumap threads' nice value (cpumap_threads.hpp); 0: left alone
    // Whatever `persist` says, a set pinned by an earlier tempos-mom of this schema is taken over (maps reused,
    // program swapped into its link); without persist the caller then removes the pins (release_pins), so the
    // router leaves with this process again.
    bool mode_required = false;  // mode was asked for explicitly (native, generic): a pinned link in another is refused
};

class XdpAttachment {
public:
    // On success mode() is native or generic. Errors: busy (another XDP program holds the interface: named, left
    // attached), permission_denied (EPERM/EACCES while loading or attaching), unsupported (mode refused by the
    // interface), system_error otherwise.
    static Result<std::unique_ptr<XdpAttachment>> attach(const AttachRequest& request, spdlog::logger& log);
    ~XdpAttachment();
    XdpAttachment(const XdpAttachment&) = delete;
    XdpAttachment& operator=(const XdpAttachment&) = delete;

    XdpMode mode() const { return hook_->mode(); }
    XdpAttachMethod method() const { return hook_->method(); }
    // The schema directory whose maps and link this router uses (empty: nothing pinned).
    const std::filesystem::path& pin_dir() const { return pin_dir_; }
    // The maps came from an earlier tempos-mom's pins (routes, counters and cursors go on).
    bool adopted() const { return adopted_; }
    // Topics the maps hold state for: a route, a fan-out route, a class or a limit (all empty unless adopted()).
    std::bitset<TEMPOS_MAX_TOPICS> topics_with_routes() const;
    std::bitset<TEMPOS_MAX_TOPICS> topics_with_fanout_routes() const;
    std::bitset<TEMPOS_MAX_TOPICS> topics_with_state() const;
    int ifindex() const { return ifindex_; }
    int program_fd() const;
    // The router's fanout_routes map, which the TC fan-out program shares (bpf/fanout_routes_map.h).
    int fanout_routes_fd() const;
    // Its local_destinations map (bpf/destination.h), which the fan-out program shares too.
    int local_destinations_fd() const;
    RouteTable& routes() { return *routes_; }
    const RouteTable& routes() const { return *routes_; }
    // Allows bpf_redirect_map toward another interface (multi-NIC).
    Status add_egress_port(int ifindex);
    // Frames whose egress is VLAN sub-interface `ifindex` leave tagged `vlan.tci` on its lower device
    // (bpf/egress_vlan.h).
    Status set_egress_vlan(int ifindex, const tempos_egress_vlan& vlan);
    // What the router does with the topic when it does not route it: strict passes, best-effort (and a topic never
    // set) goes to the best-effort CPUs.
    Status set_topic_class(std::uint8_t topic, bool strict);
    const CpuSet& best_effort_cpus() const { return best_effort_cpus_; }
    AdmissionTable& admission() { return admission_; }

private:
    XdpAttachment(tempos_router* skeleton, std::unique_ptr<XdpHook> hook, int ifindex,
                  std::unique_ptr<RouteTable> routes, CpuSet best_effort_cpus, std::filesystem::path pin_dir,
                  bool adopted);

    tempos_router* skeleton_;
    std::unique_ptr<XdpHook> hook_;
    int ifindex_;
    std::unique_ptr<RouteTable> routes_;
    CpuSet best_effort_cpus_;
    AdmissionTable admission_;
    std::filesystem::path pin_dir_;
    bool adopted_;
};

}  // namespace tempos::xdp
