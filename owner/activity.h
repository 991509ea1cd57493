/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Is the machine's owner at it? The loader pauses, checkpoints or kills a
 * guest when the owner comes back. Three sources, one fd for the caller's
 * epoll:
 *   logind  logind's IdleHint (it applies its own idle delay); changes
 *           arrive as PropertiesChanged signals on the system bus.
 *   input   the arrival of evdev events on any event* device; never what
 *           they are.
 *   cpu     CPU busy time that is not the guests', sampled every 200 ms.
 */
#ifndef OMERTA_OWNER_ACTIVITY_H
#define OMERTA_OWNER_ACTIVITY_H

#include <stdbool.h>
#include <stddef.h>

enum omt_owner_source { OMT_OWNER_SRC_LOGIND, OMT_OWNER_SRC_INPUT, OMT_OWNER_SRC_CPU };

struct omt_owner_cfg {
	const char *source;		/* "auto" (default when NULL), "logind", "input", "cpu" */
	const char *input_dir;		/* evdev devices dir, NULL = "/dev/input" */
	const char *proc_stat;		/* NULL = "/proc/stat" */
	/*
	 * The guests' cumulative CPU time: a cgroup v1 cpuacct.usage (ns) or
	 * a v2 cpu.stat ("usage_usec N"); NULL = all CPU time is the owner's.
	 */
	const char *guest_cpu_usage;
	double cpu_threshold;		/* owner's busy fraction of all CPUs; 0 = 0.5 */
	unsigned int idle_ms;		/* idle again after this long quiet; 0 = 60000 */
};

struct omt_owner;

/*
 * Opens the source (cfg NULL: all defaults); "auto" tries logind (system bus reachable and
 * org.freedesktop.login1 on it), then input (at least one readable event*
 * device), then cpu. NULL on error, with what failed in err.
 */
struct omt_owner *omt_owner_open(const struct omt_owner_cfg *cfg, char *err, size_t errlen);
enum omt_owner_source omt_owner_source(const struct omt_owner *o);
const char *omt_owner_source_name(enum omt_owner_source s);
/* One fd for the caller's epoll (EPOLLIN); when readable, omt_owner_poll. */
int omt_owner_fd(const struct omt_owner *o);
/*
 * Processes what is pending without blocking; *active gets the current
 * state. 1 if it changed since the last call (or, for the first call, since
 * open), 0 if not, -errno on a fatal error (the bus went away, no input
 * device left, ...).
 */
int omt_owner_poll(struct omt_owner *o, bool *active);
void omt_owner_close(struct omt_owner *o);

#endif
