// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta submit --output DIR: the job's files (GET /v1/jobs/ID/files)
 * written under DIR. The provider is a stranger here: its answer was
 * bounded by the parser (api/job.c: relative paths without "." or "..",
 * at most 64 MiB and 10000 entries), the paths are checked once more, and
 * every name is created relative to DIR's fd, one component at a time
 * (lib/beneath.h): directories walked with O_NOFOLLOW | O_DIRECTORY, files
 * created with O_CREAT | O_EXCL | O_NOFOLLOW. Nothing is followed, replaced
 * or written outside DIR. No parent is made on the way: a file's directory is DIR or
 * one the answer lists in "dirs" (parent first), as exec's own writer
 * (exec/outfiles.c) has it for the guest's messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../api/job.h"
#include "../lib/beneath.h"
#include "../lib/file.h"
#include "../lib/text.h"
#include "cli.h"

#define QUOTE_MAX 200

struct writer {
	struct omt_beneath dir;		/* DIR, and the last entry's parent */
	char *err;
	size_t errlen;
};

/* Why a directory is not one. */
static const char *why(int e)
{
	return omt_beneath_strerror(e, "no such directory (not among the answer's dirs, before it)");
}

/* The directory path's last component is in (w->dir.parent); *name is that component. */
static int open_parent(struct writer *w, const char *path, const char **name)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)], q2[OMT_QUOTE_SIZE(QUOTE_MAX)], *prefix;
	size_t bad;
	int fd;

	fd = omt_beneath_parent(&w->dir, path, name, &bad);
	if (fd >= 0)
		return 0;
	if (!bad) {
		omt_errf(w->err, w->errlen, "%s: %s", omt_quote(q, path, QUOTE_MAX), strerror(-fd));
		return fd;
	}
	prefix = strndup(path, bad);
	omt_errf(w->err, w->errlen, "%s: %s is %s", omt_quote(q, path, QUOTE_MAX),
		 omt_quote(q2, prefix ? prefix : "", QUOTE_MAX), why(-fd));
	free(prefix);
	return fd;
}

static int make_dir(struct writer *w, const char *path)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	const char *name;
	int e, in_the_way;

	e = open_parent(w, path, &name);
	if (e)
		return e;
	/* One that is there already will do, if it is a directory and no symlink. */
	e = omt_beneath_mkdir(w->dir.parent, name, 0755, &in_the_way);
	if (e == -EEXIST && in_the_way)
		omt_errf(w->err, w->errlen, "directory %s: exists and is %s",
			 omt_quote(q, path, QUOTE_MAX), why(in_the_way));
	else if (e)
		omt_errf(w->err, w->errlen, "directory %s: %s", omt_quote(q, path, QUOTE_MAX),
			 strerror(-e));
	return e;
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
	fd = omt_beneath_create(w->dir.parent, name, 0600);
	if (fd < 0) {
		omt_errf(w->err, w->errlen, "file %s: %s", omt_quote(q, f->path, QUOTE_MAX),
			 fd == -EEXIST ? "exists already (nothing is replaced)" : strerror(-fd));
		return fd;
	}
	e = omt_write_all(fd, f->data, f->len);
	/* Only whether its owner may run it, as exec does. */
	if (!e && fchmod(fd, f->mode & 0100 ? 0755 : 0644) < 0)
		e = -errno;
	if (close(fd) < 0 && !e)
		e = -errno;
	if (e) {
		omt_beneath_discard(w->dir.parent, name, -1);
		omt_errf(w->err, w->errlen, "file %s: %s", omt_quote(q, f->path, QUOTE_MAX),
			 strerror(-e));
	}
	return e;
}

int cli_write_files(const char *dir, const struct omt_job_files *f, char *err, size_t errlen)
{
	struct writer w = { .err = err, .errlen = errlen };
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	size_t i;
	int e;

	e = omt_beneath_open(&w.dir, dir);
	if (e) {
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
	omt_beneath_close(&w.dir);
	return e;
}
