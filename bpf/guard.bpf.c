// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The WireGuard-only guard of an interface. An exec loads one object per VM
 * and attaches it to the VM's tap: that interface's policy and counters sit
 * in omt_vm and omt_vm_counts (array maps of one entry, whose look-up the
 * verifier inlines), so a frame of the VM's tunnel costs no hash look-up and
 * no atomic add. Any further interface of the same object is guarded through
 * omt_policy by ifindex and counted in omt_flows and omt_totals. An interface
 * with programs attached but no policy, or a policy of a warm VM whose job
 * is not known yet (OMT_POL_NO_JOB), drops everything (fail closed).
 *
 * Frames the guest sends: XDP (omt_xdp_from_vm) or tc ingress
 * (omt_tc_from_vm), same checks. Frames towards the guest: tc egress
 * (omt_tc_to_vm). Only what the guest sends produces rogue events; drops
 * towards the guest are counted, not reported.
 */
/*
 * No CO-RE: the programs read only their UAPI context and wire headers,
 * whose layout never changes, so libbpf need not parse the kernel's BTF
 * (/sys/kernel/btf/vmlinux, ~11 MB of the loader's peak memory) to load them.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
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

/*
 * 64 KiB: 1000 events, where the rate limit lets through at most 8 per
 * reason and second per interface. The reader maps it twice over, and
 * every page of it counts in the loader's resident memory.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} omt_events SEC(".maps");

/* The first attached interface: its policy and its tunnel's flows. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct omt_vm);
} omt_vm SEC(".maps");

/* Its counters, per CPU: plain adds, summed by the readers. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct omt_vm_counts);
} omt_vm_counts SEC(".maps");

/* Events that found the ring buffer full. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} omt_events_lost SEC(".maps");

/*
 * Counts a frame of omt_vm's interface: its totals, and a passing UDP frame
 * of the tunnel's flow (claimed by the first one) in the tunnel slot; any
 * other flow in omt_flows.
 */
static __always_inline void omt_count_vm(struct omt_vm *vm, struct omt_flow_key *k,
					 __u32 frame_len, __u8 direction, int reason)
{
	struct omt_vm_counts *vc;
	struct omt_tunnel want = { .set = 1 };
	__u64 w, cur, *slot;
	__u32 zero = 0;

	vc = bpf_map_lookup_elem(&omt_vm_counts, &zero);
	if (!vc)
		return;
	if ((unsigned int)reason >= OMT_R__COUNT)
		reason = OMT_R_BAD_HEADER;
	vc->totals[direction][reason].packets++;
	vc->totals[direction][reason].bytes += frame_len;
	if (reason == OMT_R_PASS && k->proto == IPPROTO_UDP) {
		if (direction == OMT_DIR_FROM_GUEST) {
			__builtin_memcpy(want.ip, k->src_ip, 4);
			want.port = k->src_port;
		} else {
			__builtin_memcpy(want.ip, k->dst_ip, 4);
			want.port = k->dst_port;
		}
		__builtin_memcpy(&w, &want, sizeof(w));
		slot = (__u64 *)&vm->tunnel[direction];
		cur = *(volatile __u64 *)slot;
		if (cur == w ||
		    (cur == 0 && __sync_val_compare_and_swap(slot, 0, w) == 0)) {
			vc->tunnel[direction].packets++;
			vc->tunnel[direction].bytes += frame_len;
			return;
		}
	}
	k->reason = reason;
	omt_count(&omt_flows, k, frame_len);
}

static __always_inline int omt_guard(void *data, void *data_end, __u32 frame_len,
				     __u32 ifindex, __u8 direction, __u8 hook,
				     int vlan_tagged)
{
	struct omt_flow_key k = { .ifindex = ifindex, .direction = direction };
	struct omt_policy *pol;
	struct omt_vm *vm;
	__u32 zero = 0;
	int reason;

	vm = bpf_map_lookup_elem(&omt_vm, &zero);
	if (vm && vm->ifindex == ifindex)
		pol = &vm->policy;
	else
		pol = bpf_map_lookup_elem(&omt_policy, &ifindex);
	if (!pol || (pol->flags & OMT_POL_NO_JOB))
		reason = OMT_R_NO_POLICY;
	else if (vlan_tagged)
		reason = OMT_R_VLAN;
	else
		reason = omt_check_frame(data, data_end, frame_len, pol, &k);

	if (vm && vm->ifindex == ifindex) {
		omt_count_vm(vm, &k, frame_len, direction, reason);
		if (reason == OMT_R_PASS)
			return reason;
	} else {
		struct omt_total_key tk = { .ifindex = ifindex, .direction = direction,
					    .reason = reason };

		k.reason = reason;
		omt_count(&omt_flows, &k, frame_len);
		omt_count(&omt_totals, &tk, frame_len);
	}

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
