/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Reading a small file that may come from someone else: bounded, regular. */
#ifndef OMERTA_FILE_H
#define OMERTA_FILE_H

#include <stddef.h>

/*
 * Reads the regular file path, at most max bytes, into *out (NUL-terminated,
 * *len bytes; the caller frees it, and wipes it if it held secrets). 0, or
 * -errno with err (may be NULL) saying "PATH: not a regular file", "PATH:
 * larger than N KiB" or "PATH: <strerror>". A FIFO can't hang it.
 */
int omt_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
		  size_t errlen);

/*
 * A small file (sysfs, procfs, cgroupfs) as text: at most size - 1 bytes
 * into buf, NUL-terminated. 0 or -errno.
 */
int omt_read_text(const char *path, char *buf, size_t size);

/* The directory of the running binary (/proc/self/exe's) into dir. 0 or -errno. */
int omt_self_dir(char *dir, size_t size);

/* write(2) until all of buf is out, EINTR retried. 0 or -errno. */
int omt_write_all(int fd, const void *buf, size_t len);

#endif
