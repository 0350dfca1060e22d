#include "frames/prog_test_run.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "tempos_router.skel.h"

namespace tempos::testkit {

Result<xdp::SkeletonPtr<tempos_router>> load_router_skeleton(const MomConstants& mom) {
    auto router = load_skeleton("tempos_router", tempos_router__open, tempos_router__load, tempos_router__destroy, mom,
                                set_router_constants);
    if (router) (*router)->bss->attached_generic = mom.generic ? 1 : 0;
    return router;
}

Result<ProgRun> prog_test_run(int prog_fd, const Bytes& input, std::span<const std::uint8_t> ctx,
                              std::uint32_t repeat) {
    ProgRun run;
    run.output.resize(input.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = input.data();
    opts.data_size_in = static_cast<std::uint32_t>(input.size());
    opts.data_out = run.output.data();
    opts.data_size_out = static_cast<std::uint32_t>(run.output.size());
    if (!ctx.empty()) {
        opts.ctx_in = ctx.data();
        opts.ctx_size_in = static_cast<std::uint32_t>(ctx.size());
    }
    opts.repeat = repeat;
    const auto start = std::chrono::steady_clock::now();
    const int err = bpf_prog_test_run_opts(prog_fd, &opts);
    run.wall_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (err != 0)
        return Status::error(ErrorCode::system_error, std::string("bpf_prog_test_run_opts: ") + std::strerror(errno));
    run.action = static_cast<int>(opts.retval);
    run.output.resize(opts.data_size_out);
    return run;
}

}  // namespace tempos::testkit
