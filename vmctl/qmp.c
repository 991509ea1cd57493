// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qmp.h"

void omt_qmp_init(struct omt_qmp *q, int fd)
{
	q->fd = fd;
	q->len = 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
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
		left = deadline - now_ms();
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

int omt_qmp_execute(struct omt_qmp *q, const char *cmd, const char *args_json,
		    int timeout_ms, char *err, size_t errlen)
{
	long long deadline = now_ms() + timeout_ms;
	char req[1024];
	json_object *o, *v, *d;
	int e = 0;

	snprintf(req, sizeof(req), "{\"execute\":\"%s\"%s%s}\n", cmd,
		 args_json ? ",\"arguments\":" : "", args_json ? args_json : "");
	if ((e = send_all(q->fd, req)))
		return e;
	for (;;) {
		o = read_obj(q, deadline, &e);
		if (!o)
			return e;
		if (json_object_object_get_ex(o, "return", &v)) {
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

int omt_qmp_handshake(struct omt_qmp *q, int timeout_ms)
{
	json_object *o, *v;
	int e = 0;

	o = read_obj(q, now_ms() + timeout_ms, &e);
	if (!o)
		return e;
	if (!json_object_object_get_ex(o, "QMP", &v)) {
		json_object_put(o);
		return -EPROTO;
	}
	json_object_put(o);
	return omt_qmp_execute(q, "qmp_capabilities", NULL, timeout_ms, NULL, 0);
}
