/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libbpf glue of the frame guard: load and pin its maps, attach it to an
 * interface, detach it. Attachment goes through netlink (XDP and cls_bpf),
 * not bpf_link, on purpose: it outlives the loader, so a loader that is
 * killed leaves the interface guarded (fail closed) until detached.
 */
#ifndef OMERTA_GUARD_BPF_H
#define OMERTA_GUARD_BPF_H

#include <linux/types.h>

#include "../bpf/omerta_abi.h"

struct guard_bpf;

/* File descriptors of the maps that detaching touches. */
struct omt_guard_maps {
	int policy;
	int flows;
	int totals;
	int ratelimit;
	int vm;		/* omt_vm: -1 when absent (a pin dir from before it) */
	int vm_counts;
};

/* libbpf's messages through our log, one level below their libbpf rank. */
void omt_bpf_log_init(void);

/* Mounts bpffs at /sys/fs/bpf when nothing is mounted there. */
int omt_bpffs_ensure(void);

/*
 * Opens and loads the guard, pins its maps under pin_dir. -EEXIST when
 * something is pinned there already (another loader, or a killed one whose
 * guard is still in place).
 */
int omt_guard_load(struct guard_bpf **out, const char *pin_dir);
/* Unpins (when pin_dir is set) and frees. */
void omt_guard_unload(struct guard_bpf *skel, const char *pin_dir);
void omt_guard_maps_of(struct guard_bpf *skel, struct omt_guard_maps *maps);
/* The pins under from move to to (a warm VM's become its job's). 0 or -errno. */
int omt_guard_move_pins(struct guard_bpf *skel, const char *from, const char *to);

/*
 * Writes pol for ifindex (in omt_policy, and in omt_vm when this is the
 * object's first interface: its frames then cost no hash look-up), then attaches: frames from the guest to XDP when
 * use_xdp, else tc ingress; frames to the guest always to tc egress.
 * Undoes everything on failure. pol NULL: a warm VM's tap, whose job is not
 * known yet; nothing passes (OMT_POL_NO_JOB) until omt_guard_set_policy.
 */
int omt_guard_attach(struct guard_bpf *skel, __u32 ifindex, int use_xdp,
		     struct omt_policy *pol);
/*
 * The job's policy for an attached ifindex, opening it last: a frame sees
 * the old policy or the whole new one. 0 or -errno (-ENOENT: not attached).
 */
int omt_guard_set_policy(struct guard_bpf *skel, __u32 ifindex, const struct omt_policy *pol);

/*
 * Removes our programs from ifindex (only ours, checked by name), the clsact
 * qdisc when we created it, and every map entry of ifindex. A vanished
 * interface is not an error.
 */
int omt_guard_detach(const struct omt_guard_maps *maps, __u32 ifindex);


#endif
