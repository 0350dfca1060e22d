// The fan-out program in the kernel: loads the embedded tempos_fanout skeleton and attaches it at TC ingress of
// the MoM's interface with a tcx bpf_link. Like the XDP link, the link fd belongs to this process and, unless the
// router's set is pinned (persist, docs/restart.md), the program leaves the interface when the object is destroyed
// or the process dies (even by SIGKILL). No legacy netlink tc filter is ever installed (it would outlive the
// process).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "fanout_table.hpp"
#include "program_request.hpp"
#include "skeleton.hpp"
#include "tempos/adapter.hpp"
#include "tempos/unique_fd.hpp"

struct tempos_fanout;

namespace tempos::xdp {

struct FanoutRequest : ProgramRequest {
    int shared_routes_fd = -1;   // the XDP router's fanout_routes map to use instead of a map of its own
    // The XDP router's local_destinations (bpf/destination.h), kept current by the adapter; -1: a map of its own.
    int shared_local_destinations_fd = -1;
    // The router's pinned set (XdpAttachment::pin_dir()): its counters are reused from there and a pinned link is
    // taken over (program swapped in); with `persist` a new link is pinned there too. Empty: nothing pinned.
    std::filesystem::path pin_dir;
};

class FanoutAttachment {
public:
    // Errors: unsupported (the kernel has no tcx: Linux < 6.6), permission_denied (EPERM/EACCES), system_error.
    static Result<std::unique_ptr<FanoutAttachment>> attach(const FanoutRequest& request, spdlog::logger& log);

    FanoutTable& table() { return table_; }
    const FanoutTable& table() const { return table_; }

private:
    FanoutAttachment(SkeletonPtr<tempos_fanout> skeleton, UniqueFd link);

    // Destroyed in reverse: the link's last reference is closed (the kernel detaches the program), then the skeleton.
    SkeletonPtr<tempos_fanout> skeleton_;
    UniqueFd link_;
    FanoutTable table_;
};

}  // namespace tempos::xdp
