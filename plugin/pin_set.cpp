#include "pin_set.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "tempos/xdp_abi.h"

namespace tempos::xdp {

namespace {

namespace fs = std::filesystem;

constexpr long kBpffsMagic = 0xcafe4a11;  // BPF_FS_MAGIC (linux/magic.h)

Status os_error(const std::string& what, int err) {
    const ErrorCode code = (err == EPERM || err == EACCES) ? ErrorCode::permission_denied : ErrorCode::system_error;
    return Status::error(code, what + ": " + std::strerror(err));
}

bool is_bpffs(const char* path) {
    struct statfs fs_info {};
    return ::statfs(path, &fs_info) == 0 && fs_info.f_type == kBpffsMagic;
}

}  // namespace

Result<fs::path> interface_pin_dir(const std::string& interface) {
    if (interface.empty() || interface == "." || interface == ".." || interface.find('/') != std::string::npos)
        return Status::error(ErrorCode::invalid_argument, "\"" + interface + "\" cannot name a pin directory");
    struct stat ns {};
    if (::stat("/proc/self/ns/net", &ns) != 0) return os_error("reading this process's network namespace", errno);
    return fs::path(TEMPOS_PIN_ROOT) / std::to_string(ns.st_ino) / interface;
}

std::string schema_dir_name(unsigned schema) { return TEMPOS_PIN_SCHEMA_PREFIX + std::to_string(schema); }

Status ensure_bpffs() {
    if (is_bpffs(TEMPOS_PIN_BPFFS)) return Status::ok();
    std::error_code ec;
    fs::create_directories(TEMPOS_PIN_BPFFS, ec);
    // mode 0700: the pins give whoever opens them control of the router.
    if (::mount("bpf", TEMPOS_PIN_BPFFS, "bpf", 0, "mode=0700") != 0) {
        Status failed = os_error("persist needs bpffs at " TEMPOS_PIN_BPFFS ", which is not mounted, and mounting it "
                                 "failed",
                                 errno);
        return Status::error(failed.code(), failed.message() + " (mount it: mount -t bpf bpf " TEMPOS_PIN_BPFFS
                                                               ", e.g. by the systemd unit sys-fs-bpf.mount; or set "
                                                               "persist = false)");
    }
    return Status::ok();
}

Result<std::vector<std::string>> prepare_pin_root(uid_t uid, gid_t gid) {
    std::vector<std::string> done;
    if (!is_bpffs(TEMPOS_PIN_BPFFS)) {
        if (Status mounted = ensure_bpffs(); !mounted) return mounted;
        done.push_back("mounted bpffs at " TEMPOS_PIN_BPFFS);
    }
    struct stat bpffs {};
    if (::stat(TEMPOS_PIN_BPFFS, &bpffs) != 0) return os_error("reading " TEMPOS_PIN_BPFFS, errno);
    if ((bpffs.st_mode & S_IXOTH) == 0) {
        if (::chmod(TEMPOS_PIN_BPFFS, (bpffs.st_mode & 07777) | S_IXOTH) != 0)
            return os_error("chmod o+x " TEMPOS_PIN_BPFFS, errno);
        done.push_back("made " TEMPOS_PIN_BPFFS " searchable by every user (o+x)");
    }
    if (::mkdir(TEMPOS_PIN_ROOT, 0700) == 0)
        done.push_back("created " TEMPOS_PIN_ROOT);
    else if (errno != EEXIST)
        return os_error("creating " TEMPOS_PIN_ROOT, errno);
    std::error_code ec;
    std::vector<fs::path> paths{TEMPOS_PIN_ROOT};
    for (fs::recursive_directory_iterator it(TEMPOS_PIN_ROOT, ec), end; !ec && it != end; it.increment(ec))
        paths.push_back(it->path());
    if (ec) return os_error("reading " TEMPOS_PIN_ROOT, ec.value());
    for (const fs::path& path : paths)
        if (::lchown(path.c_str(), uid, gid) != 0) return os_error("chown " + path.string(), errno);
    done.push_back("gave " TEMPOS_PIN_ROOT " and " + std::to_string(paths.size() - 1) + " path(s) below it to " +
                   std::to_string(uid) + ":" + std::to_string(gid));
    return done;
}

Result<PinnedSets> find_pinned_sets(const std::string& interface) {
    Result<fs::path> dir = interface_pin_dir(interface);
    if (!dir) return dir.status();
    PinnedSets sets;
    sets.own = *dir / schema_dir_name(TEMPOS_PIN_SCHEMA);
    if (!is_bpffs(TEMPOS_PIN_BPFFS)) return sets;
    std::error_code ec;
    fs::directory_iterator entries(*dir, ec);
    // Not there, or not this process's to read (bpffs is mode 0700; without persist a process that is not root
    // only ever sees nothing here, and a router pinned there still holds the interface: the attach then says so).
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::permission_denied) return sets;
    if (ec) return os_error("reading " + dir->string(), ec.value());
    for (const fs::directory_entry& entry : entries) {
        if (entry.path() == sets.own)
            sets.own_exists = true;
        else
            sets.other_schemas.push_back(entry.path());
    }
    return sets;
}

Result<std::vector<std::string>> remove_pin_dir(const fs::path& dir) {
    std::vector<std::string> removed;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return removed;
    // Depth first: bpffs removes a directory only when it is empty. Every file is a pin: unlinking it drops the
    // pin's reference, nothing else.
    std::vector<fs::path> dirs{dir};
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_directory(ec))
            dirs.push_back(it->path());
        else
            removed.push_back(it->path().string());
    }
    if (ec) return os_error("reading " + dir.string(), ec.value());
    for (const std::string& pin : removed)
        if (::unlink(pin.c_str()) != 0 && errno != ENOENT) return os_error("removing the pin " + pin, errno);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
        if (::rmdir(it->c_str()) != 0 && errno != ENOENT) return os_error("removing " + it->string(), errno);
    return removed;
}

Result<std::vector<std::string>> release_pins(const std::string& interface) {
    Result<fs::path> dir = interface_pin_dir(interface);
    if (!dir) return dir.status();
    if (!is_bpffs(TEMPOS_PIN_BPFFS)) return std::vector<std::string>{};
    Result<std::vector<std::string>> removed = remove_pin_dir(*dir);
    if (!removed) return removed;
    // The namespace's directory and the root go when nothing else is pinned there (another interface's pins, or
    // another tempos-mom creating its own meanwhile, make rmdir fail: they stay).
    for (fs::path parent = dir->parent_path(); parent != fs::path(TEMPOS_PIN_BPFFS); parent = parent.parent_path())
        if (::rmdir(parent.c_str()) != 0) break;
    return removed;
}

}  // namespace tempos::xdp
