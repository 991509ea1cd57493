/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The guard's counters: an interface's, from an object's maps (omt_vm's
 * per-CPU counters and omt_totals alike), and a running job's, from its pins.
 */
#ifndef OMERTA_JOBSTATS_H
#define OMERTA_JOBSTATS_H

#include <linux/types.h>

#include "../bpf/omerta_abi.h"

struct omt_vm_totals {
	struct omt_counter dir_verdict[2][2];	/* [direction][0 pass, 1 drop] */
	struct omt_counter reason[OMT_R__COUNT];	/* from the guest, dropped */
};

/*
 * Every frame ifindex's guard counted, [direction][reason], from omt_vm's
 * per-CPU counters and omt_totals alike (vm and vm_counts may be -1).
 */
int omt_guard_totals(int totals_fd, int vm_fd, int vm_counts_fd, __u32 ifindex,
		     struct omt_counter out[2][OMT_R__COUNT]);

/*
 * The tunnel's own flow of ifindex in direction dir (omt_vm's slot), as its
 * omt_flows key and counter. -ENOENT when no passing flow claimed it.
 */
int omt_guard_tunnel_flow(int vm_fd, int vm_counts_fd, __u32 ifindex, int dir,
			  struct omt_flow_key *key, struct omt_counter *c);

/* 0, or -errno when the job has no pinned totals (not running, or gone). */
int omt_vm_totals_read(const char *job, struct omt_vm_totals *t);

#endif
