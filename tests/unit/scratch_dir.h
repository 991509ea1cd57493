/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A unit test's scratch directory: base (its setup makes it with mkdtemp),
 * paths in it, and removing a tree of it whatever it holds (symlinks are
 * removed, never followed).
 */
#ifndef OMERTA_TEST_SCRATCH_DIR_H
#define OMERTA_TEST_SCRATCH_DIR_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>

static char base[64];

/* base/name, in one of four buffers that the next calls reuse. */
static const char *at(const char *name)
{
	static char path[4][PATH_MAX];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", base, name);
	return p;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* path and everything in it: 0, or -1. */
static int scratch_remove(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
