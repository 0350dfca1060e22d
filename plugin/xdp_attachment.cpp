#include "xdp_attachment.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "skeleton.hpp"
#include "tempos_router.skel.h"

namespace tempos::xdp {

namespace {

Status errno_status(const std::string& what, int err) {
    err = err < 0 ? -err : err;
    const ErrorCode code = (err == EPERM || err == EACCES) ? ErrorCode::permission_denied : ErrorCode::system_error;
    std::string message = what + ": " + std::strerror(err);
    // An XDP program needs both to load; it is written to pass the verifier without CAP_PERFMON (bpf/parsing.h).
    if (code == ErrorCode::permission_denied)
        message += " (loading and attaching XDP need CAP_BPF and CAP_NET_ADMIN)";
    return Status::error(code, std::move(message));
}

// Returns the link fd, or -errno. The program's attached_generic (bpf/udp_csum_partial.h) is set first: how it
// writes the checksum of a CHECKSUM_PARTIAL datagram depends on the mode.
int create_link(tempos_router& skeleton, int prog_fd, int ifindex, XdpMode mode) {
    skeleton.bss->attached_generic = mode == XdpMode::generic ? 1 : 0;
    LIBBPF_OPTS(bpf_link_create_opts, options);
    options.flags = mode == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    const int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &options);
    return fd >= 0 ? fd : -errno;
}

}  // namespace

Result<std::unique_ptr<XdpAttachment>> XdpAttachment::attach(const AttachRequest& request, spdlog::logger& log) {
    if (request.mode == XdpMode::off)
        return Status::error(ErrorCode::invalid_argument, "xdp_mode off attaches nothing");

    // RLIMIT_MEMLOCK: libbpf 1.1 probes whether the kernel charges BPF memory to the memory cgroup (5.11+) and
    // only raises the rlimit on older kernels, where that needs CAP_SYS_RESOURCE. Nothing to do here.
    SkeletonPtr<tempos_router> skeleton(tempos_router__open(), tempos_router__destroy);
    if (!skeleton) return errno_status("opening the XDP router", errno);
    set_mom_constants(*skeleton, request.mom_port, request.mom_ipv4);
    if (const int err = tempos_router__load(skeleton.get()); err != 0) return errno_status("loading the XDP router", err);

    auto routes = std::make_unique<RouteTable>(bpf_map__fd(skeleton->maps.topic_routes),
                                               bpf_map__fd(skeleton->maps.topic_counters));
    const int prog_fd = bpf_program__fd(skeleton->progs.tempos_router);
    XdpMode attached = request.mode;
    int link_fd = -EINVAL;
    std::string refusals;
    if (request.mode == XdpMode::native || request.mode == XdpMode::automatic) {
        attached = XdpMode::native;
        link_fd = create_link(*skeleton, prog_fd, request.ifindex, XdpMode::native);
        if (link_fd < 0) {
            refusals = std::string("native: ") + std::strerror(-link_fd);
            if (request.mode == XdpMode::automatic)
                log.info("native XDP refused on {} ({}), trying generic", request.interface,
                         std::strerror(-link_fd));
        }
    }
    if (link_fd < 0 && (request.mode == XdpMode::generic || request.mode == XdpMode::automatic)) {
        attached = XdpMode::generic;
        link_fd = create_link(*skeleton, prog_fd, request.ifindex, XdpMode::generic);
        if (link_fd < 0) refusals += (refusals.empty() ? "" : ", ") + std::string("generic: ") + std::strerror(-link_fd);
    }
    if (link_fd < 0) {
        const int err = -link_fd;
        const std::string what = "attaching XDP (" + std::string(to_string(request.mode)) + ") to " + request.interface +
                                 " refused (" + refusals + ")";
        if (err == EPERM || err == EACCES) return errno_status(what, err);
        return Status::error(err == EOPNOTSUPP || err == EINVAL ? ErrorCode::unsupported : ErrorCode::system_error,
                             what);
    }
    return std::unique_ptr<XdpAttachment>(
        new XdpAttachment(skeleton.release(), link_fd, attached, request.ifindex, std::move(routes)));
}

XdpAttachment::XdpAttachment(tempos_router* skeleton, int link_fd, XdpMode mode, int ifindex,
                             std::unique_ptr<RouteTable> routes)
    : skeleton_(skeleton), link_fd_(link_fd), mode_(mode), ifindex_(ifindex), routes_(std::move(routes)) {}

XdpAttachment::~XdpAttachment() {
    routes_.reset();
    ::close(link_fd_);  // the last reference to the link: the kernel detaches the program here
    tempos_router__destroy(skeleton_);
}

int XdpAttachment::program_fd() const { return bpf_program__fd(skeleton_->progs.tempos_router); }

int XdpAttachment::fanout_routes_fd() const { return bpf_map__fd(skeleton_->maps.fanout_routes); }

Status XdpAttachment::add_egress_port(int ifindex) {
    const __u32 key = static_cast<__u32>(ifindex);
    const __u32 value = key;
    if (bpf_map_update_elem(bpf_map__fd(skeleton_->maps.egress_ports), &key, &value, BPF_ANY) != 0)
        return errno_status("adding ifindex " + std::to_string(ifindex) + " to egress_ports", errno);
    return Status::ok();
}

}  // namespace tempos::xdp
