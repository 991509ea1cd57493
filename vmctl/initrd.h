/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A job's initramfs: the base image, built once, followed by a small newc
 * cpio segment with the job's own files. The kernel unpacks concatenated
 * archives in order, so nothing is rebuilt per job. Both the kernel and the
 * initramfs are handed to QEMU as sealed memfds: QEMU needs no access to
 * the build tree, and nobody can change them under it.
 */
#ifndef OMERTA_INITRD_H
#define OMERTA_INITRD_H

#include <stddef.h>
#include <sys/types.h>

struct omt_initrd_file {
	const char *name;	/* path inside the guest, without the leading / */
	mode_t mode;		/* permission bits: a regular file, or S_IFDIR | bits: a directory */
	const void *data;
	size_t len;
};

/* A sealed memfd with the whole of path. 0 or -errno. */
int omt_memfd_from_file(const char *path, const char *name, int *fd);
/*
 * A sealed memfd: base_path's bytes, zero padding to 4, then files as newc
 * (base_path NULL: the newc archive alone, what a warm VM is sent).
 */
int omt_initrd_build(const char *base_path, const struct omt_initrd_file *files, int n,
		     int *fd);

#endif
