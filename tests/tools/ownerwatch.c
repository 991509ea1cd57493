// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Drives owner/ for the integration tests:
 *   ownerwatch SOURCE POWER-SUPPLY-DIR
 * Opens owner activity from SOURCE (auto, logind, input, cpu) and a sleep
 * inhibitor judging AC by POWER-SUPPLY-DIR. Prints "source NAME", then the
 * owner's state ("active" or "idle") at start and at every change. Commands
 * on stdin, one a line, each answered "ack SEQ held|released" (SEQ counts
 * from 1):
 *   jobs N    omt_inhibit_update(N > 0)
 *   update    the same with the last N (the daemon's periodic call)
 * Exits 0 on stdin EOF (releasing the lock), 1 when the source fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../owner/activity.h"
#include "../../owner/inhibit.h"

int main(int argc, char **argv)
{
	struct omt_owner_cfg cfg = { 0 };
	struct epoll_event ev = { .events = EPOLLIN };
	struct omt_inhibit *in;
	struct omt_owner *o;
	char err[512], buf[1024], *nl;
	size_t len = 0;
	int epfd = -1, jobs = 0, seq = 0, r, ret = 0;
	bool active, stdin_polled;
	ssize_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: ownerwatch SOURCE POWER-SUPPLY-DIR\n");
		return 2;
	}
	omt_log_init("ownerwatch", OMT_LOG_DEBUG);
	setvbuf(stdout, NULL, _IOLBF, 0);
	cfg.source = argv[1];
	o = omt_owner_open(&cfg, err, sizeof(err));
	if (!o) {
		pr_err("%s", err);
		return 1;
	}
	in = omt_inhibit_new(argv[2]);
	printf("source %s\n", omt_owner_source_name(omt_owner_source(o)));
	r = omt_owner_poll(o, &active);
	if (r < 0) {
		pr_err("owner activity: %s", strerror(-r));
		ret = 1;
		goto out;
	}
	printf("%s\n", active ? "active" : "idle");

	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = omt_owner_fd(o);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0) {
		pr_err("epoll: %s", strerror(errno));
		ret = 1;
		goto out;
	}
	/* A file or /dev/null can't be polled: it is read through to its end. */
	ev.data.fd = 0;
	stdin_polled = epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) == 0;
	for (;;) {
		if (!stdin_polled)
			ev.data.fd = 0;
		else if (epoll_wait(epfd, &ev, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("epoll: %s", strerror(errno));
			ret = 1;
			break;
		}
		if (ev.data.fd == omt_owner_fd(o)) {
			r = omt_owner_poll(o, &active);
			if (r < 0) {
				pr_err("owner activity: %s", strerror(-r));
				ret = 1;
				break;
			}
			if (r)
				printf("%s\n", active ? "active" : "idle");
			continue;
		}
		n = read(0, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (sscanf(buf, "jobs %d", &jobs) == 1 || !strcmp(buf, "update")) {
				omt_inhibit_update(in, jobs > 0);
				printf("ack %d %s\n", ++seq, omt_inhibit_held(in) ? "held" : "released");
			} else if (buf[0]) {
				pr_warn("unknown command '%s'", buf);
			}
			len -= nl + 1 - buf;
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1)
			len = 0;
	}
out:
	omt_inhibit_free(in);
	omt_owner_close(o);
	if (epfd >= 0)
		close(epfd);
	return ret;
}
