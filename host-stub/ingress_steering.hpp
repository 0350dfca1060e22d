// The SK_REUSEPORT program that picks tempos-mom's ingress socket by topic (bpf/ingress_steering.bpf.c): loaded
// once at start, attached to the reuseport group of the two ingress sockets, its topic-class map rewritten as
// topics change. Needs CAP_BPF; without it the ingress runs unsteered and says so (ingress.hpp).
#pragma once

#include <cstdint>
#include <memory>

#include "counters.hpp"
#include "tempos/status.hpp"

struct tempos_ingress_steering;

namespace tempos::mom {

class IngressSteering {
public:
    static Result<std::unique_ptr<IngressSteering>> load();
    ~IngressSteering();
    IngressSteering(const IngressSteering&) = delete;
    IngressSteering& operator=(const IngressSteering&) = delete;

    // Puts the two sockets (bound to one port, one reuseport group) into the program's socket array and attaches
    // the program to their group. Every datagram is steered from then on.
    Status attach(int strict_fd, int best_effort_fd);
    // Which socket `topic`'s datagrams go to: the strict one for Path::sq, else the best-effort one. Takes effect
    // for the next datagram (one map word).
    Status set_path(std::uint8_t topic, Path path);

private:
    explicit IngressSteering(tempos_ingress_steering* skeleton) : skeleton_(skeleton) {}
    tempos_ingress_steering* skeleton_;
};

}  // namespace tempos::mom
