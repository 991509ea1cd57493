/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Energy per VM from RAPL, and power caps enforced through the CPU quota.
 *
 * Counters: ROOT/intel-rapl:N (ROOT is /sys/class/powercap), the top-level
 * zones named "package-*". The rest would count energy twice: subzones
 * intel-rapl:N:M (core, uncore, dram) are parts of their package, "psys"
 * is the whole platform, packages included, and intel-rapl-mmio:N is the
 * same package read through MMIO. AMD needs nothing of its own: the
 * kernel's RAPL driver registers Zen packages as intel-rapl:N too; there is
 * no "amd-rapl" zone to read. Counters wrap at max_energy_range_uj.
 *
 * Attribution: the energy of an interval is split by share of the host's
 * busy CPU time in it (/proc/stat: user, nice, system, irq, softirq; not
 * idle, iowait or steal). A VM gets
 *	joules * vm_cpu / max(host_busy, sum of all vm_cpu)
 * (the max because /proc/stat counts in ticks and cgroups in ns), the rest
 * is the owner's processes'. Idle power is part of the split: a VM alone
 * on an otherwise idle host carries all of the package's power.
 *
 * Without readable counters (none, or energy_uj root-only and we aren't)
 * the reader says so once through pr_info and every VM stays at 0 J, 0 W.
 */
#ifndef OMERTA_ENERGY_H
#define OMERTA_ENERGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OMT_ENERGY_POWERCAP "/sys/class/powercap"
#define OMT_ENERGY_PROC_STAT "/proc/stat"
#define OMT_ENERGY_ID_LEN 32
#define OMT_CPU_PERIOD_US 100000L
/* The least a capped VM keeps: 1% of a CPU (also the kernel's minimum). */
#define OMT_CPU_QUOTA_MIN_US (OMT_CPU_PERIOD_US / 100)

struct omt_energy;

/*
 * One VM, kept by the caller from one sample to the next; zeroed (but for
 * id) when the VM is new. A VM's first sample, or its first after one it
 * missed, is only its baseline.
 */
struct omt_energy_vm {
	char id[OMT_ENERGY_ID_LEN + 1];	/* the job's */
	uint64_t cpu_ns;	/* in: its cgroup's CPU time so far */
	double joules;		/* out: energy attributed so far */
	double watts;		/* out: over the last interval; 0 without one */
	uint64_t last_cpu_ns;	/* baseline: cpu_ns of the previous sample */
	uint64_t last_seq;	/* baseline: which sample that was */
};

/*
 * Reads counters under powercap_root and CPU time from proc_stat (NULL:
 * the defaults above). Returns NULL only without memory: without counters
 * it still samples, and attributes nothing.
 */
struct omt_energy *omt_energy_new(const char *powercap_root, const char *proc_stat);
void omt_energy_free(struct omt_energy *e);
bool omt_energy_available(const struct omt_energy *e);
/*
 * Reads the counters and the host's CPU time, and attributes the energy
 * since the previous sample to the n VMs (their joules and watts). 0, or
 * -errno when a read failed: the interval is skipped (nothing attributed,
 * watts 0) and the next sample is a new baseline.
 */
int omt_energy_sample(struct omt_energy *e, struct omt_energy_vm *vms, size_t n);
/* The host's power (all packages) over the last interval; 0 without one. */
double omt_energy_host_watts(const struct omt_energy *e);

/* Power caps, in watts; 0 = none. */
struct omt_energy_caps {
	double vm_watts;	/* each VM */
	double total_watts;	/* all VMs together */
};

/* One VM's CPU quota per OMT_CPU_PERIOD_US; < 0 = unlimited ("max"). */
struct omt_energy_quota {
	double watts;		/* in: omt_energy_vm.watts */
	long limit_us;		/* in: the job's own quota, never exceeded */
	long quota_us;		/* in: the quota in force */
	long new_quota_us;	/* out: the quota it should have */
};

/*
 * Over a cap (its own, or its share of the total: the total cap shrinks
 * every drawing VM by the same factor) a VM's quota is scaled by cap / watts,
 * down to OMT_CPU_QUOTA_MIN_US; under them it recovers by at most 10% a
 * call and up to what stays under the cap, back to limit_us. ncpus is
 * what an unlimited quota amounts to. Pure: the caller writes the quotas
 * that changed (omt_cgroup_set_cpu_max).
 */
void omt_energy_cap_quota(const struct omt_energy_caps *caps, struct omt_energy_quota *q,
			  size_t n, unsigned int ncpus);

#endif
