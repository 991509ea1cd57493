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
/*
 * A running job's cgroup, created by another process (exec), for reading
 * its CPU time and setting its quota: v2 and, on a hybrid host, v1 cpu.
 * Nothing is opened (v2_fd is -1): not for omt_cgroup_destroy. 0 or -errno.
 */
int omt_cgroup_lookup(struct omt_cgroup *cg, const char *job);
/* The v2 cpu.stat of every VM together (omerta/), for the owner's CPU source. 0 or -errno. */
int omt_cgroup_guests_cpu_stat(char *path, size_t size);
/* CPU time from a v2 cpu.stat ("usage_usec N" line) or a v1 cpuacct.usage (ns). */
int omt_cgroup_usage_parse(const char *text, uint64_t *ns);
/* Removes the directories (they must be empty: QEMU dead). */
int omt_cgroup_destroy(struct omt_cgroup *cg);
/* Removes what a crashed run left for job: every omerta/JOB directory. */
void omt_cgroup_remove_stale(const char *job);
/*
 * The CPU quota: quota_us per period_us, quota_us < 0 = unlimited. cpu.max
 * on v2, cpu.cfs_period_us and cpu.cfs_quota_us on v1 (the kernel wants
 * quota_us >= 1000). 0 or -errno (-ENOENT: no directory with a CPU
 * controller).
 */
int omt_cgroup_set_cpu_max(const struct omt_cgroup *cg, long quota_us, long period_us);
/*
 * SCHED_IDLE for every thread in cg (cpu.idle, kernel 5.15 on), or back:
 * a warm VM waiting for its job takes only CPU nothing else wants. 0,
 * -ENOENT where the kernel has no cpu.idle, or -errno.
 */
int omt_cgroup_set_idle(const struct omt_cgroup *cg, int idle);
/*
 * CPU time used so far, in ns: usage_usec of cpu.stat in the v2 directory
 * (there whether or not the cpu controller is, so on hybrid hosts too),
 * else cpuacct.usage of a v1 directory. 0 or -errno.
 */
int omt_cgroup_cpu_usage_ns(const struct omt_cgroup *cg, uint64_t *ns);

#endif
