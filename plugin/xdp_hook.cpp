#include "xdp_hook.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "xdp_occupant.hpp"

namespace tempos::xdp {

Status xdp_errno_status(const std::string& what, int err) {
    err = err < 0 ? -err : err;
    const ErrorCode code = (err == EPERM || err == EACCES) ? ErrorCode::permission_denied : ErrorCode::system_error;
    std::string message = what + ": " + std::strerror(err);
    // An XDP program needs both to load; it is written to pass the verifier without CAP_PERFMON (bpf/parsing.h).
    if (code == ErrorCode::permission_denied)
        message += " (loading and attaching XDP need CAP_BPF and CAP_NET_ADMIN)";
    return Status::error(code, std::move(message));
}

namespace {

// Tries the modes `request.mode` allows (auto: native, then generic) with `attach(mode)`, which returns 0 or
// -errno. The mode attached, or the refusal of every mode tried.
Result<XdpMode> attach_in_modes(const HookRequest& request, spdlog::logger& log, const char* how,
                                const std::function<int(XdpMode)>& attach) {
    std::string refusals;
    int last_error = 0;
    for (const XdpMode mode : {XdpMode::native, XdpMode::generic}) {
        if (request.mode != XdpMode::automatic && request.mode != mode) continue;
        if (request.before_attempt) request.before_attempt(mode);
        const int err = attach(mode);
        if (err == 0) return mode;
        last_error = -err;
        refusals += (refusals.empty() ? "" : ", ") + std::string(to_string(mode)) + ": " + std::strerror(last_error);
        if (request.mode == XdpMode::automatic && mode == XdpMode::native)
            log.info("native XDP refused on {} ({}), trying generic", request.interface, std::strerror(last_error));
    }
    const std::string what = "attaching XDP (" + std::string(to_string(request.mode)) + ", " + how + ") to " +
                             request.interface + " refused (" + refusals + ")";
    if (last_error == EPERM || last_error == EACCES) return xdp_errno_status(what, last_error);
    return Status::error(
        last_error == EOPNOTSUPP || last_error == EINVAL ? ErrorCode::unsupported : ErrorCode::system_error, what);
}

// The programs on the interface, or an empty list when the query fails (the attach's own error then stands).
std::vector<XdpOccupant> occupants_of(int ifindex) {
    Result<std::vector<XdpOccupant>> found = xdp_occupants(ifindex);
    return found ? std::move(found).value() : std::vector<XdpOccupant>{};
}

// Where libxdp put the router: in its dispatcher, or alone (the kernel refused the dispatcher's freplace).
std::string libxdp_placement(int ifindex) {
    xdp_multiprog* attached = xdp_multiprog__get_from_ifindex(ifindex);
    if (attached == nullptr || libxdp_get_error(attached) != 0) return "placement unreadable";
    const bool alone = xdp_multiprog__is_legacy(attached);
    const int programs = xdp_multiprog__program_count(attached);
    xdp_multiprog__close(attached);
    if (alone) return "alone, without libxdp's dispatcher (this kernel refused it: freplace programs)";
    return "in libxdp's dispatcher, " + std::to_string(programs) + " program(s) on the interface";
}

class LinkHook final : public XdpHook {
public:
    LinkHook(XdpMode mode, int link_fd) : XdpHook(mode), link_fd_(link_fd) {}
    ~LinkHook() override { ::close(link_fd_); }  // the last reference to the link: the kernel detaches the router
    XdpAttachMethod method() const override { return XdpAttachMethod::link; }

private:
    int link_fd_;
};

class LibxdpHook final : public XdpHook {
public:
    LibxdpHook(XdpMode mode, xdp_program* program, int ifindex) : XdpHook(mode), program_(program), ifindex_(ifindex) {}
    // libxdp removes this program only: its dispatcher slot, or (alone) the netlink attachment of this program id
    // (it checks the id; the kernel replaces by the old fd).
    ~LibxdpHook() override {
        xdp_program__detach(program_, ifindex_, mode() == XdpMode::native ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
        xdp_program__close(program_);
    }
    XdpAttachMethod method() const override { return XdpAttachMethod::libxdp; }

private:
    xdp_program* program_;
    int ifindex_;
};

}  // namespace

Result<std::unique_ptr<XdpHook>> hook_with_link(int prog_fd, const HookRequest& request, spdlog::logger& log) {
    if (std::vector<XdpOccupant> occupants = occupants_of(request.ifindex); !occupants.empty())
        return occupied_error(request.interface, occupants,
                              "a bpf_link attach never shares XDP; to run beside a libxdp program use "
                              "xdp_attach = \"libxdp\" on a kernel that allows freplace (docs/coexistence.md)");
    int link_fd = -1;
    Result<XdpMode> mode = attach_in_modes(request, log, "bpf_link", [&](XdpMode m) {
        LIBBPF_OPTS(bpf_link_create_opts, options);
        options.flags = m == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
        link_fd = bpf_link_create(prog_fd, request.ifindex, BPF_XDP, &options);
        return link_fd >= 0 ? 0 : -errno;
    });
    if (!mode) {
        // Attached meanwhile by someone else: say who.
        if (std::vector<XdpOccupant> occupants = occupants_of(request.ifindex); !occupants.empty())
            return occupied_error(request.interface, occupants, mode.message());
        return mode.status();
    }
    return std::unique_ptr<XdpHook>(new LinkHook(*mode, link_fd));
}

Result<std::unique_ptr<XdpHook>> hook_with_libxdp(bpf_object* object, const HookRequest& request,
                                                  spdlog::logger& log) {
    // By section: the object may hold other programs (libxdp loads the whole object).
    xdp_program* program = xdp_program__from_bpf_obj(object, "xdp");
    if (const long err = libxdp_get_error(program); err != 0 || program == nullptr)
        return xdp_errno_status("handing the XDP router to libxdp", err != 0 ? static_cast<int>(err) : EINVAL);
    if (request.priority) {
        if (const int err = xdp_program__set_run_prio(program, *request.priority); err != 0) {
            xdp_program__close(program);
            return xdp_errno_status("setting the router's libxdp run priority", err);
        }
    }
    // libxdp decides: into its dispatcher (beside other libxdp programs) where the kernel allows freplace, else
    // the router alone through netlink, refused if any program is there (XDP_FLAGS_UPDATE_IF_NOEXIST).
    Result<XdpMode> mode = attach_in_modes(request, log, "libxdp", [&](XdpMode m) {
        return xdp_program__attach(program, request.ifindex, m == XdpMode::native ? XDP_MODE_NATIVE : XDP_MODE_SKB,
                                   0);
    });
    if (!mode) {
        xdp_program__close(program);
        if (std::vector<XdpOccupant> occupants = occupants_of(request.ifindex); !occupants.empty())
            return occupied_error(request.interface, occupants,
                                  "libxdp could not add the router beside it (" + mode.message() +
                                      "): it joins only a libxdp dispatcher, on a kernel that allows freplace "
                                      "programs (docs/coexistence.md)");
        return mode.status();
    }
    log.info("XDP router attached to {} through libxdp (program id {}, run priority {}): {}", request.interface,
             xdp_program__id(program), xdp_program__run_prio(program), libxdp_placement(request.ifindex));
    return std::unique_ptr<XdpHook>(new LibxdpHook(*mode, program, request.ifindex));
}

}  // namespace tempos::xdp
