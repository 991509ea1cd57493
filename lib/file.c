// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int omt_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
		  size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, ret;

	/* O_NONBLOCK: a FIFO must not hang us before fstat refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	ret = -EFBIG;
	if ((size_t)st.st_size > max)
		goto fail;
	buf = malloc(max + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto fail;
	}
	/* One byte more than allowed: the file may have grown since fstat. */
	while (n <= max) {
		r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += r;
	}
	ret = -EFBIG;
	if (n > max)
		goto fail;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	close(fd);
	return 0;
fail:
	if (err && errlen) {
		if (ret == -EFBIG)
			snprintf(err, errlen, "%s: larger than %zu KiB", path, max / 1024);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	}
out:
	if (buf) {
		/* It may have held a key. */
		explicit_bzero(buf, max + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int omt_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

int omt_read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int omt_self_dir(char *dir, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", dir, size);
	char *slash;

	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	dir[n] = 0;
	slash = strrchr(dir, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	return 0;
}
