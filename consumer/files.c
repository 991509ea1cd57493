// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta submit --output DIR: the job's files (GET /v1/jobs/ID/files)
 * written under DIR. The provider is a stranger here: its answer was
 * bounded by the parser (api/job.c: relative paths without "." or "..",
 * at most 64 MiB and 10000 entries), the paths are checked once more, and
 * every name is created relative to DIR's fd, one component at a time:
 * directories walked with O_NOFOLLOW | O_DIRECTORY, files created with
 * O_CREAT | O_EXCL | O_NOFOLLOW. Nothing is followed, replaced or written
 * outside DIR. No parent is made on the way: a file's directory is DIR or
 * one the answer lists in "dirs" (parent first), as exec's own writer
 * (exec/outfiles.c) has it for the guest's messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../api/job.h"
#include "../lib/file.h"
#include "../lib/text.h"
#include "cli.h"

#define QUOTE_MAX 200

struct writer {
	int dirfd;			/* DIR, O_PATH */
	int parent;			/* the last entry's directory, or -1 */
	char *parent_path;		/* its path under DIR ("" for DIR) */
	char *err;
	size_t errlen;
};

static const char *why(int e)
{
	if (e == ENOTDIR || e == ELOOP)
		return "not a directory (a symlink?)";
	if (e == ENOENT)
		return "no such directory (not among the answer's dirs, before it)";
	return strerror(e);
}

/* Opens the directory path's last component is in; *name is that component. */
static int open_parent(struct writer *w, const char *path, const char **name)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)], q2[OMT_QUOTE_SIZE(QUOTE_MAX)], *comp;
	const char *slash = strrchr(path, '/'), *p, *end;
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	int fd, next, e;

	*name = slash ? slash + 1 : path;
	if (w->parent >= 0 && strlen(w->parent_path) == dlen && !memcmp(w->parent_path, path, dlen))
		return 0;
	if (w->parent >= 0)
		close(w->parent);
	w->parent = -1;
	free(w->parent_path);
	w->parent_path = strndup(path, dlen);
	if (!w->parent_path)
		return -ENOMEM;
	fd = fcntl(w->dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (p = path; p < path + dlen; p = end + 1) {
		end = memchr(p, '/', path + dlen - p);
		if (!end)
			end = path + dlen;
		comp = strndup(p, end - p);
		next = comp ? openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		e = comp ? errno : ENOMEM;
		free(comp);
		close(fd);
		if (next < 0) {
			comp = strndup(path, end - path);
			omt_errf(w->err, w->errlen, "%s: %s is %s", omt_quote(q, path, QUOTE_MAX),
				 omt_quote(q2, comp ? comp : "", QUOTE_MAX), why(e));
			free(comp);
			return -e;
		}
		fd = next;
	}
	w->parent = fd;
	return 0;
}

static int make_dir(struct writer *w, const char *path)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	const char *name;
	int fd, e;

	e = open_parent(w, path, &name);
	if (e)
		return e;
	if (mkdirat(w->parent, name, 0755) == 0)
		return 0;
	if (errno != EEXIST) {
		e = -errno;
		omt_errf(w->err, w->errlen, "directory %s: %s", omt_quote(q, path, QUOTE_MAX),
			 strerror(-e));
		return e;
	}
	/* One that is there already will do, if it is a directory and no symlink. */
	fd = openat(w->parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		omt_errf(w->err, w->errlen, "directory %s: exists and is %s",
			 omt_quote(q, path, QUOTE_MAX), why(errno));
		return -EEXIST;
	}
	close(fd);
	return 0;
}

static int write_file(struct writer *w, const struct omt_job_file *f)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	const char *name;
	int fd, e;

	e = open_parent(w, f->path, &name);
	if (e)
		return e;
	/* 0600 until it is whole: a half file must not pass for the file. */
	fd = openat(w->parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		e = -errno;
		omt_errf(w->err, w->errlen, "file %s: %s", omt_quote(q, f->path, QUOTE_MAX),
			 e == -EEXIST ? "exists already (nothing is replaced)" : strerror(-e));
		return e;
	}
	e = omt_write_all(fd, f->data, f->len);
	/* Only whether its owner may run it, as exec does. */
	if (!e && fchmod(fd, f->mode & 0100 ? 0755 : 0644) < 0)
		e = -errno;
	if (close(fd) < 0 && !e)
		e = -errno;
	if (e) {
		unlinkat(w->parent, name, 0);
		omt_errf(w->err, w->errlen, "file %s: %s", omt_quote(q, f->path, QUOTE_MAX),
			 strerror(-e));
	}
	return e;
}

int cli_write_files(const char *dir, const struct omt_job_files *f, char *err, size_t errlen)
{
	struct writer w = { .parent = -1, .err = err, .errlen = errlen };
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	size_t i;
	int e = 0;

	w.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w.dirfd < 0) {
		e = -errno;
		omt_errf(err, errlen, "%s: %s", omt_quote(q, dir, QUOTE_MAX), strerror(-e));
		return e;
	}
	for (i = 0; !e && i < f->n_dirs; i++) {
		if (omt_job_file_path_check(f->dirs[i], strlen(f->dirs[i]))) {
			omt_errf(err, errlen, "directory %s: not a relative path inside",
				 omt_quote(q, f->dirs[i], QUOTE_MAX));
			e = -EINVAL;
		} else {
			e = make_dir(&w, f->dirs[i]);
		}
	}
	for (i = 0; !e && i < f->n_files; i++) {
		if (omt_job_file_path_check(f->files[i].path, strlen(f->files[i].path))) {
			omt_errf(err, errlen, "file %s: not a relative path inside",
				 omt_quote(q, f->files[i].path, QUOTE_MAX));
			e = -EINVAL;
		} else {
			e = write_file(&w, &f->files[i]);
		}
	}
	if (e == -ENOMEM)
		omt_errf(err, errlen, "out of memory");
	if (w.parent >= 0)
		close(w.parent);
	free(w.parent_path);
	close(w.dirfd);
	return e;
}
