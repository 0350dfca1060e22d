// libFuzzer target over the Controller TOML loader (host-stub/config*.cpp, what `tempos-mom --check` reads first):
// any bytes as a config file must neither crash (built with ASan and UBSan) nor be refused without a location —
// every refusal starts with "FILE:LINE: " (LINE >= 1), or "FILE: " for the two refusals of a file as a whole
// (whole_file_refusal). Built with clang-14 by
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

// "FILE:LINE: " with LINE >= 1 at the start of `message`, FILE being `file`.
bool at_line(const std::string& message, const std::string& file) {
    if (message.rfind(file + ":", 0) != 0) return false;
    std::size_t at = file.size() + 1;
    const std::size_t digits = at;
    while (at < message.size() && std::isdigit(static_cast<unsigned char>(message[at]))) ++at;
    return at > digits && message[digits] != '0' && message.compare(at, 2, ": ") == 0;
}

// The refusals about a file as a whole, which have no line to name: "FILE: " and one of these.
bool whole_file_refusal(const std::string& message, const std::string& file) {
    for (const char* why : {"no [mom] table", "the routes file defines no [[topic]]"})
        if (message.rfind(file + ": " + why, 0) == 0) return true;
    return false;
}

bool located(const std::string& message, const std::string& input) {
    if (at_line(message, input) || whole_file_refusal(message, input)) return true;
    // A routes file the input names is reported at its own path.
    const std::size_t colon = message.find(':');
    if (colon == std::string::npos || colon == 0) return false;
    const std::string file = message.substr(0, colon);
    return at_line(message, file) || whole_file_refusal(message, file);
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
        const std::string& message = config.message();
        if (!located(message, path)) {
            std::fprintf(stderr, "refusal without file:line: %s\n", message.c_str());
            std::abort();
        }
    }
    return 0;
}
