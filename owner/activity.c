// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Owner activity. Each source keeps its fds (the bus, input devices, a
 * timerfd) in one epoll set of its own, whose fd is what the caller waits
 * on; omt_owner_poll then does what is pending without blocking.
 *
 * The one timerfd serves the source at hand: for logind it carries sd-bus's
 * own timeout (re-armed after each sd_bus_process), for input the idle
 * deadline, for cpu the 200 ms sampling tick.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/input.h>

#include <systemd/sd-bus.h>

#include "../lib/clock.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../vmctl/cgroup.h"
#include "activity.h"

#define LOGIND_NAME "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_IFACE "org.freedesktop.login1.Manager"
/* A logind that doesn't answer must not hold up the daemon's loop for long. */
#define BUS_CALL_USEC (2 * 1000000ULL)
#define CPU_SAMPLE_MS 200
#define DEFAULT_IDLE_MS 60000
#define DEFAULT_CPU_THRESHOLD 0.5

/* epoll tags: input devices are tagged with their index. */
#define TAG_TIMER UINT64_MAX
#define TAG_BUS (UINT64_MAX - 1)

struct input_dev {
	int fd;			/* -1 once dropped */
	bool fifo;		/* a test's stand-in: reopened when its writer goes */
	char *path;
};

struct omt_owner {
	enum omt_owner_source src;
	int epfd;
	int tfd;
	bool active;		/* the state now */
	bool reported;		/* the state the last poll returned */
	long long idle_ms;

	/* logind */
	sd_bus *bus;
	sd_bus_slot *match;

	/* input */
	struct input_dev *devs;
	size_t ndevs, nopen;
	long long last_event_ms;

	/* cpu */
	char *proc_stat, *guest_usage;
	double threshold;
	unsigned long long ns_per_jiffy;
	unsigned long long prev_total, prev_busy;	/* jiffies */
	unsigned long long prev_guest;			/* ns */
	bool have_prev_guest;
	long long last_busy_ms;
};

static int epoll_add(int epfd, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* A one-shot relative timer (ms > 0), or disarmed (ms == 0). */
static int timer_in(int tfd, long long ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (ms % 1000) * 1000000 } };

	return timerfd_settime(tfd, 0, &its, NULL) < 0 ? -errno : 0;
}

/* Whether the timer fired since the last call (and acknowledges it). */
static bool timer_fired(int tfd)
{
	uint64_t n;

	return read(tfd, &n, sizeof(n)) == sizeof(n);
}

/* ---- logind ---------------------------------------------------------- */

static int on_idle_hint(sd_bus_message *m, void *arg, sd_bus_error *ret_error)
{
	struct omt_owner *o = arg;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	int idle, r;

	(void)ret_error;
	if (e) {
		/* logind restarting, say: keep the last state, wait for the next signal. */
		pr_warn("owner activity: reading logind's IdleHint: %s", e->message ?: e->name);
		return 0;
	}
	r = sd_bus_message_enter_container(m, 'v', "b");
	if (r >= 0)
		r = sd_bus_message_read(m, "b", &idle);
	if (r < 0) {
		pr_warn("owner activity: logind's IdleHint: %s", strerror(-r));
		return 0;
	}
	o->active = !idle;
	return 0;
}

/*
 * Any change to the Manager's properties: ask for IdleHint again rather
 * than trusting what the signal carries (it may only invalidate it).
 * Asynchronously, so the caller's loop never waits on logind; the answer
 * makes the fd readable again. Replies come in the order of the requests,
 * so the last one read is the newest state.
 */
static int on_props_changed(sd_bus_message *m, void *arg, sd_bus_error *ret_error)
{
	struct omt_owner *o = arg;
	const char *iface;
	int r;

	(void)ret_error;
	if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, LOGIND_IFACE))
		return 0;
	r = sd_bus_call_method_async(o->bus, NULL, LOGIND_NAME, LOGIND_PATH,
				     "org.freedesktop.DBus.Properties", "Get", on_idle_hint,
				     o, "ss", LOGIND_IFACE, "IdleHint");
	if (r < 0)
		pr_warn("owner activity: asking logind for IdleHint: %s", strerror(-r));
	return 0;
}

/* The bus fd's events and sd-bus's timeout, as sd-bus wants them now. */
static int bus_rearm(struct omt_owner *o)
{
	struct epoll_event ev = { .data.u64 = TAG_BUS };
	struct itimerspec its = { 0 };
	uint64_t usec;
	int r;

	r = sd_bus_get_events(o->bus);
	if (r < 0)
		return r;
	ev.events = r;	/* POLLIN/POLLOUT have the EPOLLIN/EPOLLOUT values */
	if (epoll_ctl(o->epfd, EPOLL_CTL_MOD, sd_bus_get_fd(o->bus), &ev) < 0)
		return -errno;
	r = sd_bus_get_timeout(o->bus, &usec);
	if (r < 0)
		return r;
	if (usec != UINT64_MAX) {
		/* Absolute CLOCK_MONOTONIC; 0 means now, which an all-zero value would disarm. */
		its.it_value.tv_sec = usec / 1000000;
		its.it_value.tv_nsec = (usec % 1000000) * 1000;
		if (!usec)
			its.it_value.tv_nsec = 1;
	}
	return timerfd_settime(o->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

static void logind_close(struct omt_owner *o)
{
	o->match = sd_bus_slot_unref(o->match);
	o->bus = sd_bus_close_unref(o->bus);
	timer_in(o->tfd, 0);
}

static int logind_open(struct omt_owner *o, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int has = 0, idle = 0, r;

	r = sd_bus_open_system(&o->bus);
	if (r < 0) {
		snprintf(err, errlen, "no system bus: %s", strerror(-r));
		return r;
	}
	sd_bus_set_method_call_timeout(o->bus, BUS_CALL_USEC);
	/* NameHasOwner, not a call to logind: that could start an activation. */
	r = sd_bus_call_method(o->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "NameHasOwner", &e, &reply, "s",
			       LOGIND_NAME);
	if (r >= 0)
		r = sd_bus_message_read(reply, "b", &has);
	reply = sd_bus_message_unref(reply);
	if (r < 0) {
		snprintf(err, errlen, "system bus: %s", e.message ?: strerror(-r));
		goto fail;
	}
	if (!has) {
		snprintf(err, errlen, "logind (%s) is not on the system bus", LOGIND_NAME);
		r = -ENOENT;
		goto fail;
	}
	/* The match before the first read: no change can fall in between. */
	r = sd_bus_match_signal(o->bus, &o->match, LOGIND_NAME, LOGIND_PATH,
				"org.freedesktop.DBus.Properties", "PropertiesChanged",
				on_props_changed, o);
	if (r < 0) {
		snprintf(err, errlen, "subscribing to logind's PropertiesChanged: %s", strerror(-r));
		goto fail;
	}
	r = sd_bus_get_property_trivial(o->bus, LOGIND_NAME, LOGIND_PATH, LOGIND_IFACE,
					"IdleHint", &e, 'b', &idle);
	if (r < 0) {
		snprintf(err, errlen, "reading logind's IdleHint: %s", e.message ?: strerror(-r));
		goto fail;
	}
	o->active = !idle;
	r = epoll_add(o->epfd, sd_bus_get_fd(o->bus), EPOLLIN, TAG_BUS);
	if (!r)
		r = bus_rearm(o);
	if (r < 0) {
		snprintf(err, errlen, "watching the system bus: %s", strerror(-r));
		goto fail;
	}
	sd_bus_error_free(&e);
	return 0;
fail:
	sd_bus_error_free(&e);
	logind_close(o);
	return r;
}

static int logind_poll(struct omt_owner *o)
{
	int r;

	timer_fired(o->tfd);
	do {
		r = sd_bus_process(o->bus, NULL);
	} while (r > 0);
	if (r < 0)
		return r;	/* -ENOTCONN once the bus is gone */
	return bus_rearm(o);
}

/* ---- input ----------------------------------------------------------- */

/*
 * Privacy: an owner lends us a machine, not what they type. We read the
 * input_event records only to drain the device and take their arrival (our
 * own clock) as a sign of life; their contents (type, code, value, even the
 * kernel's timestamps) are never looked at, kept or logged.
 */

static int input_dev_open(struct input_dev *d, int epfd, uint64_t tag)
{
	d->fd = open(d->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (d->fd < 0)
		return -errno;
	if (epoll_add(epfd, d->fd, EPOLLIN, tag) < 0) {
		int e = -errno;

		close(d->fd);
		d->fd = -1;
		return e;
	}
	return 0;
}

static void input_dev_drop(struct omt_owner *o, struct input_dev *d, int e)
{
	if (d->fd < 0)
		return;
	pr_info("owner activity: %s gone (%s), no longer watched", d->path, strerror(-e));
	close(d->fd);	/* leaves the epoll set with it */
	d->fd = -1;
	o->nopen--;
}

static void input_close(struct omt_owner *o)
{
	size_t i;

	for (i = 0; i < o->ndevs; i++) {
		if (o->devs[i].fd >= 0)
			close(o->devs[i].fd);
		free(o->devs[i].path);
	}
	free(o->devs);
	o->devs = NULL;
	o->ndevs = o->nopen = 0;
	timer_in(o->tfd, 0);
}

static int input_open(struct omt_owner *o, const char *dir, char *err, size_t errlen)
{
	struct dirent *de;
	struct stat st;
	char path[512];
	int last = -ENOENT, r;
	DIR *dp = opendir(dir);

	if (!dp) {
		r = -errno;
		snprintf(err, errlen, "input devices '%s': %s", dir, strerror(-r));
		return r;
	}
	while ((de = readdir(dp))) {
		struct input_dev *d, *n;

		if (strncmp(de->d_name, "event", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
			continue;
		n = realloc(o->devs, (o->ndevs + 1) * sizeof(*o->devs));
		if (!n) {
			last = -ENOMEM;
			break;
		}
		o->devs = n;
		d = &o->devs[o->ndevs];
		d->fifo = S_ISFIFO(st.st_mode);
		d->path = strdup(path);
		d->fd = -1;
		if (!d->path) {
			last = -ENOMEM;
			break;
		}
		o->ndevs++;
		r = input_dev_open(d, o->epfd, o->ndevs - 1);
		if (r < 0)
			last = r;
		else
			o->nopen++;
	}
	closedir(dp);
	if (!o->nopen) {
		snprintf(err, errlen, "no readable event* device in '%s' (%s)", dir,
			 strerror(-last));
		input_close(o);
		return last;
	}
	o->active = false;
	return 0;
}

/* Drains one device; true if anything arrived. */
static bool input_drain(struct omt_owner *o, struct input_dev *d, uint64_t tag)
{
	struct input_event buf[64];
	bool got = false;
	ssize_t n;

	while (d->fd >= 0) {
		n = read(d->fd, buf, sizeof(buf));
		if (n > 0) {
			got = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n == 0 && d->fifo) {
			/* The writer went: a fresh open, or the hangup would stay readable. */
			close(d->fd);
			o->nopen--;
			if (input_dev_open(d, o->epfd, tag) == 0)
				o->nopen++;
			else
				d->fd = -1;
			break;
		}
		input_dev_drop(o, d, n < 0 ? -errno : -ENODEV);	/* ENODEV: unplugged */
	}
	return got;
}

static int input_poll(struct omt_owner *o)
{
	struct epoll_event ev[32];
	bool got = false, tick = false;
	long long now;
	int i, n;

	n = epoll_wait(o->epfd, ev, 32, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (ev[i].data.u64 == TAG_TIMER)
			tick = true;
		else if (ev[i].data.u64 < o->ndevs)
			got |= input_drain(o, &o->devs[ev[i].data.u64], ev[i].data.u64);
	}
	now = omt_mono_ms();
	if (got) {
		o->last_event_ms = now;
		if (!o->active) {
			o->active = true;
			timer_in(o->tfd, o->idle_ms);
		}
	}
	/*
	 * The idle deadline is set once, when the owner turns active, not on
	 * every event (a moving mouse sends a thousand a second); when it
	 * fires, it is moved on by however much later the last event came.
	 */
	if (tick && timer_fired(o->tfd) && o->active) {
		long long quiet = now - o->last_event_ms;

		if (quiet >= o->idle_ms)
			o->active = false;
		else
			timer_in(o->tfd, o->idle_ms - quiet);
	}
	return o->nopen ? 0 : -ENODEV;
}

/* ---- cpu ------------------------------------------------------------- */

/*
 * The owner's share of all CPUs over one sampling period:
 *
 *   (busy - guests) / total
 *
 * total and busy come from /proc/stat's "cpu " line, summed over all CPUs
 * in jiffies: total = user + nice + system + idle + iowait + irq + softirq
 * + steal (guest and guest_nice are already inside user and nice), busy =
 * total - idle - iowait. Taking the denominator from the same line, rather
 * than elapsed wall time * nproc, keeps both sides on one clock and follows
 * CPUs going on- and offline. The guests' time (their cgroup's, ns) is
 * converted by CLK_TCK; it counts host time spent for them too (QEMU's I/O
 * threads), which is not the owner's either.
 */

static int read_cpu_line(const char *path, unsigned long long *total,
			 unsigned long long *busy)
{
	unsigned long long v[8] = { 0 };
	char line[512];
	FILE *f = fopen(path, "re");
	int n;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -EPROTO;
	}
	fclose(f);
	n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n < 4)
		return -EPROTO;
	*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	*busy = *total - v[3] - v[4];
	return 0;
}

/* cgroup v1 cpuacct.usage (ns), or v2 cpu.stat's "usage_usec N". */
static int read_guest_ns(const char *path, unsigned long long *ns)
{
	char buf[4096];
	uint64_t v;
	int e = omt_read_text(path, buf, sizeof(buf));

	if (!e && !(e = omt_cgroup_usage_parse(buf, &v)))
		*ns = v;
	return e;
}

static int cpu_sample(struct omt_owner *o, bool first)
{
	unsigned long long total, busy, guest = 0, dt, db, dg = 0;
	bool have_guest = false;
	double frac;
	long long now = omt_mono_ms();
	int r;

	r = read_cpu_line(o->proc_stat, &total, &busy);
	if (r < 0)
		return r;
	/* No guest cgroup yet (no job ran), or it was made anew: no guests' time. */
	if (o->guest_usage && read_guest_ns(o->guest_usage, &guest) == 0)
		have_guest = true;
	if (!first && total >= o->prev_total && busy >= o->prev_busy) {
		dt = total - o->prev_total;
		if (!dt)
			return 0;	/* no time passed by this clock: nothing to say */
		db = (busy - o->prev_busy) * o->ns_per_jiffy;
		if (have_guest && o->have_prev_guest && guest >= o->prev_guest)
			dg = guest - o->prev_guest;
		frac = db > dg ? (double)(db - dg) / ((double)dt * o->ns_per_jiffy) : 0;
		if (frac > o->threshold) {
			o->active = true;
			o->last_busy_ms = now;
		} else if (o->active && now - o->last_busy_ms >= o->idle_ms) {
			o->active = false;
		}
	}
	o->prev_total = total;
	o->prev_busy = busy;
	o->prev_guest = guest;
	o->have_prev_guest = have_guest;
	return 0;
}

static void cpu_close(struct omt_owner *o)
{
	free(o->proc_stat);
	free(o->guest_usage);
	o->proc_stat = o->guest_usage = NULL;
	timer_in(o->tfd, 0);
}

static int cpu_open(struct omt_owner *o, const struct omt_owner_cfg *cfg, char *err,
		    size_t errlen)
{
	struct itimerspec its = {
		.it_value = { 0, CPU_SAMPLE_MS * 1000000 },
		.it_interval = { 0, CPU_SAMPLE_MS * 1000000 },
	};
	long tck = sysconf(_SC_CLK_TCK);
	int r;

	o->ns_per_jiffy = tck > 0 ? 1000000000ULL / tck : 10000000ULL;
	o->proc_stat = strdup(cfg->proc_stat ?: "/proc/stat");
	if (cfg->guest_cpu_usage)
		o->guest_usage = strdup(cfg->guest_cpu_usage);
	if (!o->proc_stat || (cfg->guest_cpu_usage && !o->guest_usage)) {
		snprintf(err, errlen, "out of memory");
		cpu_close(o);
		return -ENOMEM;
	}
	r = cpu_sample(o, true);
	if (r < 0) {
		snprintf(err, errlen, "reading '%s': %s", o->proc_stat, strerror(-r));
		cpu_close(o);
		return r;
	}
	o->active = false;
	if (timerfd_settime(o->tfd, 0, &its, NULL) < 0) {
		r = -errno;
		snprintf(err, errlen, "sampling timer: %s", strerror(-r));
		cpu_close(o);
		return r;
	}
	return 0;
}

static int cpu_poll(struct omt_owner *o)
{
	int r;

	if (!timer_fired(o->tfd))
		return 0;
	r = cpu_sample(o, false);
	if (r < 0) {
		/* /proc/stat doesn't go away; a test's file being replaced might. */
		pr_warn("owner activity: reading '%s': %s", o->proc_stat, strerror(-r));
	}
	return 0;
}

/* ---- the interface --------------------------------------------------- */

const char *omt_owner_source_name(enum omt_owner_source s)
{
	switch (s) {
	case OMT_OWNER_SRC_LOGIND:
		return "logind";
	case OMT_OWNER_SRC_INPUT:
		return "input";
	case OMT_OWNER_SRC_CPU:
		return "cpu";
	}
	return "?";
}

enum omt_owner_source omt_owner_source(const struct omt_owner *o)
{
	return o->src;
}

int omt_owner_fd(const struct omt_owner *o)
{
	return o->epfd;
}

int omt_owner_poll(struct omt_owner *o, bool *active)
{
	int r = 0;

	switch (o->src) {
	case OMT_OWNER_SRC_LOGIND:
		r = logind_poll(o);
		break;
	case OMT_OWNER_SRC_INPUT:
		r = input_poll(o);
		break;
	case OMT_OWNER_SRC_CPU:
		r = cpu_poll(o);
		break;
	}
	*active = o->active;
	if (r < 0)
		return r;
	r = o->active != o->reported;
	o->reported = o->active;
	return r;
}

void omt_owner_close(struct omt_owner *o)
{
	if (!o)
		return;
	logind_close(o);
	input_close(o);
	cpu_close(o);
	if (o->tfd >= 0)
		close(o->tfd);
	if (o->epfd >= 0)
		close(o->epfd);
	free(o);
}

static int open_source(struct omt_owner *o, enum omt_owner_source s,
		       const struct omt_owner_cfg *cfg, char *err, size_t errlen)
{
	int r = 0;

	o->src = s;
	switch (s) {
	case OMT_OWNER_SRC_LOGIND:
		r = logind_open(o, err, errlen);
		break;
	case OMT_OWNER_SRC_INPUT:
		r = input_open(o, cfg->input_dir ?: "/dev/input", err, errlen);
		break;
	case OMT_OWNER_SRC_CPU:
		r = cpu_open(o, cfg, err, errlen);
		break;
	}
	o->reported = o->active;
	return r;
}

struct omt_owner *omt_owner_open(const struct omt_owner_cfg *cfg, char *err, size_t errlen)
{
	static const struct omt_owner_cfg defaults;
	const char *src;
	struct omt_owner *o;
	char e1[200] = "", e2[200] = "", e3[200] = "";
	int r;

	if (!cfg)
		cfg = &defaults;
	src = cfg->source ?: "auto";
	if (cfg->cpu_threshold < 0 || cfg->cpu_threshold > 1) {
		snprintf(err, errlen, "CPU threshold is not a fraction in 0..1: '%g'",
			 cfg->cpu_threshold);
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->idle_ms = cfg->idle_ms ?: DEFAULT_IDLE_MS;
	o->threshold = cfg->cpu_threshold > 0 ? cfg->cpu_threshold : DEFAULT_CPU_THRESHOLD;
	o->tfd = -1;
	o->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (o->epfd >= 0)
		o->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (o->epfd < 0 || o->tfd < 0 || epoll_add(o->epfd, o->tfd, EPOLLIN, TAG_TIMER) < 0) {
		snprintf(err, errlen, "epoll/timerfd: %s", strerror(errno));
		goto fail;
	}

	if (!strcmp(src, "logind")) {
		r = open_source(o, OMT_OWNER_SRC_LOGIND, cfg, e1, sizeof(e1));
		if (r < 0)
			snprintf(err, errlen, "owner activity from logind: %s", e1);
	} else if (!strcmp(src, "input")) {
		r = open_source(o, OMT_OWNER_SRC_INPUT, cfg, e1, sizeof(e1));
		if (r < 0)
			snprintf(err, errlen, "owner activity from input devices: %s", e1);
	} else if (!strcmp(src, "cpu")) {
		r = open_source(o, OMT_OWNER_SRC_CPU, cfg, e1, sizeof(e1));
		if (r < 0)
			snprintf(err, errlen, "owner activity from CPU load: %s", e1);
	} else if (!strcmp(src, "auto")) {
		r = open_source(o, OMT_OWNER_SRC_LOGIND, cfg, e1, sizeof(e1));
		if (r < 0) {
			pr_debug("owner activity: not from logind: %s", e1);
			r = open_source(o, OMT_OWNER_SRC_INPUT, cfg, e2, sizeof(e2));
		}
		if (r < 0) {
			pr_debug("owner activity: not from input devices: %s", e2);
			r = open_source(o, OMT_OWNER_SRC_CPU, cfg, e3, sizeof(e3));
		}
		if (r < 0)
			snprintf(err, errlen, "no owner activity source: logind: %s; input: %s; cpu: %s",
				 e1, e2, e3);
	} else {
		snprintf(err, errlen, "unknown owner activity source '%s' (auto, logind, input or cpu)",
			 src);
		r = -EINVAL;
	}
	if (r < 0)
		goto fail;
	return o;
fail:
	omt_owner_close(o);
	return NULL;
}
