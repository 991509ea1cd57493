// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The order, sizes and budget are api/outpath.c's to check; this file only
 * writes what passed. Each "file" or "dir" walks from the directory's fd to
 * its parent one component at a time with O_NOFOLLOW | O_DIRECTORY (so a
 * symlink anywhere on the way is refused, whoever planted it), then creates
 * the last component with O_CREAT | O_EXCL (a file) or mkdirat (a
 * directory): nothing there is ever followed, opened for writing or
 * replaced. Parents are not created implicitly: the guest sends "dir" for
 * each one first, so every inode made here was counted against max_files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../api/outpath.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "outfiles.h"

#define QUOTE_MAX 200

struct omt_outfiles {
	int dirfd;			/* the directory, O_PATH */
	int parent;			/* the last entry's directory, or -1 */
	char parent_path[OMT_MSG_MAX_PATH + 1];	/* its path under dirfd, "" for dirfd */
	int fd;				/* the file being written, or -1 */
	char name[OMT_MSG_MAX_NAME + 1];	/* its name in parent */
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

	if (!o) {
		omt_errf(err, errlen, "out of memory");
		return NULL;
	}
	o->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0) {
		omt_errf(err, errlen, "output directory %s: %s", omt_quote(q, dir, QUOTE_MAX),
			 strerror(errno));
		free(o);
		return NULL;
	}
	o->parent = -1;
	o->fd = -1;
	omt_outpath_init(&o->check, max_bytes, max_files);
	return o;
}

/* The partial file goes: a consumer must not take it for the whole. */
static void discard(struct omt_outfiles *o)
{
	if (o->fd < 0)
		return;
	close(o->fd);
	o->fd = -1;
	unlinkat(o->parent, o->name, 0);
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

static const char *why(int e)
{
	if (e == ENOTDIR || e == ELOOP)
		return "not a directory (a symlink?)";
	if (e == ENOENT)
		return "no such directory (no \"dir\" for it first)";
	return strerror(e);
}

/* Opens the parent of m->path into o->parent; *name is the last component. */
static int open_parent(struct omt_outfiles *o, const struct omt_msg *m, const char **name)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)], q2[OMT_QUOTE_SIZE(QUOTE_MAX)];
	char comp[OMT_MSG_MAX_NAME + 1];
	const char *slash = strrchr(m->path, '/'), *p, *end, *last;
	size_t dlen = slash ? (size_t)(slash - m->path) : 0;
	int fd, next, e;

	*name = slash ? slash + 1 : m->path;
	if (o->parent >= 0 && strlen(o->parent_path) == dlen &&
	    memcmp(o->parent_path, m->path, dlen) == 0)
		return 0;
	if (o->parent >= 0)
		close(o->parent);
	o->parent = -1;
	fd = fcntl(o->dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return fail(o, -errno, "%s: %s", omt_quote(q, m->path, QUOTE_MAX), strerror(errno));
	last = m->path + dlen;
	for (p = m->path; p < last; p = end + 1) {
		end = memchr(p, '/', last - p);
		if (!end)
			end = last;
		memcpy(comp, p, end - p);
		comp[end - p] = '\0';
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		close(fd);
		if (next < 0) {
			memcpy(o->parent_path, m->path, end - m->path);
			o->parent_path[end - m->path] = '\0';
			fail(o, -e, "%s: %s is %s", omt_quote(q, m->path, QUOTE_MAX),
			     omt_quote(q2, o->parent_path, QUOTE_MAX), why(e));
			o->parent_path[0] = '\0';
			return o->err;
		}
		fd = next;
	}
	o->parent = fd;
	memcpy(o->parent_path, m->path, dlen);
	o->parent_path[dlen] = '\0';
	return 0;
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
	fd = openat(o->parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY |
					     O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(o, -errno, "file %s: %s", omt_quote(q, m->path, QUOTE_MAX),
			    errno == EEXIST ? "exists already" : strerror(errno));
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
	int fd, ret;

	ret = open_parent(o, m, &name);
	if (ret)
		return ret;
	if (mkdirat(o->parent, name, 0755) == 0) {
		o->files++;
		return 0;
	}
	if (errno != EEXIST)
		return fail(o, -errno, "dir %s: %s", omt_quote(q, m->path, QUOTE_MAX),
			    strerror(errno));
	/* One that is there already is fine, if it is a directory. */
	fd = openat(o->parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(o, -EEXIST, "dir %s: exists and is %s", omt_quote(q, m->path, QUOTE_MAX),
			    why(errno));
	close(fd);
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
		unlinkat(o->parent, o->name, 0);
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
	if (o->parent >= 0)
		close(o->parent);
	close(o->dirfd);
	free(o);
}
