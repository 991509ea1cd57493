// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-loader cleanup: removes what a killed loader left in place: our
 * programs on any interface of this network namespace (only programs named
 * omt_*), their map entries, everything pinned under OMT_PIN_DIR, and the
 * jobs of loaders that are gone (QEMU, NAT table, tap, cgroups, job
 * directory), a job tap that no live job owns among them, and when no
 * daemon runs, what a dead one's jobs left in its state directory.
 * Whatever a live loader owns (its lock held: host/jobdir.h for jobs,
 * guard_lock_live for the guard verb) stays.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "../guard/guard_bpf.h"
#include "../host/jobdir.h"
#include "../lib/log.h"
#include "../proto/exit.h"
#include "verbs.h"

static int open_pinned(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", OMT_PIN_DIR, name);
	return bpf_obj_get(path);
}

static int remove_pins(void)
{
	char path[512];
	struct dirent *d;
	int ret = 0;
	DIR *dir;

	dir = opendir(OMT_PIN_DIR);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dir))) {
		/* jobs/: running jobs' maps; a dead job's go with its other leftovers. */
		if (d->d_name[0] == '.' || strcmp(d->d_name, "jobs") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", OMT_PIN_DIR, d->d_name);
		if (unlink(path) < 0) {
			pr_err("unlink %s: %s", path, strerror(errno));
			ret = -errno;
		} else {
			pr_info("unpinned %s", path);
		}
	}
	closedir(dir);
	if (rmdir(OMT_PIN_DIR) < 0 && errno != ENOENT && errno != ENOTEMPTY) {
		pr_err("rmdir %s: %s", OMT_PIN_DIR, strerror(errno));
		ret = -errno;
	}
	return ret;
}

/*
 * A dead daemon's jobs' files in the state directory it recorded: only
 * while no daemon runs (its lock free, and held here meanwhile), since a
 * live one's queued jobs own files no loader holds yet.
 */
static void reap_daemon_files(void)
{
	int lock = open(OMT_DAEMON_LOCK, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (lock < 0)
		return;
	if (flock(lock, LOCK_EX | LOCK_NB) == 0)
		omt_jobdir_reap_recorded();
	close(lock);
}

int cleanup_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct omt_guard_maps maps;
	struct if_nameindex *ifs, *i;
	char guard_dev[IFNAMSIZ + 1];
	int c, guard_live, ret = OMT_EXIT_OK;
	__u32 key, next;
	int err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("Usage: omerta-loader cleanup\n\n"
			       "Removes what killed loaders left: Omerta's guards (programs named\n"
			       "omt_*) on the interfaces of this network namespace, what is pinned\n"
			       "under %s, and the jobs under %s that no\n"
			       "live loader owns (QEMU, NAT table, cgroups, pins, directory), and\n"
			       "any job tap (a tun device omtJOB) whose job no live loader owns,\n"
			       "persistent ones too; and, when no daemon runs, the files its jobs\n"
			       "left in its state directory (state_dir/jobs, as recorded in %s).\n"
			       "What a live loader owns stays: a running job's\n"
			       "guard, pins, tap, cgroups and NAT table, and a running 'guard' verb's\n"
			       "guard and pins. Owning is a lock the loader holds (a job's\n"
			       "directory's 'owner' file, the guard's %s/guard.lock),\n"
			       "not a name. Safe to run at any time; run it in the network and mount\n"
			       "namespaces the guard or the job ran in.\n",
			       OMT_PIN_DIR, OMT_JOBS_DIR, OMT_DAEMON_STATE_DIR_FILE, OMT_RUN_DIR);
			return OMT_EXIT_OK;
		default:
			return OMT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cleanup: unexpected argument '%s'\n", argv[optind]);
		return OMT_EXIT_USAGE;
	}

	maps.policy = open_pinned("omt_policy");
	maps.flows = open_pinned("omt_flows");
	maps.totals = open_pinned("omt_totals");
	maps.ratelimit = open_pinned("omt_ratelimit");
	maps.vm = open_pinned("omt_vm");
	maps.vm_counts = open_pinned("omt_vm_counts");

	/* A live standalone guard's interface and pins stay; so do live jobs'. */
	guard_live = guard_lock_live(guard_dev, sizeof(guard_dev));
	/* Interfaces named in the policy: the clsact flag lives there. */
	if (maps.policy >= 0 && !guard_live) {
		err = bpf_map_get_next_key(maps.policy, NULL, &key);
		while (!err) {
			err = bpf_map_get_next_key(maps.policy, &key, &next);
			if (omt_guard_detach(&maps, key))
				ret = OMT_EXIT_FAIL;
			else
				pr_info("removed the guard of ifindex %u", key);
			key = next;
		}
	}
	/* Any other interface that still carries one of our programs. */
	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++) {
		if ((guard_live && !strcmp(i->if_name, guard_dev)) || omt_jobdir_live_tap(i->if_name))
			continue;
		if (omt_guard_detach(&maps, i->if_index))
			ret = OMT_EXIT_FAIL;
	}
	if_freenameindex(ifs);

	if (maps.policy >= 0)
		close(maps.policy);
	if (maps.flows >= 0)
		close(maps.flows);
	if (maps.totals >= 0)
		close(maps.totals);
	if (maps.ratelimit >= 0)
		close(maps.ratelimit);
	if (maps.vm >= 0)
		close(maps.vm);
	if (maps.vm_counts >= 0)
		close(maps.vm_counts);
	omt_jobdir_reap_stale();
	reap_daemon_files();
	if (!guard_live && remove_pins())
		ret = OMT_EXIT_FAIL;
	return ret;
}
