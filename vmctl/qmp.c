// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../lib/clock.h"
#include "qmp.h"

void omt_qmp_init(struct omt_qmp *q, int fd)
{
	q->fd = fd;
	q->len = 0;
}

/* The next line as a JSON object (caller puts it), or NULL with *err set. */
static json_object *read_obj(struct omt_qmp *q, long long deadline, int *err)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl) {
			json_object *o;
			size_t line = nl - q->buf;

			*nl = '\0';
			o = json_tokener_parse(q->buf);
			memmove(q->buf, nl + 1, q->len - line - 1);
			q->len -= line + 1;
			if (o && json_object_is_type(o, json_type_object))
				return o;
			json_object_put(o);
			*err = -EPROTO;
			return NULL;
		}
		if (q->len == sizeof(q->buf)) {
			*err = -EPROTO;	/* a line longer than QMP ever sends us */
			return NULL;
		}
		left = deadline - omt_mono_ms();
		if (left <= 0 || poll(&p, 1, left) == 0) {
			*err = -ETIMEDOUT;
			return NULL;
		}
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*err = n < 0 ? -errno : -EPIPE;
			return NULL;
		}
		q->len += n;
	}
}

static int send_all(int fd, const char *s)
{
	size_t off = 0, n = strlen(s);
	ssize_t w;

	while (off < n) {
		w = write(fd, s + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += w;
	}
	return 0;
}

/* Sends req, with fd attached (SCM_RIGHTS) when fd >= 0. */
static int send_req(int sock, const char *req, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)req, .iov_len = strlen(req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t w;

	if (fd < 0)
		return send_all(sock, req);
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		w = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	/* The fd went with the first byte; the rest is plain text. */
	return (size_t)w == iov.iov_len ? 0 : send_all(sock, req + w);
}

static int call(struct omt_qmp *q, const char *cmd, const char *args_json, int fd,
		int timeout_ms, json_object **ret, char *err, size_t errlen)
{
	long long deadline = omt_mono_ms() + timeout_ms;
	char req[1024];
	json_object *o, *v, *d;
	int e = 0;

	if ((size_t)snprintf(req, sizeof(req), "{\"execute\":\"%s\"%s%s}\n", cmd,
			     args_json ? ",\"arguments\":" : "", args_json ? args_json : "") >=
	    sizeof(req))
		return -E2BIG;
	if ((e = send_req(q->fd, req, fd)))
		return e;
	for (;;) {
		o = read_obj(q, deadline, &e);
		if (!o)
			return e;
		if (json_object_object_get_ex(o, "return", &v)) {
			if (ret)
				*ret = json_object_get(v);
			json_object_put(o);
			return 0;
		}
		if (json_object_object_get_ex(o, "error", &v)) {
			if (err)
				snprintf(err, errlen, "%s",
					 json_object_object_get_ex(v, "desc", &d) ?
						 json_object_get_string(d) : "error");
			json_object_put(o);
			return -EPROTO;
		}
		json_object_put(o);	/* an event: not our answer */
	}
}

int omt_qmp_execute(struct omt_qmp *q, const char *cmd, const char *args_json,
		    int timeout_ms, char *err, size_t errlen)
{
	return call(q, cmd, args_json, -1, timeout_ms, NULL, err, errlen);
}

static int omt_qmp_query(struct omt_qmp *q, const char *cmd, int timeout_ms, json_object **ret,
		  char *err, size_t errlen)
{
	return call(q, cmd, NULL, -1, timeout_ms, ret, err, errlen);
}

int omt_qmp_getfd(struct omt_qmp *q, const char *name, int fd, int timeout_ms, char *err,
		  size_t errlen)
{
	char args[128];

	snprintf(args, sizeof(args), "{\"fdname\":\"%s\"}", name);
	return call(q, "getfd", args, fd, timeout_ms, NULL, err, errlen);
}

int omt_qmp_wait_migration(struct omt_qmp *q, int timeout_ms, char *err, size_t errlen)
{
	long long deadline = omt_mono_ms() + timeout_ms;
	struct timespec pause = { 0, 10000000 };
	json_object *r, *st;
	const char *s;
	int e;

	for (;;) {
		if ((e = omt_qmp_query(q, "query-migrate", 5000, &r, err, errlen)))
			return e;
		s = json_object_object_get_ex(r, "status", &st) ? json_object_get_string(st) : "";
		if (strcmp(s, "completed") == 0) {
			json_object_put(r);
			return 0;
		}
		if (strcmp(s, "failed") == 0 || strcmp(s, "cancelled") == 0) {
			const char *why = json_object_object_get_ex(r, "error-desc", &st) ?
						  json_object_get_string(st) : NULL;

			if (err)
				snprintf(err, errlen, "migration %s%s%s", s, why ? ": " : "",
					 why ? why : "");
			json_object_put(r);
			return -EIO;
		}
		json_object_put(r);
		if (omt_mono_ms() >= deadline) {
			if (err)
				snprintf(err, errlen, "migration still '%s' after %d ms", s, timeout_ms);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
	}
}

int omt_qmp_handshake(struct omt_qmp *q, int timeout_ms)
{
	json_object *o, *v;
	int e = 0;

	o = read_obj(q, omt_mono_ms() + timeout_ms, &e);
	if (!o)
		return e;
	if (!json_object_object_get_ex(o, "QMP", &v)) {
		json_object_put(o);
		return -EPROTO;
	}
	json_object_put(o);
	return omt_qmp_execute(q, "qmp_capabilities", NULL, timeout_ms, NULL, 0);
}
