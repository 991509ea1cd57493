// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "energy.h"

#define MAX_ZONES 16
#define ZONE_PREFIX "intel-rapl:"

struct zone {
	char path[PATH_MAX];	/* its energy_uj */
	uint64_t max_uj;	/* where it wraps; 0 = unknown */
	uint64_t last_uj;
};

struct omt_energy {
	char root[PATH_MAX];
	char stat[PATH_MAX];
	struct zone zones[MAX_ZONES];
	int n_zones;
	bool available;
	bool warned;		/* about a read failing after the probe */
	bool have_base;		/* the previous sample read everything */
	uint64_t seq;		/* samples taken */
	uint64_t last_busy_ns;
	uint64_t last_ns;
	uint64_t tick_ns;	/* one USER_HZ tick of /proc/stat */
	double host_watts;
};

static int read_u64(const char *path, uint64_t *v)
{
	unsigned long long x;
	char buf[32], *end;
	int e;

	if ((e = omt_read_text(path, buf, sizeof(buf))))
		return e;
	if (!isdigit((unsigned char)buf[0]))
		return -EINVAL;
	errno = 0;
	x = strtoull(buf, &end, 10);
	if (errno || (*end && *end != '\n'))
		return -EINVAL;
	*v = x;
	return 0;
}

/* Busy time of all CPUs: user, nice, system, irq, softirq (guest is in user). */
static int read_busy(const struct omt_energy *e, uint64_t *ns)
{
	unsigned long long user, nice, system, idle, iowait = 0, irq = 0, softirq = 0;
	char buf[512];
	int err;

	if ((err = omt_read_text(e->stat, buf, sizeof(buf))))
		return err;
	if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle,
		   &iowait, &irq, &softirq) < 4)
		return -EINVAL;
	*ns = (uint64_t)(user + nice + system + irq + softirq) * e->tick_ns;
	return 0;
}

static int join(char *buf, size_t size, const char *dir, const char *file)
{
	return (size_t)snprintf(buf, size, "%s/%s", dir, file) < size ? 0 : -ENAMETOOLONG;
}

/* ROOT/intel-rapl:N, N only, named package-*: see energy.h. */
static int add_zone(struct omt_energy *e, const char *entry)
{
	struct zone *z = &e->zones[e->n_zones];
	const char *p = entry + strlen(ZONE_PREFIX);
	char dir[PATH_MAX], path[PATH_MAX], name[64];
	int err;

	if (strncmp(entry, ZONE_PREFIX, strlen(ZONE_PREFIX)) || !*p)
		return 0;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	if ((err = join(dir, sizeof(dir), e->root, entry)) ||
	    (err = join(path, sizeof(path), dir, "name")) ||
	    (err = join(z->path, sizeof(z->path), dir, "energy_uj")))
		return err;
	if (omt_read_text(path, name, sizeof(name)) || strncmp(name, "package-", 8))
		return 0;
	if ((err = read_u64(z->path, &z->last_uj)))
		return err;
	if (join(path, sizeof(path), dir, "max_energy_range_uj") || read_u64(path, &z->max_uj))
		z->max_uj = 0;
	e->n_zones++;
	return 0;
}

static void probe(struct omt_energy *e)
{
	struct dirent *de;
	DIR *d = opendir(e->root);
	int err, first = 0;

	while (d && (de = readdir(d)) && e->n_zones < MAX_ZONES)
		if ((err = add_zone(e, de->d_name)) && !first)
			first = err;
	if (d)
		closedir(d);
	e->available = e->n_zones > 0;
	if (e->available)
		pr_debug("energy: %d RAPL package counter(s) under %s", e->n_zones, e->root);
	else if (first)
		pr_info("energy: RAPL counters under %s unreadable (%s); "
			"omerta_vm_energy_joules_total stays 0", e->root, strerror(-first));
	else
		pr_info("energy: no RAPL counters under %s; omerta_vm_energy_joules_total stays 0",
			e->root);
}

struct omt_energy *omt_energy_new(const char *powercap_root, const char *proc_stat)
{
	struct omt_energy *e = calloc(1, sizeof(*e));
	long hz = sysconf(_SC_CLK_TCK);

	if (!e)
		return NULL;
	snprintf(e->root, sizeof(e->root), "%s", powercap_root ? powercap_root : OMT_ENERGY_POWERCAP);
	snprintf(e->stat, sizeof(e->stat), "%s", proc_stat ? proc_stat : OMT_ENERGY_PROC_STAT);
	e->tick_ns = 1000000000ULL / (uint64_t)(hz > 0 ? hz : 100);
	probe(e);
	return e;
}

void omt_energy_free(struct omt_energy *e)
{
	free(e);
}

bool omt_energy_available(const struct omt_energy *e)
{
	return e->available;
}

double omt_energy_host_watts(const struct omt_energy *e)
{
	return e->host_watts;
}

/*
 * Since the last reading; a counter that went back has wrapped (once: at
 * a few hundred watts a wrap takes tens of minutes, we sample in seconds).
 */
static uint64_t zone_delta(const struct zone *z, uint64_t uj)
{
	if (uj >= z->last_uj)
		return uj - z->last_uj;
	return z->max_uj > z->last_uj ? z->max_uj - z->last_uj + uj : 0;
}

/* The VM was in the previous sample, and its cgroup is the same. */
static bool vm_has_base(const struct omt_energy_vm *v, uint64_t seq)
{
	return v->last_seq && v->last_seq == seq - 1 && v->cpu_ns >= v->last_cpu_ns;
}

int omt_energy_sample(struct omt_energy *e, struct omt_energy_vm *vms, size_t n)
{
	uint64_t uj[MAX_ZONES], busy = 0, busy_d, vm_cpu = 0, denom = 0;
	uint64_t now = omt_clock_ns(CLOCK_MONOTONIC);
	uint64_t seq = ++e->seq;
	const char *what = e->stat;
	double joules = 0, dt = 0;
	bool interval;
	int i, err = 0;
	size_t k;

	if (e->available) {
		err = read_busy(e, &busy);
		for (i = 0; !err && i < e->n_zones; i++) {
			what = e->zones[i].path;
			err = read_u64(what, &uj[i]);
		}
		if (err && !e->warned) {
			pr_warn("energy: %s: %s; intervals without it count nothing", what,
				strerror(-err));
			e->warned = true;
		}
	}
	interval = e->available && !err && e->have_base;
	e->host_watts = 0;
	if (interval) {
		for (i = 0; i < e->n_zones; i++)
			joules += zone_delta(&e->zones[i], uj[i]) / 1e6;
		for (k = 0; k < n; k++)
			if (vm_has_base(&vms[k], seq))
				vm_cpu += vms[k].cpu_ns - vms[k].last_cpu_ns;
		busy_d = busy >= e->last_busy_ns ? busy - e->last_busy_ns : 0;
		denom = busy_d > vm_cpu ? busy_d : vm_cpu;
		dt = (now - e->last_ns) / 1e9;
		if (dt > 0)
			e->host_watts = joules / dt;
	}
	for (k = 0; k < n; k++) {
		struct omt_energy_vm *v = &vms[k];
		double j = 0;

		if (interval && denom && vm_has_base(v, seq))
			j = joules * (double)(v->cpu_ns - v->last_cpu_ns) / (double)denom;
		v->joules += j;
		v->watts = dt > 0 ? j / dt : 0;
		v->last_cpu_ns = v->cpu_ns;
		v->last_seq = seq;
	}
	e->have_base = e->available && !err;
	if (e->have_base) {
		for (i = 0; i < e->n_zones; i++)
			e->zones[i].last_uj = uj[i];
		e->last_busy_ns = busy;
		e->last_ns = now;
	}
	return err;
}

void omt_energy_cap_quota(const struct omt_energy_caps *caps, struct omt_energy_quota *q,
			  size_t n, unsigned int ncpus)
{
	double full = (double)(ncpus ? ncpus : 1) * OMT_CPU_PERIOD_US;
	double sum = 0, total_f = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (q[i].watts > 0)
			sum += q[i].watts;
	if (caps->total_watts > 0 && sum > 0)
		total_f = caps->total_watts / sum;
	for (i = 0; i < n; i++) {
		double top = q[i].limit_us >= 0 ? (double)q[i].limit_us : full;
		double cur = q[i].quota_us >= 0 ? (double)q[i].quota_us : full;
		double low = OMT_CPU_QUOTA_MIN_US < top ? OMT_CPU_QUOTA_MIN_US : top;
		double f = 1.10, v;	/* no cap applies: recover */

		if (q[i].watts > 0 && caps->vm_watts > 0 && caps->vm_watts / q[i].watts < f)
			f = caps->vm_watts / q[i].watts;
		if (q[i].watts > 0 && total_f > 0 && total_f < f)
			f = total_f;
		if (cur > top)
			cur = top;
		v = cur * f;
		if (v < low)
			v = low;
		q[i].new_quota_us = v < top ? (long)v : q[i].limit_us >= 0 ? q[i].limit_us : -1;
	}
}
