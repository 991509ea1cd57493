// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/file.h"
#include "cgroup.h"

#define CG_ROOT "/sys/fs/cgroup"

/* Where cgroup2 is mounted, and whether v1 cpu/memory hierarchies exist. */
static int find_layout(char *v2, size_t size, int *hybrid)
{
	struct mntent *m;
	FILE *mt = setmntent("/proc/self/mounts", "re");
	int found = 0;

	if (!mt)
		return -errno;
	*hybrid = 0;
	while ((m = getmntent(mt))) {
		if (strcmp(m->mnt_type, "cgroup2") == 0 && !found) {
			snprintf(v2, size, "%s", m->mnt_dir);
			found = 1;
		} else if (strcmp(m->mnt_type, "cgroup") == 0 &&
			   (hasmntopt(m, "cpu") || hasmntopt(m, "memory"))) {
			*hybrid = 1;
		}
	}
	endmntent(mt);
	return found ? 0 : -ENOENT;
}

static int write_str(const char *dir, const char *file, const char *val)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * parent/omerta/job. The shared omerta/ level gets the lowest CPU weight
 * too (weight_file, e.g. "cpu.shares" = "2"): siblings compete by their
 * parents' weights, and at the default one all jobs together would take
 * half a busy owner's CPU.
 */
static int mkdir_p2(const char *parent, const char *job, char *out, size_t size,
		    const char *weight_file, const char *weight)
{
	char omerta[200];

	snprintf(omerta, sizeof(omerta), "%s/omerta", parent);
	if (mkdir(omerta, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (weight_file) {
		int e = write_str(omerta, weight_file, weight);

		if (e)
			return e;
	}
	snprintf(out, size, "%s/%s", omerta, job);
	return mkdir(out, 0755) < 0 ? -errno : 0;
}

int omt_cgroup_create(struct omt_cgroup *cg, const char *job, unsigned int cpu_millis,
		      uint64_t memory_bytes, char *err, size_t errlen)
{
	char v2root[200], val[64], dir[256];
	int hybrid = 0, e;

	memset(cg, 0, sizeof(*cg));
	cg->v2_fd = -1;
	e = find_layout(v2root, sizeof(v2root), &hybrid);
	if (e) {
		snprintf(err, errlen, "no cgroup2 mount (needed for the cgroup guard)");
		return e;
	}
	/* On pure v2 the weight can only be set once the controller is on. */
	e = mkdir_p2(v2root, job, cg->v2, sizeof(cg->v2), NULL, NULL);
	if (e) {
		snprintf(err, errlen, "create %s: %s", cg->v2, strerror(-e));
		return e;
	}
	memcpy(cg->dirs[cg->n_dirs++], cg->v2, sizeof(cg->v2));

	if (!hybrid) {
		/* Pure v2: the controllers must be enabled down to our directory. */
		char omerta[256];

		snprintf(omerta, sizeof(omerta), "%s/omerta", v2root);
		if ((e = write_str(v2root, "cgroup.subtree_control", "+cpu +memory")) ||
		    (e = write_str(omerta, "cpu.weight", "1")) ||
		    (e = write_str(omerta, "cgroup.subtree_control", "+cpu +memory"))) {
			snprintf(err, errlen, "enable cpu and memory controllers under %s: %s",
				 omerta, strerror(-e));
			goto fail;
		}
		snprintf(val, sizeof(val), "%u 100000", cpu_millis * 100);
		if ((e = write_str(cg->v2, "cpu.max", val))) {
			snprintf(err, errlen, "%s/cpu.max = '%s': %s", cg->v2, val, strerror(-e));
			goto fail;
		}
		/* The lowest weight there is: the owner's work comes first. */
		if ((e = write_str(cg->v2, "cpu.weight", "1"))) {
			snprintf(err, errlen, "%s/cpu.weight = '1': %s", cg->v2, strerror(-e));
			goto fail;
		}
		snprintf(val, sizeof(val), "%llu", (unsigned long long)memory_bytes);
		if ((e = write_str(cg->v2, "memory.max", val))) {
			snprintf(err, errlen, "%s/memory.max = '%s': %s", cg->v2, val, strerror(-e));
			goto fail;
		}
		/* Without swap accounting the file is absent: nothing to limit. */
		e = write_str(cg->v2, "memory.swap.max", "0");
		if (e && e != -ENOENT) {
			snprintf(err, errlen, "%s/memory.swap.max = '0': %s", cg->v2, strerror(-e));
			goto fail;
		}
	} else {
		e = mkdir_p2(CG_ROOT "/cpu", job, dir, sizeof(dir), "cpu.shares", "2");
		if (e) {
			snprintf(err, errlen, "create %s: %s", dir, strerror(-e));
			goto fail;
		}
		snprintf(cg->dirs[cg->n_dirs++], sizeof(cg->dirs[0]), "%s", dir);
		snprintf(val, sizeof(val), "%u", cpu_millis * 100);
		if ((e = write_str(dir, "cpu.cfs_period_us", "100000")) ||
		    (e = write_str(dir, "cpu.cfs_quota_us", val))) {
			snprintf(err, errlen, "%s/cpu.cfs_quota_us = '%s': %s", dir, val, strerror(-e));
			goto fail;
		}
		/* The lowest weight there is: the owner's work comes first. */
		if ((e = write_str(dir, "cpu.shares", "2"))) {
			snprintf(err, errlen, "%s/cpu.shares = '2': %s", dir, strerror(-e));
			goto fail;
		}
		e = mkdir_p2(CG_ROOT "/memory", job, dir, sizeof(dir), NULL, NULL);
		if (e) {
			snprintf(err, errlen, "create %s: %s", dir, strerror(-e));
			goto fail;
		}
		snprintf(cg->dirs[cg->n_dirs++], sizeof(cg->dirs[0]), "%s", dir);
		snprintf(val, sizeof(val), "%llu", (unsigned long long)memory_bytes);
		if ((e = write_str(dir, "memory.limit_in_bytes", val))) {
			snprintf(err, errlen, "%s/memory.limit_in_bytes = '%s': %s", dir, val,
				 strerror(-e));
			goto fail;
		}
	}
	cg->v2_fd = open(cg->v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->v2_fd < 0) {
		e = -errno;
		snprintf(err, errlen, "open %s: %s", cg->v2, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	omt_cgroup_destroy(cg);
	return e;
}

int omt_cgroup_guests_cpu_stat(char *path, size_t size)
{
	char v2root[200];
	int hybrid = 0, e;

	if ((e = find_layout(v2root, sizeof(v2root), &hybrid)))
		return e;
	snprintf(path, size, "%s/omerta/cpu.stat", v2root);
	return 0;
}

int omt_cgroup_lookup(struct omt_cgroup *cg, const char *job)
{
	char v2root[200], dir[256];
	int hybrid = 0, e;
	struct stat st;

	memset(cg, 0, sizeof(*cg));
	cg->v2_fd = -1;
	if ((e = find_layout(v2root, sizeof(v2root), &hybrid)))
		return e;
	snprintf(cg->v2, sizeof(cg->v2), "%s/omerta/%s", v2root, job);
	if (stat(cg->v2, &st) < 0)
		return -errno;
	memcpy(cg->dirs[cg->n_dirs++], cg->v2, sizeof(cg->v2));
	snprintf(dir, sizeof(dir), CG_ROOT "/cpu/omerta/%s", job);
	if (hybrid && stat(dir, &st) == 0)
		snprintf(cg->dirs[cg->n_dirs++], sizeof(cg->dirs[0]), "%s", dir);
	return 0;
}

int omt_cgroup_join(const struct omt_cgroup *cg, pid_t pid)
{
	char val[32];
	int i, e;

	snprintf(val, sizeof(val), "%d", (int)pid);
	for (i = 0; i < cg->n_dirs; i++)
		if ((e = write_str(cg->dirs[i], "cgroup.procs", val)))
			return e;
	return 0;
}

int omt_cgroup_destroy(struct omt_cgroup *cg)
{
	int i, ret = 0;

	if (cg->v2_fd >= 0)
		close(cg->v2_fd);
	cg->v2_fd = -1;
	for (i = cg->n_dirs - 1; i >= 0; i--) {
		char *slash;

		if (rmdir(cg->dirs[i]) < 0 && errno != ENOENT)
			ret = -errno;
		/* The shared omerta/ parent goes with the last job (EBUSY before). */
		slash = strrchr(cg->dirs[i], '/');
		if (slash) {
			*slash = '\0';
			rmdir(cg->dirs[i]);
		}
	}
	cg->n_dirs = 0;
	return ret;
}

void omt_cgroup_remove_stale(const char *job)
{
	static const char *const parents[] = { CG_ROOT "/unified", CG_ROOT "/cpu",
					       CG_ROOT "/memory", CG_ROOT };
	char dir[300];
	size_t i;

	for (i = 0; i < sizeof(parents) / sizeof(parents[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/omerta/%s", parents[i], job);
		rmdir(dir);
		snprintf(dir, sizeof(dir), "%s/omerta", parents[i]);
		rmdir(dir);
	}
}

static int has_file(const char *dir, const char *file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

int omt_cgroup_set_cpu_max(const struct omt_cgroup *cg, long quota_us, long period_us)
{
	char val[64], period[32];
	int i, e;

	for (i = 0; i < cg->n_dirs; i++) {
		if (has_file(cg->dirs[i], "cpu.max")) {
			if (quota_us < 0)
				snprintf(val, sizeof(val), "max %ld", period_us);
			else
				snprintf(val, sizeof(val), "%ld %ld", quota_us, period_us);
			return write_str(cg->dirs[i], "cpu.max", val);
		}
		if (has_file(cg->dirs[i], "cpu.cfs_quota_us")) {
			snprintf(period, sizeof(period), "%ld", period_us);
			snprintf(val, sizeof(val), "%ld", quota_us < 0 ? -1L : quota_us);
			if ((e = write_str(cg->dirs[i], "cpu.cfs_period_us", period)))
				return e;
			return write_str(cg->dirs[i], "cpu.cfs_quota_us", val);
		}
	}
	return -ENOENT;
}

int omt_cgroup_set_idle(const struct omt_cgroup *cg, int idle)
{
	int i;

	for (i = 0; i < cg->n_dirs; i++)
		if (has_file(cg->dirs[i], "cpu.idle"))
			return write_str(cg->dirs[i], "cpu.idle", idle ? "1" : "0");
	return -ENOENT;
}

static int read_str(const char *dir, const char *file, char *buf, size_t size)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return omt_read_text(path, buf, size);
}

int omt_cgroup_usage_parse(const char *text, uint64_t *ns)
{
	unsigned long long v;
	const char *p = strstr(text, "usage_usec ");

	if (p && (p == text || p[-1] == '\n') && sscanf(p, "usage_usec %llu", &v) == 1) {
		*ns = (uint64_t)v * 1000;
		return 0;
	}
	if (text[0] >= '0' && text[0] <= '9' && sscanf(text, "%llu", &v) == 1) {
		*ns = v;
		return 0;
	}
	return -EPROTO;
}

int omt_cgroup_cpu_usage_ns(const struct omt_cgroup *cg, uint64_t *ns)
{
	char buf[1024];
	int i;

	if (cg->v2[0] && read_str(cg->v2, "cpu.stat", buf, sizeof(buf)) == 0 &&
	    omt_cgroup_usage_parse(buf, ns) == 0)
		return 0;
	for (i = 0; i < cg->n_dirs; i++)
		if (read_str(cg->dirs[i], "cpuacct.usage", buf, sizeof(buf)) == 0 &&
		    omt_cgroup_usage_parse(buf, ns) == 0)
			return 0;
	return -ENOENT;
}
