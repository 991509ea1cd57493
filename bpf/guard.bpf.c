// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The WireGuard-only guard of an interface. One set of programs serves every
 * guarded interface: the policy is looked up by ifindex, so a VM's tap is
 * guarded by writing one map entry. An interface with programs attached but
 * no policy, or a policy of a warm VM whose job is not known yet
 * (OMT_POL_NO_JOB), drops everything (fail closed).
 *
 * Frames the guest sends: XDP (omt_xdp_from_vm) or tc ingress
 * (omt_tc_from_vm), same checks. Frames towards the guest: tc egress
 * (omt_tc_to_vm). Only what the guest sends produces rogue events; drops
 * towards the guest are counted, not reported.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "omerta_abi.h"
#include "guard_parse.h"
#include "guard_report.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct omt_policy);
} omt_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct omt_flow_key);
	__type(value, struct omt_counter);
} omt_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096 * 2 * OMT_R__COUNT);
	__type(key, struct omt_total_key);
	__type(value, struct omt_counter);
} omt_totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096 * OMT_R__COUNT);
	__type(key, struct omt_rl_key);
	__type(value, struct omt_rl_state);
} omt_ratelimit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} omt_events SEC(".maps");

/* Events that found the ring buffer full. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} omt_events_lost SEC(".maps");

static __always_inline int omt_guard(void *data, void *data_end, __u32 frame_len,
				     __u32 ifindex, __u8 direction, __u8 hook,
				     int vlan_tagged)
{
	struct omt_flow_key k = { .ifindex = ifindex, .direction = direction };
	struct omt_total_key tk = { .ifindex = ifindex, .direction = direction };
	struct omt_policy *pol;
	int reason;

	pol = bpf_map_lookup_elem(&omt_policy, &ifindex);
	if (!pol || (pol->flags & OMT_POL_NO_JOB))
		reason = OMT_R_NO_POLICY;
	else if (vlan_tagged)
		reason = OMT_R_VLAN;
	else
		reason = omt_check_frame(data, data_end, frame_len, pol, &k);

	k.reason = reason;
	tk.reason = reason;
	omt_count(&omt_flows, &k, frame_len);
	omt_count(&omt_totals, &tk, frame_len);

	if (reason != OMT_R_PASS && direction == OMT_DIR_FROM_GUEST) {
		struct omt_event e = {
			.ifindex = ifindex,
			.len = frame_len,
			.src_port = k.src_port,
			.dst_port = k.dst_port,
			.ethertype = k.ethertype,
			.proto = k.proto,
			.reason = reason,
			.direction = direction,
			.hook = hook,
		};

		__builtin_memcpy(e.src_ip, k.src_ip, 4);
		__builtin_memcpy(e.dst_ip, k.dst_ip, 4);
		omt_emit(&omt_events, &omt_ratelimit, &omt_events_lost, &e, ifindex);
	}
	return reason;
}

SEC("xdp")
int omt_xdp_from_vm(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return omt_guard(data, data_end, data_end - data, ctx->ingress_ifindex,
			 OMT_DIR_FROM_GUEST, OMT_HOOK_XDP, 0) == OMT_R_PASS ?
		       XDP_PASS : XDP_DROP;
}

static __always_inline int omt_tc(struct __sk_buff *skb, __u8 direction, __u8 hook)
{
	__u32 want = skb->len < OMT_PARSE_LEN ? skb->len : OMT_PARSE_LEN;
	void *data, *data_end;

	/* Non-linear skbs: make the headers the checks read directly readable. */
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + want > data_end) {
		bpf_skb_pull_data(skb, want);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	return omt_guard(data, data_end, skb->len, skb->ifindex, direction, hook,
			 skb->vlan_present) == OMT_R_PASS ?
		       TC_ACT_OK : TC_ACT_SHOT;
}

SEC("tc")
int omt_tc_from_vm(struct __sk_buff *skb)
{
	return omt_tc(skb, OMT_DIR_FROM_GUEST, OMT_HOOK_TC_INGRESS);
}

SEC("tc")
int omt_tc_to_vm(struct __sk_buff *skb)
{
	return omt_tc(skb, OMT_DIR_TO_GUEST, OMT_HOOK_TC_EGRESS);
}
