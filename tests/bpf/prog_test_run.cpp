#include "prog_test_run.hpp"

#include <cstdio>

namespace tempos::test {

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
