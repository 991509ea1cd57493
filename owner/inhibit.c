// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The sleep inhibitor. logind's Inhibit() hands back an fd; the lock lasts
 * as long as it stays open. The bus is opened only to take the lock (rare:
 * when the first job starts or AC comes back) and closed again, so no idle
 * connection sits here with messages piling up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "../lib/file.h"
#include "../lib/log.h"
#include "inhibit.h"

#define LOGIND_NAME "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_IFACE "org.freedesktop.login1.Manager"
#define BUS_CALL_USEC (5 * 1000000ULL)

struct omt_inhibit {
	char *dir;
	int fd;			/* the lock; -1 when not held */
	bool noop;		/* no logind to ask */
	bool failing;		/* a failed take was said; quiet until one works */
};

/* A sysfs attribute's first line, without its newline. */
static int read_attr(const char *dir, const char *supply, const char *attr, char *out,
		     size_t size)
{
	char path[512];
	int e;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, supply, attr);
	if ((e = omt_read_text(path, out, size)))
		return e;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

int omt_power_on_ac(const char *power_supply_dir)
{
	const char *dir = power_supply_dir ?: "/sys/class/power_supply";
	int lines = 0, lines_online = 0, batteries = 0, charging = 0;
	char type[64], val[64];
	struct dirent *de;
	DIR *dp = opendir(dir);

	if (!dp)
		return -ENOENT;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		/* A wireless mouse's or a phone's battery says nothing about ours. */
		if (!read_attr(dir, de->d_name, "scope", val, sizeof(val)) &&
		    !strcmp(val, "Device"))
			continue;
		if (read_attr(dir, de->d_name, "type", type, sizeof(type)))
			type[0] = '\0';
		if (!strcmp(type, "Battery")) {
			if (read_attr(dir, de->d_name, "status", val, sizeof(val)))
				continue;
			batteries++;
			charging += strcmp(val, "Discharging") != 0;
			continue;
		}
		/* Mains, USB (a USB-C charger: online may be 2, "programmable"). */
		if (!read_attr(dir, de->d_name, "online", val, sizeof(val))) {
			lines++;
			lines_online += atoi(val) > 0;
		}
	}
	closedir(dp);
	if (lines)
		return lines_online > 0;
	if (batteries)
		return charging > 0;
	return -ENOENT;
}

/* Whether logind is there to ask; why not into why. */
static bool logind_present(char *why, size_t size)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	int has = 0, r;

	r = sd_bus_open_system(&bus);
	if (r < 0) {
		snprintf(why, size, "no system bus (%s)", strerror(-r));
		return false;
	}
	sd_bus_set_method_call_timeout(bus, BUS_CALL_USEC);
	r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "NameHasOwner", &e, &reply, "s",
			       LOGIND_NAME);
	if (r >= 0)
		r = sd_bus_message_read(reply, "b", &has);
	if (r < 0)
		snprintf(why, size, "system bus: %s", e.message ?: strerror(-r));
	else if (!has)
		snprintf(why, size, "no logind on the system bus");
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	sd_bus_close_unref(bus);
	return r >= 0 && has;
}

struct omt_inhibit *omt_inhibit_new(const char *power_supply_dir)
{
	struct omt_inhibit *in = calloc(1, sizeof(*in));
	char why[256];

	if (!in)
		return NULL;
	in->fd = -1;
	in->dir = strdup(power_supply_dir ?: "/sys/class/power_supply");
	if (!in->dir) {
		free(in);
		return NULL;
	}
	if (!logind_present(why, sizeof(why))) {
		pr_info("sleep can't be inhibited while jobs run: %s", why);
		in->noop = true;
	}
	return in;
}

static int take(struct omt_inhibit *in, char *why, size_t size)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	int fd, r;

	r = sd_bus_open_system(&bus);
	if (r < 0) {
		snprintf(why, size, "no system bus (%s)", strerror(-r));
		return r;
	}
	sd_bus_set_method_call_timeout(bus, BUS_CALL_USEC);
	r = sd_bus_call_method(bus, LOGIND_NAME, LOGIND_PATH, LOGIND_IFACE, "Inhibit", &e,
			       &reply, "ssss", "sleep", "omerta", "compute jobs are running",
			       "block");
	if (r >= 0)
		r = sd_bus_message_read(reply, "h", &fd);
	if (r >= 0) {
		/* The message owns its fd and closes it with itself. */
		in->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (in->fd < 0)
			r = -errno;
	}
	if (r < 0)
		snprintf(why, size, "%s", e.message ?: strerror(-r));
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	sd_bus_close_unref(bus);
	return r;
}

/* Our end is a pipe's write end: logind closing its read end is POLLERR here. */
static bool lock_lost(int fd)
{
	struct pollfd p = { .fd = fd };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

static void release(struct omt_inhibit *in, const char *why)
{
	if (in->fd < 0)
		return;
	close(in->fd);
	in->fd = -1;
	pr_info("sleep no longer inhibited: %s", why);
}

void omt_inhibit_update(struct omt_inhibit *in, bool jobs_running)
{
	char why[256];
	int ac;

	if (!in || in->noop)
		return;
	if (!jobs_running) {
		release(in, "no jobs running");
		return;
	}
	ac = omt_power_on_ac(in->dir);	/* no supplies at all: a desktop, on AC */
	if (!ac) {
		release(in, "on battery");
		return;
	}
	if (in->fd >= 0 && !lock_lost(in->fd))
		return;
	if (in->fd >= 0)
		release(in, "logind dropped the lock (restarted?)");
	if (take(in, why, sizeof(why)) < 0) {
		if (!in->failing)
			pr_warn("can't inhibit sleep while jobs run: %s", why);
		in->failing = true;
		return;
	}
	in->failing = false;
	pr_info("sleep inhibited: jobs are running on AC power");
}

bool omt_inhibit_held(const struct omt_inhibit *in)
{
	return in && in->fd >= 0;
}

void omt_inhibit_free(struct omt_inhibit *in)
{
	if (!in)
		return;
	release(in, "shutting down");
	free(in->dir);
	free(in);
}
