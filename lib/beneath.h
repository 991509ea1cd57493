/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Making directories and files beneath a directory, under names someone
 * else chose, never outside it: every name is taken relative to the
 * directory's fd one component at a time, no symlink is followed, nothing
 * that is there is opened for writing or replaced, and a file that could
 * not be written whole is removed. The writers of output files (exec's,
 * from the guest; the consumer's, from the provider) share this.
 */
#ifndef OMERTA_BENEATH_H
#define OMERTA_BENEATH_H

#include <stddef.h>
#include <sys/types.h>

struct omt_beneath {
	int root;		/* the directory, O_PATH */
	int parent;		/* the directory of the last path walked, or -1 */
	char *parent_path;	/* its path under root ("" for root), or NULL */
};

/* Opens dir, which must exist, as b's root. 0 or -errno. */
int omt_beneath_open(struct omt_beneath *b, const char *dir);
/* Closes what b holds; safe after omt_beneath_open failed. */
void omt_beneath_close(struct omt_beneath *b);

/*
 * The directory path[0..len) ("a/b"; len 0 for dir itself) beneath the
 * directory dir, opened one component at a time with flags (O_PATH, or
 * O_RDONLY to read it) | O_DIRECTORY | O_NOFOLLOW: an fd of its own
 * (close-on-exec, its own offset), or -errno: -EINVAL for an empty,
 * "." or ".." component, -ENAMETOOLONG for an over-long one, -ELOOP or -ENOTDIR for
 * one that is not a directory, -ENOENT for one that is missing; then *bad
 * (may be NULL) is the length of path's prefix that failed (0 for
 * -EINVAL, or when dir itself could not be opened).
 */
int omt_beneath_dir(int dir, const char *path, size_t len, int flags, size_t *bad);

/*
 * Opens the directory that holds path's last component, walking from the
 * root one component at a time with O_PATH | O_DIRECTORY | O_NOFOLLOW: a
 * symlink anywhere on the way (ENOTDIR, ELOOP) or a missing directory
 * (ENOENT) stops it, and no directory is made on the way. path is
 * relative and has no empty, "." or ".." component (else -EINVAL). The
 * same directory as the last call's costs no walk.
 * Returns its fd (b's, open until the next call or omt_beneath_close) with
 * *name at path's last component, or -errno with *bad the length of the
 * prefix of path that is not a directory, 0 when no component failed
 * (-EINVAL, -ENOMEM, -EMFILE).
 */
int omt_beneath_parent(struct omt_beneath *b, const char *path, const char **name, size_t *bad);
/*
 * Makes the directory name (one component, as omt_beneath_parent gave it)
 * in parent, or takes the one there if it is a directory and no symlink.
 * 0; mkdirat's -errno with *in_the_way 0; or -EEXIST when something else
 * is there, *in_the_way then the errno that opening it as a directory gave
 * (ENOTDIR; ELOOP for a symlink).
 */
int omt_beneath_mkdir(int parent, const char *name, mode_t mode, int *in_the_way);
/*
 * Creates the file name (one component) in parent for writing, mode before
 * the umask: O_CREAT | O_EXCL | O_NOFOLLOW, so whatever is there (a
 * symlink too) is left alone and the answer is -EEXIST. The fd or -errno.
 */
int omt_beneath_create(int parent, const char *name, mode_t mode);
/*
 * Why a directory on the way, or one to be made, is not one, for an error
 * text: "not a directory (a symlink?)" for ENOTDIR and ELOOP, missing for
 * ENOENT (the caller knows where it should have come from), else strerror.
 */
const char *omt_beneath_strerror(int e, const char *missing);
/*
 * A file not written whole goes, so nobody takes it for the whole: closes
 * fd (unless it is -1: closed already) and removes name from parent.
 */
void omt_beneath_discard(int parent, const char *name, int fd);

#endif
