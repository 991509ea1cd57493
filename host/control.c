// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "control.h"
#include "jobdir.h"

static int addr_of(const char *dir, struct sockaddr_un *a)
{
	*a = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if ((size_t)snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, OMT_CONTROL_SOCKET) >=
	    sizeof(a->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int omt_control_listen(const char *dir)
{
	struct sockaddr_un a;
	int fd, e;

	if ((e = addr_of(dir, &a)))
		return e;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(a.sun_path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(a.sun_path, 0600) < 0 ||
	    listen(fd, 4) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* One line from fd within timeout_ms, without its newline. */
static int read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len) {
		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		n += r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	if (!strchr(buf, '\n'))
		return -EPROTO;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int omt_control_accept(int lfd, char *cmd, size_t len)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), e;

	if (fd < 0)
		return -errno;
	if ((e = read_line(fd, cmd, len, 1000))) {
		close(fd);
		return e;
	}
	return fd;
}

void omt_control_reply(int fd, int ok, const char *text)
{
	char line[OMT_CONTROL_MAX_LINE];
	int n = snprintf(line, sizeof(line), "%s %s", ok ? "ok" : "error", text);

	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (send(fd, line, n, MSG_NOSIGNAL) < 0)
		pr_debug("control reply: %s", strerror(errno));
	close(fd);
}

int omt_control_request(const char *job, const char *cmd, int timeout_ms, char *reply,
			size_t len)
{
	char dir[128], line[OMT_CONTROL_MAX_LINE];
	struct sockaddr_un a;
	int fd, e;

	snprintf(dir, sizeof(dir), "%s/%s", OMT_JOBS_DIR, job);
	if ((e = addr_of(dir, &a)))
		return e;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		e = -errno;
		snprintf(reply, len, "no running job '%s' (%s: %s)", job, a.sun_path, strerror(-e));
		if (fd >= 0)
			close(fd);
		return e;
	}
	snprintf(line, sizeof(line), "%s\n", cmd);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0 ||
	    (e = read_line(fd, line, sizeof(line), timeout_ms))) {
		e = e ? e : -errno;
		snprintf(reply, len, "job '%s' did not answer '%s': %s", job, cmd, strerror(-e));
		close(fd);
		return e;
	}
	close(fd);
	if (strncmp(line, "ok ", 3) == 0) {
		snprintf(reply, len, "%s", line + 3);
		return 1;
	}
	snprintf(reply, len, "%s", strncmp(line, "error ", 6) == 0 ? line + 6 : line);
	return 0;
}
