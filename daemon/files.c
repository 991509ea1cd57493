// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * GET /v1/jobs/ID/files: what exec wrote under ID.out, walked without
 * following anything (exec makes only files and directories there), in
 * one answer of at most OMT_JOB_FILES_MAX_BYTES of data and
 * OMT_JOB_FILES_MAX_ENTRIES entries; past them, 413 and nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/beneath.h"
#include "../lib/text.h"
#include "../lib/tree.h"
#include "internal.h"

struct walk {
	int root;
	struct omt_job_files f;
	size_t files_cap, dirs_cap;
	uint64_t bytes;
	unsigned int status;		/* the HTTP status of a failure */
	char err[FILES_ERR_LEN];
};

static __attribute__((format(printf, 3, 4))) int walk_fail(struct walk *w, unsigned int status,
							    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	w->status = status;
	return -1;
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *q;

	if (n < *cap)
		return 0;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

static int read_output_file(struct walk *w, int dir, const char *name, const char *path)
{
	char q[OMT_QUOTE_SIZE(100)];
	struct omt_job_file *f;
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "output file %s: %s",
				 omt_quote(q, path, 100), fd < 0 ? strerror(errno) : "changed");
	}
	if ((uint64_t)st.st_size > OMT_JOB_FILES_MAX_BYTES - w->bytes) {
		close(fd);
		return walk_fail(w, MHD_HTTP_CONTENT_TOO_LARGE,
				 "the job's output files hold more than the %d MiB one answer "
				 "carries (at %s)", OMT_JOB_FILES_MAX_BYTES >> 20,
				 omt_quote(q, path, 100));
	}
	if (grow((void **)&w->f.files, &w->files_cap, w->f.n_files, sizeof(*w->f.files))) {
		close(fd);
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	f = &w->f.files[w->f.n_files];
	*f = (struct omt_job_file){ .path = strdup(path), .mode = st.st_mode & 0777,
				    .data = malloc(st.st_size + 1) };
	w->f.n_files++;
	while (f->path && f->data && n < (size_t)st.st_size) {
		r = read(fd, f->data + n, st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	if (!f->path || !f->data)
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	if (n != (size_t)st.st_size)
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "output file %s: short read",
				 omt_quote(q, path, 100));
	f->len = n;
	w->bytes += n;
	return 0;
}

/* One entry of the directory fd, path from the top: a file read, a directory queued. */
static int walk_entry(struct walk *w, int fd, const char *name, const char *path)
{
	char q[OMT_QUOTE_SIZE(100)];
	struct stat st;

	if (omt_job_file_path_check(path, strlen(path)))
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "output %s: its name can't be sent (not UTF-8, or too long)",
				 omt_quote(q, path, 100));
	if (w->f.n_files + w->f.n_dirs >= OMT_JOB_FILES_MAX_ENTRIES)
		return walk_fail(w, MHD_HTTP_CONTENT_TOO_LARGE,
				 "the job's output holds more than the %d files and "
				 "directories one answer carries", OMT_JOB_FILES_MAX_ENTRIES);
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "output %s: %s",
				 omt_quote(q, path, 100), strerror(errno));
	if (S_ISREG(st.st_mode))
		return read_output_file(w, fd, name, path);
	if (!S_ISDIR(st.st_mode))
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "output %s is neither a file nor a directory",
				 omt_quote(q, path, 100));
	if (grow((void **)&w->f.dirs, &w->dirs_cap, w->f.n_dirs, sizeof(*w->f.dirs)))
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return 1;
}

/* One directory (rel, "" for the top): its files read, its directories queued in w->f.dirs. */
static int walk_dir(struct walk *w, const char *rel)
{
	char q[OMT_QUOTE_SIZE(100)], *path;
	struct dirent *de;
	int fd, ret = 0;
	DIR *dd;

	fd = omt_beneath_dir(w->root, rel, strlen(rel), O_RDONLY, NULL);
	dd = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dd) {
		if (fd >= 0)
			close(fd);
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "output directory %s: %s",
				 omt_quote(q, rel[0] ? rel : ".", 100),
				 strerror(fd < 0 ? -fd : errno));
	}
	while (!ret && (de = readdir(dd))) {
		if (omt_is_dot(de->d_name))
			continue;
		if (asprintf(&path, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0) {
			ret = walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
			break;
		}
		ret = walk_entry(w, fd, de->d_name, path);
		if (ret == 1) {
			w->f.dirs[w->f.n_dirs++] = path;
			ret = 0;
			continue;
		}
		free(path);
	}
	closedir(dd);
	return ret;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct omt_job_file *)a)->path, ((const struct omt_job_file *)b)->path);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Builds the answer in *body; 0, or -1 with w->status and w->err. */
static int files_body(struct walk *w, const char *dir, char **body)
{
	size_t i;
	int e;

	w->root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (w->root < 0)
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "the job's output: %s",
				 strerror(errno));
	/* Breadth first: the directories found are the queue. */
	e = walk_dir(w, "");
	for (i = 0; !e && i < w->f.n_dirs; i++)
		e = walk_dir(w, w->f.dirs[i]);
	close(w->root);
	if (e)
		return e;
	/* Sorted: a directory comes before what is in it. */
	if (w->f.n_files)
		qsort(w->f.files, w->f.n_files, sizeof(*w->f.files), by_path);
	if (w->f.n_dirs)
		qsort(w->f.dirs, w->f.n_dirs, sizeof(*w->f.dirs), by_name);
	e = omt_job_files_format(&w->f, body);
	if (e == -E2BIG)
		return walk_fail(w, MHD_HTTP_CONTENT_TOO_LARGE,
				 "the job's output files make an answer over %d MiB",
				 OMT_JOB_FILES_MAX_ANSWER >> 20);
	if (e)
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "the job's output: %s",
				 strerror(-e));
	return 0;
}

int files_answer(const char *dir, const char *output_error, char **body, unsigned int *status,
		 char err[FILES_ERR_LEN])
{
	struct walk *w = calloc(1, sizeof(*w));
	int e;

	if (!w) {
		*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		snprintf(err, FILES_ERR_LEN, "out of memory");
		return -1;
	}
	snprintf(w->f.error, sizeof(w->f.error), "%s", output_error);
	e = files_body(w, dir, body);
	if (e) {
		*status = w->status;
		memcpy(err, w->err, FILES_ERR_LEN);
	}
	omt_job_files_free(&w->f);
	free(w);
	return e;
}
