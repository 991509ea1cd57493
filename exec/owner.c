// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The machine's owner first (--owner-priority): while they are active the
 * VM is paused, checkpointed or killed; once they have been idle for
 * --owner-idle, a VM stopped for them goes on. The operator's word (the
 * control socket) overrides this.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "../host/control.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../owner/activity.h"
#include "job.h"

int owner_open(struct job *j, char *err, size_t errlen)
{
	const struct omt_exec_args *a = &j->args;
	char usage[400];
	struct omt_owner_cfg cfg = { .source = a->owner_source, .guest_cpu_usage = usage,
				     .idle_ms = 1000 };
	const char *slash;

	if (a->owner_priority == OMT_OWNER_IDLE)
		return 0;
	/* The guests' CPU time: omerta/'s, the parent of the job's cgroup v2. */
	slash = strrchr(j->host.cg.v2, '/');
	snprintf(usage, sizeof(usage), "%.*s/cpu.stat", (int)(slash - j->host.cg.v2),
		 j->host.cg.v2);
	j->owner.watch = omt_owner_open(&cfg, err, errlen);
	if (!j->owner.watch)
		return -ENODEV;
	pr_info("job %s: owner activity from %s: %s the VM while the owner is active, go on "
		"after %u s idle", j->host.id,
		omt_owner_source_name(omt_owner_source(j->owner.watch)),
		omt_owner_priority_word(a->owner_priority), a->owner_idle);
	return 0;
}

/* The owner came back: what --owner-priority says. */
static void owner_arrived(struct job *j)
{
	char msg[OMT_CONTROL_MAX_LINE];
	int64_t t0 = omt_mono_ns();
	int e = 0;

	j->owner.resume_at_ns = 0;
	if (j->vm.state != VM_RUNNING || j->end.outcome != OMT_OUTCOME_RUNNING)
		return;		/* stopped already (by the operator, or for the owner) */
	switch (j->args.owner_priority) {
	case OMT_OWNER_IDLE:
	case OMT_OWNER_INHERIT:
		return;
	case OMT_OWNER_PAUSE:
		e = vm_pause(j, msg, sizeof(msg));
		break;
	case OMT_OWNER_CHECKPOINT:
		e = vm_checkpoint(j, msg, sizeof(msg));
		break;
	case OMT_OWNER_KILL:
		pr_info("job %s: the owner is active: ending the job", j->host.id);
		vm_kill(j, OMT_OUTCOME_OWNER);
		return;
	}
	if (e) {
		pr_err("job %s: the owner is active, and the VM could not be stopped: %s",
		       j->host.id, msg);
		/* A failed checkpoint leaves it paused: the owner's going idle resumes it. */
		j->owner.stopped_for = j->vm.state != VM_RUNNING;
		return;
	}
	j->owner.stopped_for = true;
	pr_info("job %s: the owner is active: VM %s %.1f ms after the news", j->host.id,
		j->vm.state == VM_SAVED ? "checkpointed" : "paused", (omt_mono_ns() - t0) / 1e6);
}

void on_owner(struct job *j)
{
	struct job_owner *o = &j->owner;
	bool active;
	int r = omt_owner_poll(o->watch, &active);

	if (r < 0) {
		pr_err("job %s: owner activity (%s) can't be watched any more: %s; the VM keeps "
		       "its idle priority only", j->host.id,
		       omt_owner_source_name(omt_owner_source(o->watch)), strerror(-r));
		epoll_ctl(j->ep, EPOLL_CTL_DEL, omt_owner_fd(o->watch), NULL);
		omt_owner_close(o->watch);	/* closes that fd */
		o->watch = NULL;
		return;
	}
	if (r == 0 || active == o->active)
		return;
	o->active = active;
	pr_debug("job %s: the owner is %s", j->host.id, active ? "active" : "idle");
	if (active)
		owner_arrived(j);
	else if (o->stopped_for)
		o->resume_at_ns = omt_mono_ns() + (int64_t)j->args.owner_idle * 1000000000LL;
}

/* The owner has been idle for --owner-idle: the VM goes on. */
void owner_tick(struct job *j)
{
	char msg[OMT_CONTROL_MAX_LINE];

	if (!j->owner.resume_at_ns || omt_mono_ns() < j->owner.resume_at_ns ||
	    j->end.outcome != OMT_OUTCOME_RUNNING)
		return;
	j->owner.resume_at_ns = 0;
	j->owner.stopped_for = false;
	if (j->vm.state != VM_RUNNING && vm_resume(j, msg, sizeof(msg)))
		pr_err("job %s: the owner is idle, and the VM could not go on: %s", j->host.id, msg);
	else
		pr_info("job %s: the owner has been idle for %u s: the VM goes on", j->host.id,
			j->args.owner_idle);
}
