// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Baselines for bench/: the cheapest programs each hook can run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int omt_min_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("tc")
int omt_min_tc(struct __sk_buff *skb)
{
	(void)skb;
	return 0;	/* TC_ACT_OK */
}
