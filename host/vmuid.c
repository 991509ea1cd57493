// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmuid.h"

#define MAX_BUSY 4096	/* processes' uids in the range, at most, that we keep track of */

struct busy {
	uint32_t uid[MAX_BUSY];
	size_t n;
	int full;	/* more than MAX_BUSY: take nothing (the range is crowded by strangers) */
};

static void busy_add(struct busy *b, const struct omt_uid_range *r, unsigned long uid)
{
	size_t i;

	if (uid < r->first || uid > r->last)
		return;
	for (i = 0; i < b->n; i++)
		if (b->uid[i] == uid)
			return;
	if (b->n == MAX_BUSY)
		b->full = 1;
	else
		b->uid[b->n++] = uid;
}

/* The uids of r that processes on the host run as (their Uid: line in /proc). */
static void scan_processes(const struct omt_uid_range *r, struct busy *b)
{
	char path[300], line[256];
	struct dirent *de;
	DIR *proc = opendir("/proc");
	FILE *f;

	b->n = 0;
	b->full = 0;
	if (!proc)
		return;
	while ((de = readdir(proc))) {
		unsigned long u[4];
		int i, n;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		if (!(f = fopen(path, "re")))
			continue;	/* gone meanwhile */
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "Uid:", 4) == 0) {
				n = sscanf(line + 4, "%lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]);
				for (i = 0; i < n; i++)
					busy_add(b, r, u[i]);
				break;
			}
		fclose(f);
	}
	closedir(proc);
}

static int is_busy(const struct busy *b, uint32_t uid)
{
	size_t i;

	if (b->full)
		return 1;
	for (i = 0; i < b->n; i++)
		if (b->uid[i] == uid)
			return 1;
	return 0;
}

static int open_lock(void)
{
	int fd;

	if (mkdir(OMT_VM_UID_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(OMT_VM_UID_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	return fd < 0 ? -errno : fd;
}

static int lock_byte(int fd, uint32_t uid, int cmd, short *type)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = uid, .l_len = 1 };

	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	if (type)
		*type = fl.l_type;
	return 0;
}

int omt_vm_uid_take(const struct omt_uid_range *r, uid_t *uid, char *err, size_t errlen)
{
	static struct busy b;
	uint64_t u;
	int fd, e;

	if ((fd = open_lock()) < 0) {
		snprintf(err, errlen, "%s: %s", OMT_VM_UID_LOCK, strerror(-fd));
		return fd;
	}
	scan_processes(r, &b);
	for (u = r->first; u <= r->last; u++) {
		if (is_busy(&b, u))
			continue;
		e = lock_byte(fd, u, F_OFD_SETLK, NULL);
		if (e == -EAGAIN || e == -EACCES)
			continue;
		if (e) {
			snprintf(err, errlen, "lock uid %lu in %s: %s", (unsigned long)u,
				 OMT_VM_UID_LOCK, strerror(-e));
			close(fd);
			return e;
		}
		*uid = u;
		return fd;
	}
	close(fd);
	return -EAGAIN;
}

int omt_vm_uid_any_free(const struct omt_uid_range *r)
{
	static struct busy b;
	uint64_t u;
	short type = F_WRLCK;
	int fd, free_one = 0;

	if ((fd = open_lock()) < 0)
		return fd;
	scan_processes(r, &b);
	for (u = r->first; u <= r->last && !free_one; u++)
		if (!is_busy(&b, u) && !lock_byte(fd, u, F_OFD_GETLK, &type))
			free_one = type == F_UNLCK;
	close(fd);
	return free_one;
}

/*
 * The uids of lo..hi that a lock holds. F_OFD_GETLK names one conflicting
 * lock, not the lowest: the rest of the range is looked at on both sides.
 */
static long long count_locked(int fd, uint64_t lo, uint64_t hi)
{
	long long n = 0, below;
	struct flock fl;
	uint64_t end;

	while (lo <= hi) {
		fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = lo,
				     .l_len = hi - lo + 1 };
		if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
			return -errno;
		if (fl.l_type == F_UNLCK)
			break;
		/* Clipped to lo..hi (l_len 0: to the end of the file). */
		end = fl.l_len == 0 || (uint64_t)fl.l_start + fl.l_len > hi + 1 ?
			      hi + 1 : (uint64_t)fl.l_start + fl.l_len;
		if ((uint64_t)fl.l_start < lo)
			fl.l_start = lo;
		n += end - fl.l_start;
		if ((uint64_t)fl.l_start > lo) {
			if ((below = count_locked(fd, lo, fl.l_start - 1)) < 0)
				return below;
			n += below;
		}
		lo = end;
	}
	return n;
}

long long omt_vm_uid_count_taken(const struct omt_uid_range *r)
{
	struct busy *b = malloc(sizeof(*b));
	long long n;
	short type;
	size_t i;
	int fd;

	if (!b)
		return -ENOMEM;
	if ((fd = open_lock()) < 0) {
		free(b);
		return fd;
	}
	scan_processes(r, b);
	n = count_locked(fd, r->first, r->last);
	/* Processes' uids that no lock holds. */
	for (i = 0; n >= 0 && i < b->n; i++) {
		type = F_WRLCK;
		if (lock_byte(fd, b->uid[i], F_OFD_GETLK, &type) == 0 && type == F_UNLCK)
			n++;
	}
	if (n >= 0 && b->full)
		n = omt_uid_range_size(r);
	close(fd);
	free(b);
	return n;
}

int omt_vm_uid_check_unowned(const struct omt_uid_range *r, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	int e = 0;

	setpwent();
	while (!e && (pw = getpwent()))
		if (pw->pw_uid >= r->first && pw->pw_uid <= r->last) {
			snprintf(err, errlen, "uid %lu is user '%s'", (unsigned long)pw->pw_uid,
				 pw->pw_name);
			e = -EEXIST;
		}
	endpwent();
	setgrent();
	while (!e && (gr = getgrent()))
		if (gr->gr_gid >= r->first && gr->gr_gid <= r->last) {
			snprintf(err, errlen, "gid %lu is group '%s'", (unsigned long)gr->gr_gid,
				 gr->gr_name);
			e = -EEXIST;
		}
	endgrent();
	return e;
}
