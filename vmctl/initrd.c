// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/file.h"
#include "initrd.h"

static int pad4(int fd, size_t written)
{
	static const char zeros[4];

	return written % 4 ? omt_write_all(fd, zeros, 4 - written % 4) : 0;
}

static int entry(int fd, unsigned int ino, const char *name, mode_t mode, const void *data,
		 size_t len)
{
	char hdr[128];
	size_t namesize = strlen(name) + 1;
	int e;

	if (len > 0xffffffffu || namesize > 4096)
		return -EFBIG;
	/* newc: magic and 13 fields of 8 hex digits; mtime 0 for reproducibility. */
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, (unsigned int)mode, 0, 0, 1, 0, (unsigned int)len, 0, 0, 0, 0,
		 (unsigned int)namesize, 0);
	if ((e = omt_write_all(fd, hdr, 110)) || (e = omt_write_all(fd, name, namesize)) ||
	    (e = pad4(fd, 110 + namesize)))
		return e;
	if (len && ((e = omt_write_all(fd, data, len)) || (e = pad4(fd, len))))
		return e;
	return 0;
}

static int omt_cpio_write(int fd, const struct omt_initrd_file *files, int n)
{
	int i, e;

	for (i = 0; i < n; i++) {
		if (strchr(files[i].name, '\n') || files[i].name[0] == '/' || !files[i].name[0])
			return -EINVAL;
		e = entry(fd, 0x0e7a0000 + i, files[i].name,
			  (S_ISDIR(files[i].mode) ? S_IFDIR : S_IFREG) | (files[i].mode & 07777),
			  files[i].data, files[i].len);
		if (e)
			return e;
	}
	return entry(fd, 0, "TRAILER!!!", 0, NULL, 0);
}

static int new_memfd(const char *name)
{
	return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

static int seal(int fd)
{
	return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ?
		       -errno : 0;
}

static int copy_file(int dst, const char *path, size_t *copied)
{
	char buf[65536];
	ssize_t n;
	int src, e = 0;

	*copied = 0;
	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return -errno;
	while ((n = read(src, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			break;
		}
		if ((e = omt_write_all(dst, buf, n)))
			break;
		*copied += n;
	}
	close(src);
	return e;
}

int omt_memfd_from_file(const char *path, const char *name, int *fd)
{
	size_t n;
	int m = new_memfd(name), e;

	if (m < 0)
		return -errno;
	if ((e = copy_file(m, path, &n)) || (e = seal(m))) {
		close(m);
		return e;
	}
	*fd = m;
	return 0;
}

int omt_initrd_build(const char *base_path, const struct omt_initrd_file *files, int n,
		     int *fd)
{
	size_t len;
	int m = new_memfd("omerta-initrd"), e;

	if (m < 0)
		return -errno;
	if ((base_path && ((e = copy_file(m, base_path, &len)) || (e = pad4(m, len)))) ||
	    (e = omt_cpio_write(m, files, n)) || (e = seal(m))) {
		close(m);
		return e;
	}
	*fd = m;
	return 0;
}
