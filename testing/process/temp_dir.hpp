// A fresh private directory under /tmp, removed with everything in it when the object goes.
#pragma once

#include <filesystem>
#include <string>

namespace tempos::testkit {

class TempDir {
public:
    // `prefix`: the start of the directory's name ("tempos-" + prefix + ".XXXXXX").
    explicit TempDir(const std::string& prefix = "test");
    ~TempDir();
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // Empty when the directory could not be created.
    const std::filesystem::path& path() const { return path_; }

private:
    void remove();
    std::filesystem::path path_;
};

}  // namespace tempos::testkit
