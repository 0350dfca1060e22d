// SPDX-License-Identifier: GPL-2.0
/* The load generator of `tempos-bench throughput`/`latency`: run with BPF_PROG_TEST_RUN in live-frames mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES), it writes the event template over the frame and returns XDP_TX, which the
 * kernel turns into a transmission out of the ingress interface given in the test context.
 * Why it rewrites every frame: live-frames pages are recycled through a page pool without being restored, and
 * the frames it sends are rewritten in place downstream (our router rewrites headers) before they return. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define GEN_FRAME_LEN 64 /* an IPv4 event; an IPv6 one is 20 bytes longer */
#define GEN_FRAME_LEN6 (GEN_FRAME_LEN + 20)

/* Set from user space (the skeleton's mmap'ed .data) before a run. */
__u8 frame_template[GEN_FRAME_LEN6] = {};
__u32 frame_len = 0; /* GEN_FRAME_LEN6: the whole template, else GEN_FRAME_LEN */

SEC("xdp")
int live_generator(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + GEN_FRAME_LEN > data_end)
		return XDP_DROP;
	__builtin_memcpy(data, frame_template, GEN_FRAME_LEN);
	if (frame_len == GEN_FRAME_LEN6) {
		if (data + GEN_FRAME_LEN6 > data_end)
			return XDP_DROP;
		__builtin_memcpy(data + GEN_FRAME_LEN, frame_template + GEN_FRAME_LEN, GEN_FRAME_LEN6 - GEN_FRAME_LEN);
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
