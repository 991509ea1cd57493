/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A job's cgroup: CPU and memory limits for QEMU, and the cgroup v2
 * directory the cgroup guard attaches to. Pure v2 hosts get one directory,
 * /sys/fs/cgroup/omerta/JOB. Hybrid hosts (v1 controllers, v2 mounted at
 * /sys/fs/cgroup/unified with no controllers) get one per hierarchy:
 * cpu/omerta/JOB and memory/omerta/JOB for the limits, unified/omerta/JOB
 * for the BPF programs, which only attach to v2.
 */
#ifndef OMERTA_CGROUP_H
#define OMERTA_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#define OMT_CG_MAX_DIRS 3

struct omt_cgroup {
	char v2[256];			/* for BPF (and the limits on pure v2) */
	char dirs[OMT_CG_MAX_DIRS][256];	/* every directory created, v2 first */
	int n_dirs;
	int v2_fd;			/* open O_DIRECTORY on v2 */
};

/*
 * Creates the job's cgroup(s) with the limits: cpus (may be fractional
 * through cpu_millis, 1000 = one CPU) and memory_bytes. 0 or -errno; on
 * failure nothing is left.
 */
int omt_cgroup_create(struct omt_cgroup *cg, const char *job, unsigned int cpu_millis,
		      uint64_t memory_bytes, char *err, size_t errlen);
/* Moves pid into every directory of cg. */
int omt_cgroup_join(const struct omt_cgroup *cg, pid_t pid);
/* Removes the directories (they must be empty: QEMU dead). */
int omt_cgroup_destroy(struct omt_cgroup *cg);
/* Removes what a crashed run left for job: every omerta/JOB directory. */
void omt_cgroup_remove_stale(const char *job);

#endif
