// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What ends a job from outside the guest: a rogue frame or socket the
 * guards saw (their ring buffer), the --timeout, a guest silent past
 * --boot-timeout, and a tunnel the endpoint stopped talking on.
 */
#include <stdio.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../guard/guard_bpf.h"
#include "../guard/totals.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../telemetry/event_fmt.h"
#include "guard.skel.h"
#include "job.h"

/* A rogue event from the tap's guard or the cgroup's: if it is this job's, it ends. */
int on_rogue(void *arg, void *data, size_t size)
{
	struct job *j = arg;
	const struct omt_event *e = data;
	char line[768];

	if (size < sizeof(*e))
		return 0;
	if (e->direction == OMT_DIR_CGROUP ? e->cgroup_id != j->host.cgroup_id :
					     e->ifindex != j->host.net.ifindex ||
						     e->direction != OMT_DIR_FROM_GUEST)
		return 0;
	if (!j->t.event_ns)
		j->t.event_ns = e->ts_ns;
	j->end.rogue_events++;
	vm_kill(j, OMT_OUTCOME_ROGUE);
	omt_event_format(line, sizeof(line), e, e->ts_ns + j->t.mono_to_real_ns, j->host.id,
			 j->args.json);
	if (j->args.json)
		fprintf(stderr, "%s\n", line);
	else
		pr_warn("%s", line);
	return 0;
}

static uint64_t to_guest_packets(struct job *j)
{
	struct omt_counter t[2][OMT_R__COUNT];
	struct guard_bpf *g = j->host.guard;

	omt_guard_totals(bpf_map__fd(g->maps.omt_totals), bpf_map__fd(g->maps.omt_vm),
			 bpf_map__fd(g->maps.omt_vm_counts), j->host.net.ifindex, t);
	return t[OMT_DIR_TO_GUEST][OMT_R_PASS].packets;
}

static unsigned int vpn_timeout(const struct job *j)
{
	unsigned int k = j->files.wg.persistent_keepalive;

	if (j->args.job.vpn_timeout)
		return j->args.job.vpn_timeout;
	if (!k)
		return 30;
	return 3 * k < 10 ? 10 : 3 * k;
}

/* How long the VM has run: time it spent paused or saved does not count. */
static int64_t run_ns(const struct job *j, int64_t now)
{
	return now - j->t.start_ns - j->vm.stopped_total_ns -
	       (j->vm.stopped_since_ns ? now - j->vm.stopped_since_ns : 0);
}

void on_tick(struct job *j)
{
	const unsigned int timeout = j->args.job.timeout, boot_timeout = j->args.vm.boot_timeout;
	int64_t now = omt_mono_ns();
	uint64_t rx;

	if (j->vm.state != VM_RUNNING || j->t.kill_ns)
		return;		/* a stopped VM neither times out nor keeps its tunnel busy */
	if (timeout && run_ns(j, now) >= (int64_t)timeout * 1000000000LL) {
		pr_err("job %s: timeout after %u s", j->host.id, timeout);
		vm_kill(j, OMT_OUTCOME_TIMEOUT);
	}
	if (!j->link.heard && run_ns(j, now) >= (int64_t)boot_timeout * 1000000000LL) {
		pr_err("job %s: the guest did not speak within %u s", j->host.id, boot_timeout);
		vm_kill(j, OMT_OUTCOME_BOOT_FAILED);
	}
	/* VPN health: once the tunnel was up, the endpoint must keep talking. */
	if (j->t.vpn_seen_ns && !j->end.have_exit) {
		rx = to_guest_packets(j);
		if (rx != j->t.vpn_rx_packets) {
			j->t.vpn_rx_packets = rx;
			j->t.vpn_seen_ns = now;
		} else if (now - j->t.vpn_seen_ns >= (int64_t)vpn_timeout(j) * 1000000000LL) {
			pr_err("job %s: nothing from the endpoint for %u s: VPN lost", j->host.id,
			       vpn_timeout(j));
			vm_kill(j, OMT_OUTCOME_VPN_LOST);
		}
	}
}
