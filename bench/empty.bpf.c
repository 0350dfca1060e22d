// SPDX-License-Identifier: GPL-2.0
/* The floor of the benchmark: an XDP program that does nothing but return XDP_TX, the action our router
 * returns for the benchmark packet, so the three programs differ only in the work they do. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
