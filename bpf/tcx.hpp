// The tcx attach type (Linux 6.6) by value when the uapi headers predate it: Debian 12's headers (6.1) end at
// BPF_LSM_CGROUP = 43; 6.4 added BPF_STRUCT_OPS = 44 and BPF_NETFILTER = 45, 6.6 BPF_TCX_INGRESS = 46
// (together with the BPF_F_BEFORE flag, used here to tell the header generations apart), and the tcx verdicts.
#pragma once

#include <linux/bpf.h>

namespace tempos::xdp {

#ifdef BPF_F_BEFORE
inline constexpr bpf_attach_type kTcxIngress = BPF_TCX_INGRESS;
inline constexpr int kTcxNext = TCX_NEXT;
#else
static_assert(BPF_LSM_CGROUP == 43, "unexpected uapi bpf_attach_type numbering");
inline constexpr bpf_attach_type kTcxIngress = static_cast<bpf_attach_type>(46);
// enum tcx_action_base: "not consumed, run the next program, then the legacy tc filters" (fanout.bpf.c).
inline constexpr int kTcxNext = -1;
#endif

}  // namespace tempos::xdp
