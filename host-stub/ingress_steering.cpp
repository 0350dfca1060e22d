#include "ingress_steering.hpp"

#include <bpf/bpf.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "tempos/system_status.hpp"
#include "tempos/xdp_abi.h"
#include "tempos_ingress_steering.skel.h"

namespace tempos::mom {

Result<std::unique_ptr<IngressSteering>> IngressSteering::load() {
    tempos_ingress_steering* skeleton = tempos_ingress_steering__open_and_load();
    if (!skeleton) return system_status("loading the ingress steering program (SK_REUSEPORT, needs CAP_BPF)", errno);
    return std::unique_ptr<IngressSteering>(new IngressSteering(skeleton));
}

IngressSteering::~IngressSteering() { tempos_ingress_steering__destroy(skeleton_); }

Status IngressSteering::attach(int strict_fd, int best_effort_fd) {
    const int prog = bpf_program__fd(skeleton_->progs.tempos_ingress_steer);
    // Attached through either socket, the program serves the whole reuseport group. First: sockets inherited
    // from tempos-mom.socket may still be in the socket array of the program an earlier tempos-mom attached (a
    // socket belongs to one array at a time); replacing that program releases its array, which the kernel frees
    // after an RCU grace period, so the sockets are added below with bounded retries. Meanwhile the program
    // finds no socket and the kernel spreads the group's datagrams by hash: both sockets are read, none is lost.
    if (::setsockopt(strict_fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog, sizeof prog) != 0)
        return system_status("attaching the ingress steering program (SO_ATTACH_REUSEPORT_EBPF)", errno);
    const int sockets = bpf_map__fd(skeleton_->maps.tempos_ingress_sockets);
    const struct {
        std::uint32_t key;
        int fd;
        const char* what;
    } entries[] = {{TEMPOS_INGRESS_SOCKET_STRICT, strict_fd, "strict"},
                   {TEMPOS_INGRESS_SOCKET_BEST_EFFORT, best_effort_fd, "best-effort"}};
    constexpr int kAttempts = 200;  // 10 ms apart: 2 s
    for (const auto& entry : entries) {
        const std::uint64_t fd = static_cast<std::uint64_t>(entry.fd);
        int attempt = 0;
        while (bpf_map_update_elem(sockets, &entry.key, &fd, BPF_ANY) != 0) {
            if (errno != EBUSY || ++attempt == kAttempts)
                return system_status(std::string("adding the ") + entry.what + " ingress socket to the steering map" +
                                         (errno == EBUSY ? " (still in an earlier program's socket array after 2 s)"
                                                         : ""),
                                     errno);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    return Status::ok();
}

Status IngressSteering::set_path(std::uint8_t topic, Path path) {
    const std::uint32_t key = topic;
    const std::uint32_t value = path == Path::sq ? TEMPOS_INGRESS_CLASS_STRICT : 0;
    if (bpf_map_update_elem(bpf_map__fd(skeleton_->maps.tempos_topic_class), &key, &value, BPF_ANY) != 0)
        return system_status("steering topic " + std::to_string(topic), errno);
    return Status::ok();
}

}  // namespace tempos::mom
