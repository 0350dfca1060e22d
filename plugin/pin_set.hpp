// Where the pinned data plane of an interface lives in bpffs (persist = true, docs/restart.md) and how it is
// found and released. The layout is fixed in include/tempos/xdp_abi.h (TEMPOS_PIN_*). No kernel program needed:
// tempos-mom --release-pins uses it without loading the adapter.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tempos/status.hpp"

namespace tempos::xdp {

// TEMPOS_PIN_ROOT/<inode of this process's network namespace>/<interface>: interface names are per namespace and
// bpffs is shared by every namespace of the mount namespace. invalid_argument for a name that is not an
// interface's (empty, "/", "." or "..").
Result<std::filesystem::path> interface_pin_dir(const std::string& interface);

// "schema-<schema>".
std::string schema_dir_name(unsigned schema);

// Mounts bpffs at TEMPOS_PIN_BPFFS unless one is mounted there. Errors: permission_denied (mounting needs
// CAP_SYS_ADMIN), system_error; both say how to mount it by hand.
Status ensure_bpffs();

// Readies bpffs for a tempos-mom that runs as another user with persist = true (the systemd unit's DynamicUser,
// docs/restart.md): mounts bpffs unless one is mounted, lets every user search TEMPOS_PIN_BPFFS (adds o+x: nobody
// may list it, and every pin keeps its own mode), creates TEMPOS_PIN_ROOT (mode 0700) and gives it and everything
// below it to uid:gid (again on every start: a dynamic user's uid may change). Run as root (ExecStartPre=+): the
// lines are what it did.
Result<std::vector<std::string>> prepare_pin_root(uid_t uid, gid_t gid);

// What an interface has pinned: this build's schema directory (when it exists) and those of other schemas.
struct PinnedSets {
    std::filesystem::path own;  // interface_pin_dir / schema_dir_name(TEMPOS_PIN_SCHEMA), existing or not
    bool own_exists = false;
    std::vector<std::filesystem::path> other_schemas;
};
// Nothing is pinned, or nothing this process may read (not even bpffs mounted, or its directory mode 0700 to
// another user): own_exists false and no other schema.
Result<PinnedSets> find_pinned_sets(const std::string& interface);

// Removes every pin of the interface, whatever its schema, and the directories left empty up to TEMPOS_PIN_ROOT:
// the paths removed (empty when nothing was pinned). A pinned link whose last reference this was detaches its
// program; one still open by a running tempos-mom stays until that process ends.
Result<std::vector<std::string>> release_pins(const std::string& interface);

// The same for one directory (a schema directory of interface_pin_dir), without touching its parents.
Result<std::vector<std::string>> remove_pin_dir(const std::filesystem::path& dir);

}  // namespace tempos::xdp
