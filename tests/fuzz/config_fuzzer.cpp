// libFuzzer target over the Controller TOML loader (host-stub/config*.cpp, what `tempos-mom --check` reads first):
// any bytes as a config file must neither crash (built with ASan and UBSan) nor be refused without a location —
// every refusal starts with "FILE:LINE: " or, for the file as a whole, "FILE: ". Built with clang-14 by
// tests/fuzz/CMakeLists.txt; run a bounded number of executions by ctest, longer by scripts/fuzz.sh.
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "config.hpp"

namespace {

// One file per fuzzer process, rewritten for each input.
const std::string& input_path() {
    static const std::string path = [] {
        const char* dir = std::getenv("TMPDIR");
        return std::string(dir ? dir : "/tmp") + "/tempos-config-fuzz-" + std::to_string(::getpid()) + ".toml";
    }();
    return path;
}

bool located(const std::string& message, const std::string& file) {
    if (message.rfind(file, 0) != 0) return false;
    std::size_t at = file.size();
    if (message.compare(at, 2, ": ") == 0) return true;  // the file as a whole
    if (at >= message.size() || message[at] != ':') return false;
    const std::size_t digits = at + 1;
    at = digits;
    while (at < message.size() && std::isdigit(static_cast<unsigned char>(message[at]))) ++at;
    return at > digits && message.compare(at, 2, ": ") == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = input_path();
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    const tempos::Result<tempos::mom::MomConfig> config = tempos::mom::load_config(path);
    if (!config) {
        // A routes file the input names is reported at its own path: either location is fine.
        const std::string& message = config.message();
        const std::size_t colon = message.find(':');
        if (!located(message, path) && !(colon != std::string::npos && located(message, message.substr(0, colon)))) {
            std::fprintf(stderr, "refusal without file:line: %s\n", message.c_str());
            std::abort();
        }
    }
    return 0;
}
