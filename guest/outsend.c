// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Walks the output directory with one fd per level (openat, fstatat with
 * AT_SYMLINK_NOFOLLOW, O_NOFOLLOW) and sends what it finds. What the
 * workload may still be changing is judged by the fd that was opened, not
 * the name: a regular file swapped for a FIFO or a device is skipped, one
 * that shrinks ends the output with "outerr".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/file.h"
#include "../lib/text.h"
#include "../proto/guest_msg.h"
#include "outsend.h"

#define QUOTE_MAX 200

struct sender {
	int port;
	int port_failed;		/* nothing more can be said */
	uint64_t max_bytes, max_files;
	uint64_t files, bytes, skipped;
	size_t len;			/* of path */
	char path[OMT_MSG_MAX_PATH + 1];	/* under root, of the entry at hand */
	char why[OMT_MSG_MAX_TEXT];
	struct omt_msg m;
	char line[OMT_MSG_MAX_LINE + 2];
};

static __attribute__((format(printf, 3, 4))) int give_up(struct sender *s, int err,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	return err;
}

static int send_msg(struct sender *s, int type)
{
	int n, ret;

	s->m.type = type;
	n = omt_msg_format(s->line, sizeof(s->line), &s->m);
	if (n < 0)
		return give_up(s, n, "cannot format a %d message: %s", type, strerror(-n));
	ret = omt_write_all(s->port, s->line, n);
	if (ret) {
		s->port_failed = 1;
		return give_up(s, ret, "port: %s", strerror(-ret));
	}
	return 0;
}

static int send_path(struct sender *s, int type)
{
	memcpy(s->m.path, s->path, s->len + 1);
	return send_msg(s, type);
}

static const char *here(struct sender *s, char *q)
{
	return omt_quote(q, s->path, QUOTE_MAX);
}

static int send_skip(struct sender *s, mode_t mode)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];

	if (s->skipped >= s->max_files)
		return give_up(s, -EDQUOT, "more than %" PRIu64 " entries skipped, at %s",
			       s->max_files, here(s, q));
	s->skipped++;
	s->m.kind = S_ISLNK(mode) ? OMT_SKIP_SYMLINK : S_ISCHR(mode) ? OMT_SKIP_CHARDEV :
		    S_ISBLK(mode) ? OMT_SKIP_BLOCKDEV : S_ISFIFO(mode) ? OMT_SKIP_FIFO :
		    S_ISSOCK(mode) ? OMT_SKIP_SOCKET : OMT_SKIP_OTHER;
	return send_path(s, OMT_MSG_SKIP);
}

static int count_entry(struct sender *s)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];

	if (s->files >= s->max_files)
		return give_up(s, -EDQUOT, "more than %" PRIu64 " files and directories, at %s",
			       s->max_files, here(s, q));
	s->files++;
	return 0;
}

static int send_file(struct sender *s, int fd, const struct stat *st)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	uint64_t left = st->st_size;
	ssize_t n;
	int ret;

	ret = count_entry(s);
	if (ret)
		return ret;
	if (left > s->max_bytes - s->bytes)
		return give_up(s, -EFBIG, "more than %" PRIu64 " bytes, at %s (%" PRIu64 " bytes)",
			       s->max_bytes, here(s, q), left);
	s->m.mode = st->st_mode & 0777;
	s->m.size = left;
	ret = send_path(s, OMT_MSG_FILE);
	while (!ret && left) {
		n = read(fd, s->m.data, left < OMT_MSG_MAX_DATA ? left : OMT_MSG_MAX_DATA);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return give_up(s, -errno, "%s: %s", here(s, q), strerror(errno));
		if (n == 0)
			return give_up(s, -EIO, "%s shrank while being sent", here(s, q));
		s->m.len = n;
		left -= n;
		s->bytes += n;
		ret = send_msg(s, OMT_MSG_FDATA);
	}
	return ret ? ret : send_msg(s, OMT_MSG_FEND);
}

static int walk(struct sender *s, int dfd);

static int send_entry(struct sender *s, int dfd, const char *name)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	size_t base = s->len, n = strlen(name);
	struct stat st;
	int fd, ret;

	if (base + (base > 0) + n > OMT_MSG_MAX_PATH)
		return give_up(s, -ENAMETOOLONG, "a path longer than %d bytes in %s",
			       OMT_MSG_MAX_PATH, here(s, q));
	if (base)
		s->path[s->len++] = '/';
	memcpy(s->path + s->len, name, n + 1);
	s->len += n;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = give_up(s, -errno, "%s: %s", here(s, q), strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		ret = send_skip(s, st.st_mode);
		goto out;
	}
	/* O_NONBLOCK: should it be a FIFO by now, the open must not hang. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
				       (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR || errno == ENXIO)) {
		ret = send_skip(s, 0);		/* it changed under us */
		goto out;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = give_up(s, -errno, "%s: %s", here(s, q), strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		ret = send_file(s, fd, &st);
		close(fd);
	} else if (S_ISDIR(st.st_mode)) {
		ret = count_entry(s);
		if (!ret)
			ret = send_path(s, OMT_MSG_DIR);
		if (!ret)
			ret = walk(s, fd);
		else
			close(fd);
	} else {
		close(fd);
		ret = send_skip(s, st.st_mode);
	}
out:
	if (!ret) {
		s->len = base;
		s->path[base] = '\0';
	}
	return ret;
}

/* Sends what is in the directory dfd (which it closes), s->path. */
static int walk(struct sender *s, int dfd)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	struct dirent *de;
	DIR *d = fdopendir(dfd);
	int ret = 0;

	if (!d) {
		ret = give_up(s, -errno, "%s: %s", here(s, q), strerror(errno));
		close(dfd);
		return ret;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				ret = give_up(s, -errno, "%s: %s", here(s, q), strerror(errno));
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		ret = send_entry(s, dirfd(d), de->d_name);
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}

int omt_out_send(int port_fd, const char *root, uint64_t max_bytes, uint64_t max_files,
		 char *err, size_t errlen)
{
	struct sender *s = calloc(1, sizeof(*s));
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];
	int fd, ret;
	size_t i;

	if (!s) {
		omt_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->port = port_fd;
	s->max_bytes = max_bytes;
	s->max_files = max_files;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		ret = walk(s, fd);
	else if (errno == ENOENT)
		ret = 0;
	else
		ret = give_up(s, -errno, "%s: %s", omt_quote(q, root, QUOTE_MAX),
			      errno == ELOOP || errno == ENOTDIR ? "not a directory" :
			      strerror(errno));
	if (!ret) {
		s->m.files = s->files;
		s->m.bytes = s->bytes;
		ret = send_msg(s, OMT_MSG_OUTDONE);
	} else if (!s->port_failed) {
		/* The host logs it: printable ASCII only. */
		for (i = 0; s->why[i]; i++)
			s->m.text[i] = s->why[i] >= 0x20 && s->why[i] < 0x7f ? s->why[i] : '?';
		s->m.text[i] = '\0';
		send_msg(s, OMT_MSG_OUTERR);
	}
	omt_errf(err, errlen, "%s", s->why);
	free(s);
	return ret;
}
