#include "xdp_hook.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "tempos/unique_fd.hpp"
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
    // Pinned, the link outlives this process: the router stays when it ends (persist, docs/restart.md).
    if (!request.pin.empty() && bpf_obj_pin(link_fd, request.pin.c_str()) != 0) {
        const int err = errno;
        ::close(link_fd);
        return xdp_errno_status("pinning the router's link at " + request.pin.string(), err);
    }
    return std::unique_ptr<XdpHook>(new LinkHook(*mode, link_fd));
}

namespace {

struct PinnedLink {
    UniqueFd fd;
    bpf_link_info info{};
};

// The link pinned at `pin` if it is attached to `ifindex`; nullopt when there is none (no pin, or a link whose
// interface is gone: then its pin is removed, said in a warning).
Result<std::optional<PinnedLink>> open_pinned_link(const std::filesystem::path& pin, int ifindex,
                                                   spdlog::logger& log) {
    PinnedLink link;
    link.fd = UniqueFd(bpf_obj_get(pin.c_str()));
    if (link.fd.get() < 0) {
        if (errno == ENOENT) return std::optional<PinnedLink>();
        return xdp_errno_status("opening the pinned link " + pin.string(), errno);
    }
    std::uint32_t length = sizeof(link.info);
    if (bpf_obj_get_info_by_fd(link.fd.get(), &link.info, &length) != 0)
        return xdp_errno_status("reading the pinned link " + pin.string(), errno);
    // The first field of the union is the ifindex for XDP and tcx links alike; 0 once the device is gone.
    const std::uint32_t attached_to = link.info.xdp.ifindex;
    if (attached_to == 0) {
        log.warn("the link pinned at {} (program id {}) is detached: its interface was removed; its pin is removed "
                 "and a new link is made",
                 pin.string(), link.info.prog_id);
        if (::unlink(pin.c_str()) != 0 && errno != ENOENT)
            return xdp_errno_status("removing the detached link's pin " + pin.string(), errno);
        return std::optional<PinnedLink>();
    }
    if (attached_to != static_cast<std::uint32_t>(ifindex))
        return Status::error(ErrorCode::busy, "the link pinned at " + pin.string() + " (program id " +
                                                  std::to_string(link.info.prog_id) + ") is attached to ifindex " +
                                                  std::to_string(attached_to) + ", not to ifindex " +
                                                  std::to_string(ifindex) +
                                                  ": left as is; release it with tempos-mom --release-pins <interface> "
                                                  "(docs/restart.md)");
    return std::optional<PinnedLink>(std::move(link));
}

// Swaps `prog_fd` into the link in one step. BPF_F_REPLACE names the program expected in it when the process may
// open programs by id (CAP_SYS_ADMIN): a concurrent swap by someone else then fails instead of being overwritten.
Status swap_program(const PinnedLink& link, int prog_fd, const std::filesystem::path& pin) {
    LIBBPF_OPTS(bpf_link_update_opts, options);
    UniqueFd old(bpf_prog_get_fd_by_id(link.info.prog_id));
    if (old.get() >= 0) {
        options.flags = BPF_F_REPLACE;
        options.old_prog_fd = old.get();
    }
    if (bpf_link_update(link.fd.get(), prog_fd, &options) != 0)
        return xdp_errno_status("swapping the new program into the link pinned at " + pin.string(), errno);
    return Status::ok();
}

}  // namespace

Result<std::unique_ptr<XdpHook>> hook_by_pinned_link(const std::filesystem::path& pin, int prog_fd,
                                                     const HookRequest& request, spdlog::logger& log) {
    Result<std::optional<PinnedLink>> found = open_pinned_link(pin, request.ifindex, log);
    if (!found) return found.status();
    if (!*found) return std::unique_ptr<XdpHook>();
    PinnedLink& link = **found;
    if (link.info.type != BPF_LINK_TYPE_XDP)
        return Status::error(ErrorCode::busy, "the link pinned at " + pin.string() + " is not an XDP link: left as is");
    // A link's mode is fixed when it is made: read it from the interface.
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (const int err = bpf_xdp_query(request.ifindex, 0, &query); err != 0)
        return xdp_errno_status("querying the XDP programs of " + request.interface, err);
    XdpMode mode = XdpMode::native;
    if (query.skb_prog_id == link.info.prog_id)
        mode = XdpMode::generic;
    else if (query.drv_prog_id != link.info.prog_id)
        return Status::error(ErrorCode::busy, "the link pinned at " + pin.string() + " holds program id " +
                                                  std::to_string(link.info.prog_id) + ", which " + request.interface +
                                                  " does not run: left as is");
    if (request.mode_required && request.mode != mode)
        return Status::error(ErrorCode::invalid_argument,
                             "xdp_mode " + std::string(to_string(request.mode)) + ": the router pinned on " +
                                 request.interface + " runs in " + std::string(to_string(mode)) +
                                 " mode, and a link keeps its mode; left serving as it is. Set xdp_mode = \"" +
                                 std::string(to_string(mode)) + "\" or \"auto\", or release the pins first "
                                 "(tempos-mom --release-pins " + request.interface + ": the router leaves until the "
                                 "next start)");
    if (request.before_attempt) request.before_attempt(mode);
    if (Status swapped = swap_program(link, prog_fd, pin); !swapped) return swapped;
    log.info("XDP router swapped into the link pinned at {} (link id {}, {} mode): program id {} replaced without a "
             "gap",
             pin.string(), link.info.id, to_string(mode), link.info.prog_id);
    const int owned = ::dup(link.fd.get());  // the hook's reference; the pin keeps the link too
    if (owned < 0) return xdp_errno_status("duplicating the pinned link's fd", errno);
    return std::unique_ptr<XdpHook>(new LinkHook(mode, owned));
}

Result<int> take_over_pinned_link(const std::filesystem::path& pin, int prog_fd, int ifindex, spdlog::logger& log) {
    Result<std::optional<PinnedLink>> found = open_pinned_link(pin, ifindex, log);
    if (!found) return found.status();
    if (!*found) return -1;
    if (Status swapped = swap_program(**found, prog_fd, pin); !swapped) return swapped;
    log.info("program swapped into the link pinned at {} (link id {}): program id {} replaced without a gap",
             pin.string(), (*found)->info.id, (*found)->info.prog_id);
    const int owned = ::dup((*found)->fd.get());
    if (owned < 0) return xdp_errno_status("duplicating the pinned link's fd", errno);
    return owned;
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
