// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The guard of QEMU's cgroup. QEMU's network is a tap fd, so it has no
 * reason to use an inet socket: any inet egress, connect or sendmsg from the
 * cgroup (a VM escape at work) is denied, counted and reported. These hooks
 * see QEMU's own sockets only, never the guest's frames.
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
#include "guard_report.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Keyed by cgroup id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096 * 2);
	__type(key, __u64);
	__type(value, struct omt_counter);
} omt_cg_totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct omt_rl_key);
	__type(value, struct omt_rl_state);
} omt_cg_rl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} omt_cg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} omt_cg_lost SEC(".maps");

static __always_inline void omt_cg_deny(struct omt_event *e, __u64 cgid)
{
	e->cgroup_id = cgid;
	e->reason = OMT_R_QEMU_SOCKET;
	e->direction = OMT_DIR_CGROUP;
	omt_count(&omt_cg_totals, &cgid, e->len);
	omt_emit(&omt_cg_events, &omt_cg_rl, &omt_cg_lost, e, cgid);
}

SEC("cgroup_skb/egress")
int omt_cg_skb(struct __sk_buff *skb)
{
	struct omt_event e = { .len = skb->len, .hook = OMT_HOOK_CGROUP_SKB };
	struct iphdr ip;

	e.ethertype = bpf_ntohs(skb->protocol);
	if (skb->protocol == bpf_htons(0x0800) &&
	    bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) == 0) {
		__builtin_memcpy(e.src_ip, &ip.saddr, 4);
		__builtin_memcpy(e.dst_ip, &ip.daddr, 4);
		e.proto = ip.protocol;
	}
	omt_cg_deny(&e, bpf_skb_cgroup_id(skb));
	return 0;
}

/* inet4 is a constant: the v6 hooks may not even read user_ip4. */
static __always_inline int omt_cg_sock_addr(struct bpf_sock_addr *ctx, __u8 hook,
					    const int inet4)
{
	struct omt_event e = { .hook = hook, .proto = ctx->protocol };

	e.pid = bpf_get_current_pid_tgid() >> 32;
	if (inet4) {
		__u32 ip = ctx->user_ip4;

		e.ethertype = 0x0800;
		__builtin_memcpy(e.dst_ip, &ip, 4);
		e.dst_port = bpf_ntohs(ctx->user_port);
	} else {
		e.ethertype = 0x86DD;
	}
	omt_cg_deny(&e, bpf_get_current_cgroup_id());
	return 0;
}

SEC("cgroup/connect4")
int omt_cg_connect4(struct bpf_sock_addr *ctx)
{
	return omt_cg_sock_addr(ctx, OMT_HOOK_CGROUP_CONNECT, 1);
}

SEC("cgroup/sendmsg4")
int omt_cg_sendmsg4(struct bpf_sock_addr *ctx)
{
	return omt_cg_sock_addr(ctx, OMT_HOOK_CGROUP_SENDMSG, 1);
}

SEC("cgroup/connect6")
int omt_cg_connect6(struct bpf_sock_addr *ctx)
{
	return omt_cg_sock_addr(ctx, OMT_HOOK_CGROUP_CONNECT, 0);
}

SEC("cgroup/sendmsg6")
int omt_cg_sendmsg6(struct bpf_sock_addr *ctx)
{
	return omt_cg_sock_addr(ctx, OMT_HOOK_CGROUP_SENDMSG, 0);
}

/* QEMU's network is its tap: it has no use for an inet socket of its own. */
SEC("cgroup/sock_create")
int omt_cg_sock_create(struct bpf_sock *sk)
{
	struct omt_event e = { .hook = OMT_HOOK_CGROUP_SOCK_CREATE, .proto = sk->protocol };

	e.pid = bpf_get_current_pid_tgid() >> 32;
	e.ethertype = sk->family == 10 /* AF_INET6 */ ? 0x86DD : 0x0800;
	omt_cg_deny(&e, bpf_get_current_cgroup_id());
	return 0;
}
