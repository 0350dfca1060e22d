// One BPF_PROG_TEST_RUN of a frame, as both programs' packet tests run it (XDP and TC differ only in the context).
#pragma once

#include <cstddef>
#include <string>

#include "packet_builder.hpp"

namespace tempos::test {

struct ProgRun {
    int action = -1;    // the program's return value
    Bytes output;       // the frame after the program
    std::string error;  // empty on success
};

// ctx: the program type's context (xdp_md, __sk_buff), or nullptr for the kernel's default.
ProgRun prog_test_run(int prog_fd, const Bytes& input, const void* ctx, std::size_t ctx_size);

// Hex lines of 16 bytes, for readable frame comparisons.
std::string hex_dump(const Bytes& bytes);

}  // namespace tempos::test
