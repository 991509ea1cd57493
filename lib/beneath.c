// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * No openat2(RESOLVE_BENEATH): each component is opened by hand with
 * O_NOFOLLOW, which refuses a symlink whoever planted it and whenever, and
 * the path is checked for ".." here too, though every caller checked it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"

int omt_beneath_open(struct omt_beneath *b, const char *dir)
{
	b->parent = -1;
	b->parent_path = NULL;
	b->root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return b->root < 0 ? -errno : 0;
}

void omt_beneath_close(struct omt_beneath *b)
{
	if (b->parent >= 0)
		close(b->parent);
	b->parent = -1;
	free(b->parent_path);
	b->parent_path = NULL;
	if (b->root >= 0)
		close(b->root);
	b->root = -1;
}

/* Relative, and no component empty, "." or "..". */
static int relative_inside(const char *path)
{
	const char *p = path, *end;
	size_t n;

	for (;;) {
		end = strchrnul(p, '/');
		n = end - p;
		if (n == 0 || (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.'))))
			return 0;
		if (!*end)
			return 1;
		p = end + 1;
	}
}

int omt_beneath_dir(int dir, const char *path, size_t len, int flags, size_t *bad)
{
	const char *p = path, *end = path;
	char comp[NAME_MAX + 1];
	int fd, next, e = 0;

	if (bad)
		*bad = 0;
	/* Not a dup: that would share dir's offset, and a second readdir would find nothing. */
	fd = openat(dir, ".", flags | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (; fd >= 0 && p < path + len; p = end + 1) {
		end = memchr(p, '/', path + len - p);
		if (!end)
			end = path + len;
		if (end == p || (p[0] == '.' && (end - p == 1 || (end - p == 2 && p[1] == '.')))) {
			next = -1;
			e = EINVAL;
		} else if ((size_t)(end - p) > NAME_MAX) {
			next = -1;
			e = ENAMETOOLONG;
		} else {
			memcpy(comp, p, end - p);
			comp[end - p] = '\0';
			next = openat(fd, comp, flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			e = errno;
		}
		close(fd);
		fd = next;
	}
	if (fd < 0 && bad && e != EINVAL)
		*bad = end - path;
	return fd < 0 ? -e : fd;
}

int omt_beneath_parent(struct omt_beneath *b, const char *path, const char **name, size_t *bad)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	int fd;

	*bad = 0;
	*name = slash ? slash + 1 : path;
	if (!relative_inside(path))
		return -EINVAL;
	if (b->parent >= 0 && strlen(b->parent_path) == dlen && !memcmp(b->parent_path, path, dlen))
		return b->parent;
	if (b->parent >= 0)
		close(b->parent);
	b->parent = -1;
	free(b->parent_path);
	b->parent_path = strndup(path, dlen);
	if (!b->parent_path)
		return -ENOMEM;
	fd = omt_beneath_dir(b->root, path, dlen, O_PATH, bad);
	if (fd < 0)
		return fd;
	b->parent = fd;
	return fd;
}

int omt_beneath_mkdir(int parent, const char *name, mode_t mode, int *in_the_way)
{
	int fd;

	*in_the_way = 0;
	if (mkdirat(parent, name, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*in_the_way = errno;
		return -EEXIST;
	}
	close(fd);
	return 0;
}

int omt_beneath_create(int parent, const char *name, mode_t mode)
{
	int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
			mode);

	return fd < 0 ? -errno : fd;
}

const char *omt_beneath_strerror(int e, const char *missing)
{
	if (e == ENOTDIR || e == ELOOP)
		return "not a directory (a symlink?)";
	if (e == ENOENT)
		return missing;
	return strerror(e);
}

void omt_beneath_discard(int parent, const char *name, int fd)
{
	if (fd >= 0)
		close(fd);
	unlinkat(parent, name, 0);
}
