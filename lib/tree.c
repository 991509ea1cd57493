// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree.h"

bool omt_is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* name in dir gone: 0; a directory with something in it: 1; or -errno. */
static int remove_entry(int dir, const char *name)
{
	if (!unlinkat(dir, name, 0) || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -errno;
	if (!unlinkat(dir, name, AT_REMOVEDIR) || errno == ENOENT)
		return 0;
	return errno == ENOTEMPTY || errno == EEXIST ? 1 : -errno;
}

/* A directory, to know it again. */
struct ident {
	dev_t dev;
	ino_t ino;
};

struct emptying {
	struct ident *path;		/* the top, down to the directory being emptied */
	size_t n_path, path_cap;
	struct ident *stuck;		/* directories found not to empty */
	size_t n_stuck, stuck_cap;
};

static int add(struct ident **a, size_t *n, size_t *cap, struct ident id)
{
	struct ident *p;

	if (*n == *cap) {
		p = realloc(*a, (*cap ? *cap * 2 : 64) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*a = p;
		*cap = *cap ? *cap * 2 : 64;
	}
	(*a)[(*n)++] = id;
	return 0;
}

static void note(int *e, int r)
{
	if (r < 0 && !*e)
		*e = r;
}

static bool is_stuck(const struct emptying *t, const struct stat *st)
{
	size_t i;

	for (i = 0; i < t->n_stuck; i++)
		if (t->stuck[i].dev == st->st_dev && t->stuck[i].ino == st->st_ino)
			return true;
	return false;
}

/*
 * One round in the directory dir: removes what it can until it meets a
 * directory that is not empty and not stuck, whose name it puts in down
 * and whose identity in *id: 1. 0 when dir is empty now, or -errno when
 * something in it stays.
 */
static int empty_level(const struct emptying *t, int dir, char down[NAME_MAX + 1],
		       struct ident *id)
{
	/* Its own fd: closedir closes it, and its offset starts at the top. */
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r, e = 0;
	struct dirent *de;
	struct stat st;
	DIR *dd;

	if (fd < 0)
		return -errno;
	dd = fdopendir(fd);
	if (!dd) {
		e = -errno;
		close(fd);
		return e;
	}
	while ((de = readdir(dd))) {
		if (omt_is_dot(de->d_name))
			continue;
		r = remove_entry(fd, de->d_name);
		if (r == 1 && fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = errno == ENOENT ? 0 : -errno;
		if (r == 1 && is_stuck(t, &st))
			r = -ENOTEMPTY;
		if (r == 1) {
			snprintf(down, NAME_MAX + 1, "%s", de->d_name);
			*id = (struct ident){ st.st_dev, st.st_ino };
			closedir(dd);
			return 1;
		}
		note(&e, r);
	}
	closedir(dd);
	return e;
}

/* From *cur down into name, when it is still id: 0, or -errno. */
static int go_down(struct emptying *t, int *cur, const char *name, struct ident id)
{
	int fd = openat(*cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), e;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_dev != id.dev || st.st_ino != id.ino)
		e = -ESTALE;	/* replaced meanwhile */
	else
		e = add(&t->path, &t->n_path, &t->path_cap, id);
	if (e) {
		close(fd);
		return e;
	}
	close(*cur);
	*cur = fd;
	return 0;
}

/* From *cur up to its parent, when it is still the one *cur was entered from: 0, or -errno. */
static int go_up(struct emptying *t, int *cur)
{
	const struct ident *parent = &t->path[t->n_path - 2];
	int fd = openat(*cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_dev != parent->dev || st.st_ino != parent->ino) {
		close(fd);
		return -ESTALE;	/* moved meanwhile: not followed out */
	}
	t->n_path--;
	close(*cur);
	*cur = fd;
	return 0;
}

/*
 * Depth first, one descriptor open at a time (two while moving): down into
 * the first directory that is not empty, up again once it is, or once it is
 * found stuck, to be passed over from then on.
 */
int omt_tree_empty(int dir)
{
	struct emptying t = {};
	char down[NAME_MAX + 1];
	unsigned int rounds = 0;
	struct ident id;
	struct stat st;
	int cur, r, e = 0;

	cur = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	if (fstat(cur, &st) < 0)
		e = -errno;
	else
		e = add(&t.path, &t.n_path, &t.path_cap, (struct ident){ st.st_dev, st.st_ino });
	/* Each round goes down a level, or up one: bounded all the same. */
	while (t.n_path) {
		if (++rounds > 1000000) {
			note(&e, -ELOOP);
			break;
		}
		r = empty_level(&t, cur, down, &id);
		if (r == 1) {
			r = go_down(&t, &cur, down, id);
			/* Gone or replaced meanwhile: this level again. Else stuck, and passed over. */
			if (r && r != -ENOENT && r != -ESTALE) {
				note(&e, r);
				if (add(&t.stuck, &t.n_stuck, &t.stuck_cap, id)) {
					note(&e, -ENOMEM);
					break;
				}
			}
			continue;
		}
		note(&e, r);
		if (t.n_path == 1)
			break;
		if (r && add(&t.stuck, &t.n_stuck, &t.stuck_cap, t.path[t.n_path - 1])) {
			note(&e, -ENOMEM);
			break;
		}
		r = go_up(&t, &cur);
		if (r) {
			note(&e, r);
			break;
		}
	}
	close(cur);
	free(t.path);
	free(t.stuck);
	return e;
}

int omt_tree_remove(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		/* Not a directory: a file, or a symlink. Else why it can't be opened. */
		if (errno != ENOTDIR && errno != ELOOP)
			return -errno;
		return unlink(path) < 0 ? -errno : 0;
	}
	omt_tree_empty(fd);
	close(fd);
	return rmdir(path) < 0 ? -errno : 0;
}
