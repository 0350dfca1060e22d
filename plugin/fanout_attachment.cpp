#include "fanout_attachment.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "skeleton.hpp"
#include "tempos/xdp_abi.h"
#include "xdp_hook.hpp"
#include "tcx.hpp"
#include "tempos_fanout.skel.h"

namespace tempos::xdp {

namespace {

Status fanout_error(const std::string& what, int err) {
    err = err < 0 ? -err : err;
    std::string message = what + ": " + std::strerror(err);
    if (err == EPERM || err == EACCES)
        return Status::error(ErrorCode::permission_denied,
                             message + " (loading and attaching the TC fan-out program need CAP_BPF and CAP_NET_ADMIN)");
    return Status::error(ErrorCode::system_error, std::move(message));
}

}  // namespace

Result<std::unique_ptr<FanoutAttachment>> FanoutAttachment::attach(const FanoutRequest& request,
                                                                   spdlog::logger& log) {
    SkeletonPtr<tempos_fanout> skeleton(tempos_fanout__open(), tempos_fanout__destroy);
    if (!skeleton) return fanout_error("opening the TC fan-out program", errno);
    set_mom_constants(*skeleton, request.mom_port, request.mom_ipv4);
    set_mom_ipv6(*skeleton, request.mom_ipv6);
    if (request.shared_routes_fd >= 0) {
        if (const int err = bpf_map__reuse_fd(skeleton->maps.fanout_routes, request.shared_routes_fd); err != 0)
            return fanout_error("sharing the XDP router's fanout_routes map", err);
    }
    if (request.shared_local_destinations_fd >= 0) {
        if (const int err = bpf_map__reuse_fd(skeleton->maps.local_destinations, request.shared_local_destinations_fd);
            err != 0)
            return fanout_error("sharing the XDP router's local_destinations map", err);
    }
    if (!request.pin_dir.empty()) {
        for (bpf_map* map : {skeleton->maps.fanout_group_counters, skeleton->maps.fanout_topic_counters})
            if (const int err = bpf_map__set_pin_path(map, (request.pin_dir / bpf_map__name(map)).c_str()); err != 0)
                return fanout_error(std::string("setting the pin path of ") + bpf_map__name(map), err);
    }
    if (const int err = tempos_fanout__load(skeleton.get()); err != 0)
        return fanout_error("loading the TC fan-out program", err);
    const int prog_fd = bpf_program__fd(skeleton->progs.tempos_fanout);

    const std::filesystem::path pin = request.pin_dir.empty() ? std::filesystem::path()
                                                              : request.pin_dir / TEMPOS_PIN_FANOUT_LINK;
    if (!pin.empty()) {
        Result<int> taken = take_over_pinned_link(pin, prog_fd, request.ifindex, log);
        if (!taken) return taken.status();
        if (*taken >= 0)
            return std::unique_ptr<FanoutAttachment>(new FanoutAttachment(std::move(skeleton), UniqueFd(*taken)));
    }

    // libbpf 1.1 has no bpf_program__attach_tcx: a raw BPF_LINK_CREATE with the tcx attach type. No anchor
    // (relative_fd 0): appended after any tcx program already on the interface.
    LIBBPF_OPTS(bpf_link_create_opts, options);
    const int link_fd = bpf_link_create(prog_fd, request.ifindex, kTcxIngress, &options);
    if (link_fd < 0) {
        const int err = errno;
        const std::string what = "attaching the TC fan-out program (tcx ingress) to " + request.interface;
        // The kernel answers EINVAL to an attach type it does not know.
        if (err == EINVAL)
            return Status::error(ErrorCode::unsupported,
                                 what + " refused (" + std::strerror(err) +
                                     "): kernel fan-out needs tcx links (Linux >= 6.6); no legacy tc filter is used "
                                     "because it would outlive the process");
        return fanout_error(what, err);
    }
    UniqueFd link(link_fd);
    if (request.persist && !pin.empty() && bpf_obj_pin(link.get(), pin.c_str()) != 0) {
        const int err = errno;
        return fanout_error("pinning the TC fan-out link at " + pin.string(), err);
    }
    return std::unique_ptr<FanoutAttachment>(new FanoutAttachment(std::move(skeleton), std::move(link)));
}

FanoutAttachment::FanoutAttachment(SkeletonPtr<tempos_fanout> skeleton, UniqueFd link)
    : skeleton_(std::move(skeleton)),
      link_(std::move(link)),
      table_(bpf_map__fd(skeleton_->maps.fanout_routes), bpf_map__fd(skeleton_->maps.fanout_group_counters),
             bpf_map__fd(skeleton_->maps.fanout_topic_counters)) {}

}  // namespace tempos::xdp
