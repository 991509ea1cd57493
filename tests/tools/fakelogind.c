// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A scripted logind for the owner/ tests, on the bus DBUS_SYSTEM_BUS_ADDRESS
 * names (a private dbus-daemon):
 *   fakelogind STATE-FILE
 * Owns org.freedesktop.login1; /org/freedesktop/login1 has
 * org.freedesktop.login1.Manager with
 *   IdleHint        b, emits PropertiesChanged
 *   Inhibit(ssss)   -> h: the write end of a pipe; the lock is held until
 *                   every copy of it is closed (we see the hangup)
 * Commands on stdin, one a line:
 *   idle 0|1        sets IdleHint and emits PropertiesChanged
 *   drop            closes every lock (logind restarted and lost them)
 * Exits on stdin EOF. STATE-FILE is rewritten (atomically) on every change:
 *   ready
 *   idle N
 *   inhibitors N        locks held now
 *   inhibit_calls N     Inhibit calls so far
 *   last_inhibit WHAT|WHO|WHY|MODE
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#define NAME "org.freedesktop.login1"
#define PATH "/org/freedesktop/login1"
#define IFACE "org.freedesktop.login1.Manager"
#define MAX_LOCKS 64

static const char *state_file;
static int idle_hint;
static int locks[MAX_LOCKS];	/* read ends of the pipes handed out */
static int nlocks, calls;
static char last[512];

static void write_state(void)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", state_file);
	f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		exit(1);
	}
	fprintf(f, "ready\nidle %d\ninhibitors %d\ninhibit_calls %d\nlast_inhibit %s\n",
		idle_hint, nlocks, calls, last);
	fclose(f);
	rename(tmp, state_file);
}

static int get_idle_hint(sd_bus *bus, const char *path, const char *iface,
			 const char *prop, sd_bus_message *reply, void *arg,
			 sd_bus_error *ret_error)
{
	(void)bus, (void)path, (void)iface, (void)prop, (void)arg, (void)ret_error;
	return sd_bus_message_append(reply, "b", idle_hint);
}

static int method_inhibit(sd_bus_message *m, void *arg, sd_bus_error *ret_error)
{
	const char *what, *who, *why, *mode;
	int p[2], r;

	(void)arg;
	r = sd_bus_message_read(m, "ssss", &what, &who, &why, &mode);
	if (r < 0)
		return r;
	if (nlocks == MAX_LOCKS)
		return sd_bus_error_set(ret_error, SD_BUS_ERROR_LIMITS_EXCEEDED, "too many locks");
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	locks[nlocks++] = p[0];
	calls++;
	snprintf(last, sizeof(last), "%s|%s|%s|%s", what, who, why, mode);
	write_state();
	r = sd_bus_reply_method_return(m, "h", p[1]);	/* sends a copy */
	close(p[1]);
	return r;
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("IdleHint", "b", get_idle_hint, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD("Inhibit", "ssss", "h", method_inhibit, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static void command(sd_bus *bus, const char *line)
{
	int v, r;

	if (sscanf(line, "idle %d", &v) == 1) {
		idle_hint = !!v;
		write_state();
		r = sd_bus_emit_properties_changed(bus, PATH, IFACE, "IdleHint", NULL);
		if (r < 0)
			fprintf(stderr, "fakelogind: PropertiesChanged: %s\n", strerror(-r));
		return;
	}
	if (!strcmp(line, "drop")) {
		while (nlocks)
			close(locks[--nlocks]);
		write_state();
		return;
	}
	if (line[0])
		fprintf(stderr, "fakelogind: unknown command '%s'\n", line);
}

static int poll_timeout_ms(sd_bus *bus)
{
	struct timespec ts;
	uint64_t usec, now;

	if (sd_bus_get_timeout(bus, &usec) < 0 || usec == UINT64_MAX)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
	return usec <= now ? 0 : (int)((usec - now + 999) / 1000);
}

int main(int argc, char **argv)
{
	struct pollfd pfd[2 + MAX_LOCKS];
	char in[1024], *nl;
	size_t inlen = 0;
	sd_bus *bus = NULL;
	ssize_t n;
	int i, r;

	if (argc != 2) {
		fprintf(stderr, "usage: fakelogind STATE-FILE\n");
		return 2;
	}
	state_file = argv[1];
	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, NULL, PATH, IFACE, manager_vtable, NULL);
	if (r >= 0)
		r = sd_bus_request_name(bus, NAME, 0);
	if (r < 0) {
		fprintf(stderr, "fakelogind: bus: %s\n", strerror(-r));
		return 1;
	}
	write_state();

	for (;;) {
		int nfd = 2;

		pfd[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sd_bus_get_fd(bus), .events = sd_bus_get_events(bus) };
		for (i = 0; i < nlocks; i++)
			pfd[nfd++] = (struct pollfd){ .fd = locks[i], .events = POLLIN };
		if (poll(pfd, nfd, poll_timeout_ms(bus)) < 0 && errno != EINTR) {
			perror("fakelogind: poll");
			return 1;
		}
		/* A lock's holder closed its end: the pipe hangs up. */
		for (i = nfd - 1; i >= 2; i--) {
			if (!pfd[i].revents)
				continue;
			close(locks[i - 2]);
			locks[i - 2] = locks[--nlocks];
			write_state();
		}
		if (pfd[0].revents) {
			n = read(0, in + inlen, sizeof(in) - 1 - inlen);
			if (n <= 0)
				break;	/* EOF: the test is done with us */
			inlen += n;
			in[inlen] = '\0';
			while ((nl = strchr(in, '\n'))) {
				*nl = '\0';
				command(bus, in);
				inlen -= nl + 1 - in;
				memmove(in, nl + 1, inlen + 1);
			}
			if (inlen == sizeof(in) - 1)
				inlen = 0;	/* a line that long is no command */
		}
		do {
			r = sd_bus_process(bus, NULL);
		} while (r > 0);
		if (r < 0) {
			fprintf(stderr, "fakelogind: bus: %s\n", strerror(-r));
			return 1;
		}
	}
	sd_bus_flush_close_unref(bus);
	return 0;
}
