// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

struct omt_audit {
	pthread_mutex_t lock;
	int fd;
	int torn;	/* a write stopped part-way: start the next line on a new line */
};

/* A new file is only durable once its directory entry is. */
static int sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	/* Some file systems cannot sync a directory; they say so with EINVAL. */
	return ret == -EINVAL ? 0 : ret;
}

static void explain_open(const char *path, int ret, char *err, size_t errlen)
{
	char *copy = strdup(path);
	const char *dir = copy ? dirname(copy) : NULL;

	if (!err || !errlen) {
		free(copy);
		return;
	}
	if (ret == -ENOENT && dir && access(dir, F_OK) && errno == ENOENT)
		snprintf(err, errlen, "%s: directory %s does not exist (it is not created)",
			 path, dir);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	free(copy);
}

/* path opened for appending, a regular file, its entry durable: the fd, or -errno (err set). */
static int open_log(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0) {
		ret = -errno;
		explain_open(path, ret, err, errlen);
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return ret;
	}
	ret = sync_dir(path);
	if (ret)
		goto fail;
	return fd;

fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	close(fd);
	return ret;
}

int omt_audit_open(const char *path, struct omt_audit **out, char *err, size_t errlen)
{
	struct omt_audit *a;
	int fd, ret;

	*out = NULL;
	fd = open_log(path, err, errlen);
	if (fd < 0)
		return fd;
	a = calloc(1, sizeof(*a));
	if (!a) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = -pthread_mutex_init(&a->lock, NULL);
	if (ret)
		goto fail;
	a->fd = fd;
	*out = a;
	return 0;

fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	free(a);
	close(fd);
	return ret;
}

int omt_audit_reopen(struct omt_audit *a, const char *path, char *err, size_t errlen)
{
	int fd = open_log(path, err, errlen), old;

	if (fd < 0)
		return fd;
	/* Between two lines: each before is whole and synced in the file it went to. */
	pthread_mutex_lock(&a->lock);
	old = a->fd;
	a->fd = fd;
	pthread_mutex_unlock(&a->lock);
	close(old);
	return 0;
}

void omt_audit_close(struct omt_audit *a)
{
	if (!a)
		return;
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static int write_all(int fd, const char *buf, size_t len, size_t *done)
{
	for (*done = 0; *done < len;) {
		ssize_t n = write(fd, buf + *done, len - *done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		*done += n;
	}
	return 0;
}

static int format_ts(char *buf, size_t len)
{
	struct timespec now;
	struct tm tm;
	size_t n;

	if (clock_gettime(CLOCK_REALTIME, &now))
		return -errno;
	if (!gmtime_r(&now.tv_sec, &tm))
		return -EOVERFLOW;
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!n)
		return -EOVERFLOW;
	snprintf(buf + n, len - n, ".%06ldZ", now.tv_nsec / 1000);
	return 0;
}

int omt_audit_write(struct omt_audit *a, json_object *obj)
{
	const char *fields;
	char ts[64], *line = NULL;
	size_t len, done;
	int ret, n;

	if (!a || !json_object_is_type(obj, json_type_object) ||
	    json_object_object_get_ex(obj, "ts", NULL))
		return -EINVAL;
	fields = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!fields)
		return -ENOMEM;
	pthread_mutex_lock(&a->lock);
	/* Under the lock: the lines' times then follow their order in the file. */
	ret = format_ts(ts, sizeof(ts));
	if (ret)
		goto out;
	/* fields is "{}" or "{...}": the ts goes in front of its members. */
	n = asprintf(&line, "%s{\"ts\":\"%s\"%s%s\n", a->torn ? "\n" : "", ts,
		     len > 2 ? "," : "}", len > 2 ? fields + 1 : "");
	if (n < 0) {
		line = NULL;
		ret = -ENOMEM;
		goto out;
	}
	ret = write_all(a->fd, line, n, &done);
	if (done)
		a->torn = line[done - 1] != '\n';
	if (ret)
		goto out;
	if (fsync(a->fd))
		ret = -errno;
out:
	pthread_mutex_unlock(&a->lock);
	free(line);
	return ret;
}
