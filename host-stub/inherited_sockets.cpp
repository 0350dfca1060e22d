#include "inherited_sockets.hpp"

#include <fcntl.h>
#include <systemd/sd-daemon.h>

#include "tempos/system_status.hpp"

namespace tempos::mom {

Result<std::vector<UniqueFd>> take_inherited_sockets() {
    const int count = sd_listen_fds(1);
    if (count < 0) return system_status("reading the sockets passed by the service manager (LISTEN_FDS)", -count);
    std::vector<UniqueFd> sockets;
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; ++fd) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        sockets.emplace_back(fd);
    }
    return sockets;
}

}  // namespace tempos::mom
