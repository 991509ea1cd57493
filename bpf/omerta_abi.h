/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one ABI shared by the BPF programs and userspace: reason codes,
 * map keys and values, the ring-buffer event. Plain fixed-width types only,
 * so the file compiles both with vmlinux.h (BPF side) and with
 * <linux/types.h> (userspace).
 *
 * Addresses are kept as 4 octets and ports in host byte order so that
 * `bpftool map dump` prints them readably ([10,0,0,2], 51820).
 */
#ifndef OMERTA_ABI_H
#define OMERTA_ABI_H

/*
 * Why a frame or socket operation was dropped; OMT_R_PASS means it wasn't.
 * Changing this list means changing, in the same commit:
 *   telemetry/reasons.c (the names the loader prints and exports),
 *   docs/operator-guide.md (the table of reasons),
 *   tests/unit/guard_test.c (a crafted frame per reason).
 */
enum omt_reason {
	OMT_R_PASS = 0,
	OMT_R_BAD_HEADER,	/* truncated or lying Ethernet/IPv4/UDP header */
	OMT_R_VLAN,		/* 802.1Q / 802.1ad tagged frame */
	OMT_R_NON_IP,		/* neither IPv4 nor ARP */
	OMT_R_IPV6,
	OMT_R_ARP_SPOOF,	/* ARP not between the peer and the gateway */
	OMT_R_IP_OPTIONS,	/* IPv4 header longer than 20 bytes */
	OMT_R_FRAGMENT,
	OMT_R_SPOOFED_SRC,	/* IPv4 source is not the peer's address */
	OMT_R_WRONG_SRC,	/* towards the peer: not from the endpoint */
	OMT_R_WRONG_DST,	/* not to the endpoint (or, towards it, not to the peer) */
	OMT_R_NOT_UDP,
	OMT_R_WRONG_PORT,
	OMT_R_NOT_WIREGUARD,	/* bad message type or non-zero reserved bytes */
	OMT_R_BAD_WG_SIZE,	/* wrong size for the WireGuard message type */
	OMT_R_NO_POLICY,	/* guarded interface without a policy entry */
	OMT_R_QEMU_SOCKET,	/* inet socket operation from a guarded cgroup */
	OMT_R__COUNT,
};

/* Direction, seen from the guarded side (the VM, or the veth peer). */
enum omt_direction {
	OMT_DIR_FROM_GUEST = 0,	/* frames received on the guarded interface */
	OMT_DIR_TO_GUEST = 1,	/* frames sent out of it, towards the guest */
	OMT_DIR_CGROUP = 2,	/* socket operations of a guarded cgroup */
};

enum omt_hook {
	OMT_HOOK_XDP = 0,
	OMT_HOOK_TC_INGRESS = 1,
	OMT_HOOK_TC_EGRESS = 2,
	OMT_HOOK_CGROUP_SKB = 3,
	OMT_HOOK_CGROUP_CONNECT = 4,
	OMT_HOOK_CGROUP_SENDMSG = 5,
	OMT_HOOK_CGROUP_SOCK_CREATE = 6,
};

enum omt_policy_flags {
	OMT_POL_PEER_IP = 1 << 0,	/* peer_ip is known: enforce it */
	OMT_POL_GATEWAY_IP = 1 << 1,	/* gateway_ip is known */
	OMT_POL_OWN_CLSACT = 1 << 2,	/* we created the clsact qdisc */
	OMT_POL_HOOK_XDP = 1 << 3,	/* guest's frames checked by XDP (else tc) */
	OMT_POL_NO_JOB = 1 << 4,	/* a warm VM's: no job yet, nothing passes (no_policy) */
};

/* omt_policy: keyed by the guarded interface's ifindex (__u32). */
struct omt_policy {
	__u8 endpoint_ip[4];
	__u8 peer_ip[4];
	__u8 gateway_ip[4];
	__u16 endpoint_port;
	__u16 flags;		/* enum omt_policy_flags */
};

/* omt_flows (LRU): one entry per flow and verdict. */
struct omt_flow_key {
	__u32 ifindex;
	__u8 src_ip[4];
	__u8 dst_ip[4];
	__u16 src_port;
	__u16 dst_port;
	__u16 ethertype;	/* host byte order */
	__u8 proto;		/* IPPROTO_*, 0 when not IPv4 */
	__u8 pad;
	/* Enums, not __u8: bpftool prints their names. */
	enum omt_direction direction;
	enum omt_reason reason;	/* OMT_R_PASS = passed */
};

struct omt_counter {
	__u64 packets;
	__u64 bytes;
};

/* omt_totals: every frame counted here, per interface, direction and reason. */
struct omt_total_key {
	__u32 ifindex;
	enum omt_direction direction;
	enum omt_reason reason;
};

/*
 * omt_vm (an array of one): the interface the object was attached to first,
 * normally its only one (an exec loads one guard per VM). Its frames are
 * checked against this copy of its policy and counted in omt_vm_counts, with
 * no hash look-up; any other interface of the same object goes through
 * omt_policy, omt_flows and omt_totals. ifindex 0: no such interface yet.
 * The policy is also in omt_policy (clean-up finds interfaces there).
 */
struct omt_tunnel {
	__u8 ip[4];		/* the guest's side of the flow: its address */
	__u16 port;		/* and its port, host byte order */
	__u16 set;		/* 1 once a passing UDP frame claimed the slot */
} __attribute__((aligned(8)));

struct omt_vm {
	__u32 ifindex;
	__u32 pad;
	struct omt_policy policy;
	/*
	 * The tunnel's own flow per direction: the first passing UDP flow,
	 * counted in omt_vm_counts.tunnel instead of omt_flows. Its omt_flows
	 * key: ethertype IPv4, UDP, the endpoint's address and port on the
	 * other side, reason OMT_R_PASS.
	 */
	struct omt_tunnel tunnel[2];
};

/* omt_vm_counts (per CPU, one entry): omt_vm's interface's counters. */
struct omt_vm_counts {
	struct omt_counter totals[2][OMT_R__COUNT];	/* [direction][reason], every frame */
	struct omt_counter tunnel[2];			/* [direction]: omt_vm.tunnel's flow */
};

/* omt_cg_totals: keyed by cgroup id (__u64), value struct omt_counter. */

/* omt_ratelimit: rogue events delivered per subject and reason. */
struct omt_rl_key {
	__u64 subject;		/* ifindex, or cgroup id for cgroup hooks */
	enum omt_reason reason;
	__u32 pad;
};

struct omt_rl_state {
	__u64 window_start_ns;
	__u32 sent;		/* events delivered in this window */
	__u32 suppressed;	/* events not delivered since the last one */
};

/* The ring-buffer record of one rogue event. */
struct omt_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u64 cgroup_id;	/* cgroup hooks only */
	__u32 ifindex;		/* 0 for cgroup hooks */
	__u32 len;		/* frame (or datagram) length */
	__u32 suppressed;	/* same-reason events not delivered before this one */
	__u32 pid;		/* connect/sendmsg hooks only */
	__u8 src_ip[4];
	__u8 dst_ip[4];
	__u16 src_port;
	__u16 dst_port;
	__u16 ethertype;
	__u8 proto;
	__u8 reason;
	__u8 direction;
	__u8 hook;
	__u8 pad[2];
};

/* WireGuard message sizes (whitepaper, section 5.4). */
#define OMT_WG_INITIATION_LEN 148
#define OMT_WG_RESPONSE_LEN 92
#define OMT_WG_COOKIE_LEN 64
#define OMT_WG_DATA_MIN_LEN 32

/* tc filter identity, so clean-up removes only our filters. */
#define OMT_TC_HANDLE 0x0e7a
#define OMT_TC_PRIORITY 0xe7a

#define OMT_PIN_DIR "/sys/fs/bpf/omerta"
/* A job's maps: OMT_PIN_DIR/jobs/JOBID/ (exec pins them for bpftool and metrics). */
#define OMT_PIN_JOBS_DIR OMT_PIN_DIR "/jobs"

#endif
