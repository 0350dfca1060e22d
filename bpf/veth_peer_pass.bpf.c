// SPDX-License-Identifier: GPL-2.0
/* Test topologies only (testing/topology, Topology::attach_peer_pass): attached in native mode to the receiving end of a veth pair so
 * that frames sent into the pair by XDP_TX/XDP_REDIRECT are received at all. A veth delivers such frames through
 * the peer's NAPI ring, and on kernel 6.18 only an XDP program on the peer made that ring drain (GRO on the peer
 * did not: docs/known-issues.md). It passes every frame to the stack unchanged. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int veth_peer_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
