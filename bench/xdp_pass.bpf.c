// SPDX-License-Identifier: GPL-2.0
/* Attached natively to a subscriber's veth in `tempos-bench latency` when the router runs in native mode: a
 * veth accepts frames redirected into it by native XDP only when its peer runs an XDP program (or GRO, which
 * stalled here: docs/known-issues.md). Passes everything up the stack unchanged. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
