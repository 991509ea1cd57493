/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Directory trees that may hold someone else's files (a job's output, its
 * scratch directory): removed beneath a directory fd, never following a
 * symlink (lib/beneath.h opens them).
 */
#ifndef OMERTA_TREE_H
#define OMERTA_TREE_H

#include <stdbool.h>

/* "." or "..": what readdir lists that is no entry. */
bool omt_is_dot(const char *name);

/*
 * Removes everything in the directory dir (an fd, left open) without
 * following a symlink, and without a descriptor or a path per level: a
 * job's output may nest thousands deep. What can't be removed stays, and so
 * do the directories above it; the rest goes. 0, or the first -errno met
 * (-ESTALE when a directory was moved out from under it meanwhile).
 */
int omt_tree_empty(int dir);

/*
 * Removes path: a directory and everything in it, or a file or symlink
 * (never what it points to). 0; -ENOENT when there was nothing; or -errno
 * from removing path itself (-ENOTEMPTY when something in it stayed).
 */
int omt_tree_remove(const char *path);

#endif
