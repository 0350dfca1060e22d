#include "prog_test_run.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace tempos::test {

ProgRun prog_test_run(int prog_fd, const Bytes& input, const void* ctx, std::size_t ctx_size) {
    ProgRun result;
    result.output.resize(input.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = input.data();
    opts.data_size_in = static_cast<std::uint32_t>(input.size());
    opts.data_out = result.output.data();
    opts.data_size_out = static_cast<std::uint32_t>(result.output.size());
    opts.repeat = 1;
    if (ctx != nullptr) {
        opts.ctx_in = ctx;
        opts.ctx_size_in = static_cast<std::uint32_t>(ctx_size);
    }
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        result.error = std::string("bpf_prog_test_run_opts: ") + std::strerror(errno);
        return result;
    }
    result.action = static_cast<int>(opts.retval);
    result.output.resize(opts.data_size_out);
    return result;
}

std::string hex_dump(const Bytes& bytes) {
    std::string out;
    char buf[32];
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i % 16 == 0) {
            std::snprintf(buf, sizeof(buf), "\n%04zx:", i);
            out += buf;
        }
        std::snprintf(buf, sizeof(buf), " %02x", bytes[i]);
        out += buf;
    }
    return out;
}

}  // namespace tempos::test
