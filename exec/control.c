// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The job's control socket (host/control.h), served: "pause", "resume",
 * "checkpoint", "restore" from the verbs of those names and the daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../host/control.h"
#include "job.h"

static int restore(struct job *j, char *msg, size_t len)
{
	if (j->vm.state == VM_SAVED)
		return vm_restore(j, msg, len);
	snprintf(msg, len, "no checkpoint to restore: the VM is %s",
		 j->vm.state == VM_PAUSED ? "paused" : "running");
	return -ENOENT;
}

void on_control(struct job *j)
{
	char cmd[OMT_CONTROL_MAX_LINE], msg[OMT_CONTROL_MAX_LINE] = "";
	int fd = omt_control_accept(j->host.ctl_fd, cmd, sizeof(cmd)), e;

	if (fd < 0)
		return;
	if (j->end.outcome != OMT_OUTCOME_RUNNING) {
		omt_control_reply(fd, 0, "the job is ending");
		return;
	}
	if (strcmp(cmd, "pause") == 0) {
		e = vm_pause(j, msg, sizeof(msg));
	} else if (strcmp(cmd, "resume") == 0) {
		e = vm_resume(j, msg, sizeof(msg));
	} else if (strcmp(cmd, "checkpoint") == 0) {
		e = vm_checkpoint(j, msg, sizeof(msg));
	} else if (strcmp(cmd, "restore") == 0) {
		e = restore(j, msg, sizeof(msg));
	} else {
		snprintf(msg, sizeof(msg), "unknown command '%.64s' (pause, resume, checkpoint, "
					   "restore)", cmd);
		e = -EINVAL;
	}
	/* The operator's word goes: the owner's going idle no longer resumes it. */
	j->owner.stopped_for = false;
	j->owner.resume_at_ns = 0;
	omt_control_reply(fd, e == 0, msg);
}
