// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/netfilter.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../bpf/omerta_abi.h"
#include "../lib/log.h"
#include "../lib/tree.h"
#include "../nl/nft.h"
#include "../nl/rtnl.h"
#include "../vmctl/cgroup.h"
#include "jobdir.h"
#include "vmnet.h"

static int mkdirs(void)
{
	if (mkdir(OMT_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(OMT_JOBS_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int omt_jobdir_new_id(char id[OMT_JOB_ID_LEN + 1])
{
	unsigned char r[OMT_JOB_ID_LEN / 2];

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -EIO;
	snprintf(id, OMT_JOB_ID_LEN + 1, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	return 0;
}

static int make_jobdir(const char *want, char id[OMT_JOB_ID_LEN + 1], char *dir, size_t size)
{
	int i, e;

	if ((e = mkdirs()))
		return e;
	if (want) {
		snprintf(id, OMT_JOB_ID_LEN + 1, "%s", want);
		snprintf(dir, size, "%s/%s", OMT_JOBS_DIR, id);
		return mkdir(dir, 0700) < 0 ? -errno : 0;
	}
	for (i = 0; i < 8; i++) {
		if ((e = omt_jobdir_new_id(id)))
			return e;
		snprintf(dir, size, "%s/%s", OMT_JOBS_DIR, id);
		if (mkdir(dir, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int omt_jobdir_create(const char *want, char id[OMT_JOB_ID_LEN + 1], char *dir, size_t size)
{
	int e = make_jobdir(want, id, dir, size);

	/* Not ours: whoever cleans up after us must not find it (another job's, maybe). */
	if (e)
		dir[0] = '\0';
	return e;
}

int omt_jobdir_write_text(const char *dir, const char *name, const char *text)
{
	char path[300];
	size_t n = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

int omt_jobdir_rename(char *dir, size_t size, const char *old_id, const char *new_id)
{
	char to[300];
	int e;

	/* The id the VM was set up under names its cgroup and QEMU: cleanup reads it here. */
	if ((e = omt_jobdir_write_text(dir, "vm", old_id)))
		return e;
	snprintf(to, sizeof(to), "%s/%s", OMT_JOBS_DIR, new_id);
	if (renameat2(AT_FDCWD, dir, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
		return -errno;
	snprintf(dir, size, "%s", to);
	return 0;
}

int omt_jobdir_write_pid(const char *dir, const char *name, pid_t pid)
{
	char val[32];

	snprintf(val, sizeof(val), "%d\n", (int)pid);
	return omt_jobdir_write_text(dir, name, val);
}

int omt_jobdir_remove(const char *dir)
{
	int e = omt_tree_remove(dir);

	return e == -ENOENT ? 0 : e;
}

/* The file name in dir as text, at most size - 1 bytes. 0 or -errno. */
static int read_text(const char *dir, const char *name, char *buf, size_t size)
{
	char path[300];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static pid_t read_pid(const char *dir, const char *name)
{
	char val[32];

	return read_text(dir, name, val, sizeof(val)) ? 0 : atoi(val);
}

/* Is pid alive and running a command line that contains needle? */
static int runs(pid_t pid, const char *needle)
{
	char path[64], buf[4096];
	ssize_t n, i;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void remove_stale_pins(const char *job)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/%s", OMT_PIN_JOBS_DIR, job);
	if (omt_tree_remove(dir) == 0) {
		rmdir(OMT_PIN_JOBS_DIR);
		rmdir(OMT_PIN_DIR);
	}
}

int omt_jobdir_hold(const char *dir)
{
	char path[320], locked[320];
	int fd;

	/* Locked before it has its name: an "owner" file is never unlocked while we live. */
	snprintf(locked, sizeof(locked), "%s/owner.new", dir);
	snprintf(path, sizeof(path), "%s/owner", dir);
	fd = open(locked, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || rename(locked, path) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int omt_jobdir_owned(const char *dir)
{
	char path[320];
	struct stat st;
	int fd, owned;

	snprintf(path, sizeof(path), "%s/owner", dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* A sibling exec makes its directory, then takes the lock. */
		return errno == ENOENT && stat(dir, &st) == 0 && time(NULL) - st.st_mtime < 10;
	}
	owned = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return owned;
}

int omt_jobdir_live_tap(const char *ifname)
{
	char dir[300], tap[IFNAMSIZ + 1];
	struct dirent *d;
	int found = 0;
	DIR *dd;

	dd = opendir(OMT_JOBS_DIR);
	if (!dd)
		return 0;
	while (!found && (d = readdir(dd))) {
		if (omt_job_id_validate(d->d_name))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", OMT_JOBS_DIR, d->d_name);
		found = read_text(dir, "tap", tap, sizeof(tap)) == 0 && !strcmp(tap, ifname) &&
			omt_jobdir_owned(dir);
	}
	closedir(dd);
	return found;
}

/* The driver of ifname is tun (SIOCETHTOOL works on any socket). */
static int is_tun(int sock, const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&info };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	return ioctl(sock, SIOCETHTOOL, &ifr) == 0 && strcmp(info.driver, "tun") == 0;
}

/*
 * Whether a process holds ifname's tun fd: tun has the carrier on exactly
 * then. A warm VM's tap keeps the VM's id when its job's directory takes
 * the job's: its QEMU holds it.
 */
static int tap_held(int sock, const char *ifname)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	return ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_RUNNING);
}

/*
 * Every job tap (a tun device named omtJOB) of this network namespace whose
 * job no live loader owns: made persistent from QEMU's fd, it would outlive
 * its job, unguarded, for the next one to take over.
 */
static int reap_taps(void)
{
	char dir[300];
	struct if_nameindex *ifs, *i;
	int sock, removed = 0, e;

	if (!(ifs = if_nameindex()))
		return 0;
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (i = ifs; sock >= 0 && i->if_index; i++) {
		if (strncmp(i->if_name, "omt", 3) || omt_job_id_validate(i->if_name + 3) ||
		    !is_tun(sock, i->if_name))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", OMT_JOBS_DIR, i->if_name + 3);
		if (omt_jobdir_owned(dir) || tap_held(sock, i->if_name))
			continue;
		if ((e = omt_rtnl_link_del(i->if_index)))
			pr_warn("tap %s: %s", i->if_name, strerror(-e));
		else
			pr_info("removed tap %s, which no live job owns", i->if_name);
		removed += !e;
	}
	if (sock >= 0)
		close(sock);
	if_freenameindex(ifs);
	return removed;
}

int omt_jobdir_reap_stale(void)
{
	char dir[300], table[64], tag[64];
	struct dirent *d;
	int removed = 0;
	char id[OMT_JOB_ID_LEN + 1], vm[OMT_JOB_ID_LEN + 1];
	pid_t qemu;
	DIR *dd;

	dd = opendir(OMT_JOBS_DIR);
	if (!dd)
		return reap_taps();
	while ((d = readdir(dd))) {
		if (omt_job_id_validate(d->d_name))
			continue;
		memcpy(id, d->d_name, sizeof(id));
		snprintf(dir, sizeof(dir), "%s/%s", OMT_JOBS_DIR, id);
		if (omt_jobdir_owned(dir))
			continue;
		/* A warm VM's job: its VM was set up under the id in "vm". */
		if (read_text(dir, "vm", vm, sizeof(vm)) || omt_job_id_validate(vm))
			memcpy(vm, id, sizeof(vm));
		snprintf(tag, sizeof(tag), "omerta-%s", vm);
		qemu = read_pid(dir, "qemu.pid");
		if (runs(qemu, tag))
			kill(qemu, SIGKILL);
		omt_vmnet_table_name(id, table, sizeof(table));
		omt_nft_del_table(NFPROTO_IPV4, table);
		omt_cgroup_remove_stale(vm);
		remove_stale_pins(id);
		omt_jobdir_remove(dir);
		pr_info("removed what crashed job %s left behind", id);
		removed++;
	}
	closedir(dd);
	return removed + reap_taps();
}

int omt_jobdir_reap_files(const char *dir)
{
	char path[600], id[OMT_JOB_ID_LEN + 1];
	struct dirent *d;
	int removed = 0, e;
	DIR *dd;

	dd = opendir(dir);
	if (!dd)
		return 0;
	while ((d = readdir(dd))) {
		if (omt_is_dot(d->d_name))
			continue;
		memcpy(id, d->d_name, OMT_JOB_ID_LEN);
		id[OMT_JOB_ID_LEN] = '\0';
		if (strlen(d->d_name) <= OMT_JOB_ID_LEN || d->d_name[OMT_JOB_ID_LEN] != '.' ||
		    omt_job_id_validate(id)) {
			pr_warn("%s/%s: not a job's, left in place", dir, d->d_name);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", OMT_JOBS_DIR, id);
		if (omt_jobdir_owned(path))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		e = omt_tree_remove(path);
		if (e && e != -ENOENT)
			pr_warn("remove %s: %s", path, strerror(-e));
		else
			removed++;
	}
	closedir(dd);
	if (removed)
		pr_info("removed %d files of dead jobs from %s", removed, dir);
	return removed;
}

int omt_jobdir_reap_recorded(void)
{
	char dir[320], text[300];
	ssize_t n;
	int fd;

	fd = open(OMT_DAEMON_STATE_DIR_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 2 || text[0] != '/' || text[n - 1] != '\n') {
		pr_warn("%s: not a state directory's path", OMT_DAEMON_STATE_DIR_FILE);
		return 0;
	}
	text[n - 1] = '\0';
	snprintf(dir, sizeof(dir), "%s/jobs", text);
	return omt_jobdir_reap_files(dir);
}
