#include "xdp_attachment.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "best_effort_table.hpp"
#include "skeleton.hpp"
#include "xdp_hook.hpp"
#include "tempos_router.skel.h"

namespace tempos::xdp {

namespace {

BestEffortMaps best_effort_maps(const tempos_router& skeleton) {
    return {bpf_map__fd(skeleton.maps.be_cpumap), bpf_map__fd(skeleton.maps.be_cpu_slots),
            bpf_program__fd(skeleton.progs.tempos_best_effort_entry), bpf_map__fd(skeleton.maps.topic_classes)};
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
    skeleton->rodata->best_effort_cpu_count = static_cast<__u32>(request.best_effort_cpus.size());

    HookRequest hook_request{request.interface, request.ifindex, request.mode, request.priority, {}};
    // How the router writes a CHECKSUM_PARTIAL datagram's checksum depends on the mode (bpf/udp_csum_partial.h).
    // bss is mmapped before and after load, so this holds for both attach methods.
    tempos_router* program = skeleton.get();
    hook_request.before_attempt = [program](XdpMode mode) {
        program->bss->attached_generic = mode == XdpMode::generic ? 1 : 0;
    };
    Result<std::unique_ptr<XdpHook>> hook = Status::error(ErrorCode::internal, "no attach method");
    if (request.attach == XdpAttachMethod::libxdp) {
        hook = hook_with_libxdp(skeleton->obj, hook_request, log);  // libxdp loads the object
    } else {
        if (const int err = tempos_router__load(skeleton.get()); err != 0)
            return xdp_errno_status("loading the XDP router", err);
        hook = hook_with_link(bpf_program__fd(skeleton->progs.tempos_router), hook_request, log);
    }
    if (!hook) return hook.status();
    // After the attach (libxdp loads the object itself): until the entries are in, a best-effort frame meets an
    // empty cpumap slot and passes (bpf/best_effort.h), so nothing is lost.
    if (Status installed = install_best_effort_cpus(best_effort_maps(*skeleton), request.best_effort_cpus,
                                                    request.best_effort_queue);
        !installed)
        return installed;

    auto routes = std::make_unique<RouteTable>(bpf_map__fd(skeleton->maps.topic_routes),
                                               bpf_map__fd(skeleton->maps.topic_counters));
    return std::unique_ptr<XdpAttachment>(
        new XdpAttachment(skeleton.release(), std::move(*hook), request.ifindex, std::move(routes),
                          request.best_effort_cpus));
}

XdpAttachment::XdpAttachment(tempos_router* skeleton, std::unique_ptr<XdpHook> hook, int ifindex,
                             std::unique_ptr<RouteTable> routes, CpuSet best_effort_cpus)
    : skeleton_(skeleton),
      hook_(std::move(hook)),
      ifindex_(ifindex),
      routes_(std::move(routes)),
      best_effort_cpus_(std::move(best_effort_cpus)),
      admission_(bpf_map__fd(skeleton->maps.topic_limits)) {}

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
int XdpAttachment::local_macs_fd() const { return bpf_map__fd(skeleton_->maps.local_macs); }

int XdpAttachment::local_ipv4_fd() const { return bpf_map__fd(skeleton_->maps.local_ipv4); }

Status XdpAttachment::add_egress_port(int ifindex) {
    const __u32 key = static_cast<__u32>(ifindex);
    const __u32 value = key;
    if (bpf_map_update_elem(bpf_map__fd(skeleton_->maps.egress_ports), &key, &value, BPF_ANY) != 0)
        return xdp_errno_status("adding ifindex " + std::to_string(ifindex) + " to egress_ports", errno);
    return Status::ok();
}

}  // namespace tempos::xdp
