/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A running job's guard counters, from the totals map it pins. */
#ifndef OMERTA_JOBSTATS_H
#define OMERTA_JOBSTATS_H

#include <linux/types.h>

#include "../bpf/omerta_abi.h"

struct omt_vm_totals {
	struct omt_counter dir_verdict[2][2];	/* [direction][0 pass, 1 drop] */
	struct omt_counter reason[OMT_R__COUNT];	/* from the guest, dropped */
};

/* 0, or -errno when the job has no pinned totals (not running, or gone). */
int omt_vm_totals_read(const char *job, struct omt_vm_totals *t);

#endif
