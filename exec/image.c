// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The guest image a job runs on (proto/workload.h): opened once, hashed, logged. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "job.h"

/* SHA-256 of the whole of fd, as hex. */
static int sha256_fd(int fd, char hex[65])
{
	static uint8_t buf[1 << 16];	/* all of it resident for the job's life */
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	off_t off = 0;
	ssize_t n;

	crypto_hash_sha256_init(&st);
	while ((n = pread(fd, buf, sizeof(buf), off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		crypto_hash_sha256_update(&st, buf, n);
		off += n;
	}
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, 65, h, sizeof(h));
	return 0;
}

int image_open(struct job *j, char *err, size_t errlen)
{
	enum omt_job_image image = omt_image_resolve(j->args.vm.image);
	const char *name = omt_image_name(image);
	char path[512];
	int fd, e;

	snprintf(path, sizeof(path), "%s/%s", j->host.image_dir, omt_image_file(image));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen, "image %s: %s: %s (build it with 'make')", name, path,
			 strerror(errno));
		return e;
	}
	/* Hashed through the very fd the VM gets: what ran is what was hashed. */
	if ((e = sha256_fd(fd, j->vm.image_sha256))) {
		snprintf(err, errlen, "image %s: read %s: %s", name, path, strerror(-e));
		close(fd);
		return e;
	}
	pr_info("job %s: image %s sha256:%s", j->host.id, name, j->vm.image_sha256);
	if (omt_image_is_disk(image))
		j->vm.image_fd = fd;
	else
		close(fd);
	return 0;
}
