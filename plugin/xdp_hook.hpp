// Where the router sits on the interface, and its leaving: one class per attach method (option `xdp_attach`,
// docs/coexistence.md). Both refuse to displace a program they did not attach: a foreign XDP program on the
// interface is named in a `busy` error (xdp_occupant.hpp) and left attached; destroying a hook detaches the router
// only, by its own link or by its own program id.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "adapter_options.hpp"
#include "program_request.hpp"
#include "tempos/status.hpp"
#include "xdp_mode.hpp"

struct bpf_object;

namespace tempos::xdp {

struct HookRequest : AttachTarget {
    XdpMode mode = XdpMode::automatic;  // automatic (native, then generic), native or generic
    std::optional<unsigned> priority;   // libxdp's run priority
    // Called before each mode is tried: the program's own state that depends on the mode is set there.
    std::function<void(XdpMode)> before_attempt;
    // hook_with_link: where to pin the new link (persist, docs/restart.md); empty: not pinned.
    std::filesystem::path pin;
    // hook_by_pinned_link: native or generic asked for explicitly; a pinned link in the other mode is refused.
    bool mode_required = false;
};

class XdpHook {
public:
    virtual ~XdpHook() = default;
    XdpMode mode() const { return mode_; }  // native or generic
    virtual XdpAttachMethod method() const = 0;

protected:
    explicit XdpHook(XdpMode mode) : mode_(mode) {}

private:
    XdpMode mode_;
};

// `what` failed with errno `err` (libbpf's -errno accepted): permission_denied for EPERM/EACCES, naming the two
// capabilities XDP needs; system_error otherwise.
Status xdp_errno_status(const std::string& what, int err);

// A bpf_link of the loaded program `prog_fd`. busy when any XDP program is on the interface (checked first, so
// nothing is even tried beside it); unsupported when the interface refuses the mode.
Result<std::unique_ptr<XdpHook>> hook_with_link(int prog_fd, const HookRequest& request, spdlog::logger& log);

// The bpf_link pinned at `pin` by an earlier tempos-mom (persist, docs/restart.md), with `prog_fd` swapped into it
// by bpf_link_update: the interface never is without a router. nullptr when there is none to take over (no pin,
// or a link whose interface is gone: its pin is removed, with a warning). Errors: the link is another interface's,
// or in the other mode than the one required (both left serving as they are), or the update is refused.
Result<std::unique_ptr<XdpHook>> hook_by_pinned_link(const std::filesystem::path& pin, int prog_fd,
                                                     const HookRequest& request, spdlog::logger& log);

// A pinned link at `pin` taken over the same way for a program that is not XDP (the tcx fan-out): `prog_fd` swapped
// in. The link fd (owned by the caller), -1 when there is none to take over (no pin, or a detached link: its pin is
// removed), or the error.
Result<int> take_over_pinned_link(const std::filesystem::path& pin, int prog_fd, int ifindex, spdlog::logger& log);

// Through libxdp: `object` opened, not loaded (libxdp loads it as a dispatcher component, or alone where the
// kernel refuses freplace); its program of section "xdp" is the router (the object may hold others). busy when
// libxdp refused and a program is on the interface.
Result<std::unique_ptr<XdpHook>> hook_with_libxdp(bpf_object* object, const HookRequest& request,
                                                  spdlog::logger& log);

}  // namespace tempos::xdp
