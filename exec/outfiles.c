// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The order, sizes and budget are api/outpath.c's to check; this file only
 * writes what passed, through lib/beneath.h: each "file" or "dir" walks
 * from the directory's fd to its parent one component at a time with
 * O_NOFOLLOW | O_DIRECTORY (so a symlink anywhere on the way is refused,
 * whoever planted it), then creates the last component with O_CREAT |
 * O_EXCL (a file) or mkdirat (a directory): nothing there is ever followed,
 * opened for writing or replaced. Parents are not created implicitly: the
 * guest sends "dir" for each one first, so every inode made here was
 * counted against max_files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../api/outpath.h"
#include "../lib/beneath.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "outfiles.h"

#define QUOTE_MAX 200

struct omt_outfiles {
	struct omt_beneath dir;		/* the directory, and the last entry's parent */
	int fd;				/* the file being written, or -1 */
	char name[OMT_MSG_MAX_NAME + 1];	/* its name in dir.parent */
	unsigned int mode;		/* its mode once complete */
	uint64_t file_bytes;		/* written to it so far */
	uint64_t files, bytes;		/* complete */
	int err;
	struct omt_outpath check;
	char error[1024];
};

struct omt_outfiles *omt_outfiles_new(const char *dir, uint64_t max_bytes, uint64_t max_files,
				      char *err, size_t errlen)
{
	struct omt_outfiles *o = calloc(1, sizeof(*o));
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	int e;

	if (!o) {
		omt_errf(err, errlen, "out of memory");
		return NULL;
	}
	e = omt_beneath_open(&o->dir, dir);
	if (e) {
		omt_errf(err, errlen, "output directory %s: %s", omt_quote(q, dir, QUOTE_MAX),
			 strerror(-e));
		free(o);
		return NULL;
	}
	o->fd = -1;
	omt_outpath_init(&o->check, max_bytes, max_files);
	return o;
}

/* The partial file goes: a consumer must not take it for the whole. */
static void discard(struct omt_outfiles *o)
{
	if (o->fd < 0)
		return;
	omt_beneath_discard(o->dir.parent, o->name, o->fd);
	o->fd = -1;
}

static __attribute__((format(printf, 3, 4))) int fail(struct omt_outfiles *o, int err,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->error, sizeof(o->error), fmt, ap);
	va_end(ap);
	o->err = err;
	discard(o);
	return err;
}

/* Why a directory is not one. */
static const char *why(int e)
{
	return omt_beneath_strerror(e, "no such directory (no \"dir\" for it first)");
}

/* The parent of m->path (o->dir.parent); *name is the last component. */
static int open_parent(struct omt_outfiles *o, const struct omt_msg *m, const char **name)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)], q2[OMT_QUOTE_SIZE(QUOTE_MAX)];
	char prefix[OMT_MSG_MAX_PATH + 1];
	size_t bad;
	int fd;

	fd = omt_beneath_parent(&o->dir, m->path, name, &bad);
	if (fd >= 0)
		return 0;
	if (!bad)
		return fail(o, fd, "%s: %s", omt_quote(q, m->path, QUOTE_MAX), strerror(-fd));
	memcpy(prefix, m->path, bad);
	prefix[bad] = '\0';
	return fail(o, fd, "%s: %s is %s", omt_quote(q, m->path, QUOTE_MAX),
		    omt_quote(q2, prefix, QUOTE_MAX), why(-fd));
}

static int create_file(struct omt_outfiles *o, const struct omt_msg *m)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	const char *name;
	int fd, ret;

	ret = open_parent(o, m, &name);
	if (ret)
		return ret;
	/* 0600 until it is complete: nobody reads half a file as the file. */
	fd = omt_beneath_create(o->dir.parent, name, 0600);
	if (fd < 0)
		return fail(o, fd, "file %s: %s", omt_quote(q, m->path, QUOTE_MAX),
			    fd == -EEXIST ? "exists already" : strerror(-fd));
	o->fd = fd;
	strcpy(o->name, name);
	o->mode = omt_outpath_mode(m->mode);
	o->file_bytes = 0;
	return 0;
}

static int create_dir(struct omt_outfiles *o, const struct omt_msg *m)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	const char *name;
	int ret, in_the_way;

	ret = open_parent(o, m, &name);
	if (ret)
		return ret;
	/* One that is there already is fine, if it is a directory. */
	ret = omt_beneath_mkdir(o->dir.parent, name, 0755, &in_the_way);
	if (ret == -EEXIST && in_the_way)
		return fail(o, ret, "dir %s: exists and is %s", omt_quote(q, m->path, QUOTE_MAX),
			    why(in_the_way));
	if (ret)
		return fail(o, ret, "dir %s: %s", omt_quote(q, m->path, QUOTE_MAX), strerror(-ret));
	o->files++;
	return 0;
}

static int finish_file(struct omt_outfiles *o)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	int fd = o->fd, e;

	if (fchmod(fd, o->mode) < 0)
		return fail(o, -errno, "file %s: chmod: %s", omt_quote(q, o->check.path, QUOTE_MAX),
			    strerror(errno));
	o->fd = -1;
	if (close(fd) < 0) {
		e = errno;
		omt_beneath_discard(o->dir.parent, o->name, -1);
		return fail(o, -e, "file %s: %s", omt_quote(q, o->check.path, QUOTE_MAX),
			    strerror(e));
	}
	o->files++;
	o->bytes += o->file_bytes;
	return 0;
}

int omt_outfiles_feed(struct omt_outfiles *o, const struct omt_msg *m)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	int ret;

	if (o->err)
		return o->err;
	ret = omt_outpath_step(&o->check, m, o->error, sizeof(o->error));
	if (ret < 0) {
		o->err = ret;
		discard(o);
		return ret;
	}
	switch (m->type) {
	case OMT_MSG_DIR:
		return create_dir(o, m);
	case OMT_MSG_FILE:
		return create_file(o, m);
	case OMT_MSG_FDATA:
		ret = omt_write_all(o->fd, m->data, m->len);
		if (ret)
			return fail(o, ret, "file %s: %s", omt_quote(q, o->check.path, QUOTE_MAX),
				    strerror(-ret));
		o->file_bytes += m->len;
		return 0;
	case OMT_MSG_FEND:
		return finish_file(o);
	case OMT_MSG_SKIP:
		pr_info("output %s: a %s, not copied", omt_quote(q, m->path, QUOTE_MAX),
			omt_skip_kind_name(m->kind));
		return 0;
	default:	/* OUTDONE (ret 1), or what omt_outpath_step refused already */
		return ret;
	}
}

const char *omt_outfiles_error(const struct omt_outfiles *o)
{
	return o->err ? o->error : NULL;
}

void omt_outfiles_stats(const struct omt_outfiles *o, uint64_t *files, uint64_t *bytes)
{
	if (files)
		*files = o->files;
	if (bytes)
		*bytes = o->bytes;
}

void omt_outfiles_free(struct omt_outfiles *o)
{
	if (!o)
		return;
	discard(o);
	omt_beneath_close(&o->dir);
	free(o);
}
