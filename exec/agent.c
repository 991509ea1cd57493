// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The VM's link to its agent: what the guest says on its virtio-serial
 * port (proto/guest_msg.h), line by line, and what exec does about it:
 * stages, the workload's output to ours, its exit, its failure, and its
 * /job/output files into --output (outfiles.c). The guest is untrusted: a
 * line that does not parse ends the job.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "job.h"
#include "outfiles.h"

/* The workload's /job/output, file by file, into --output. */
static void on_output(struct job *j, const struct omt_msg *m)
{
	struct job_output *out = &j->output;
	uint64_t files, bytes;
	int r;

	if (out->error[0] || out->done)
		return;		/* refused already: the rest is ignored */
	if (!out->files) {
		snprintf(out->error, sizeof(out->error),
			 "the guest sent output files, and none were asked for");
		pr_err("job %s: %s", j->host.id, out->error);
		return;
	}
	r = omt_outfiles_feed(out->files, m);
	if (r < 0) {
		snprintf(out->error, sizeof(out->error), "%s", omt_outfiles_error(out->files));
		pr_err("job %s: output refused: %s", j->host.id, out->error);
	} else if (r == 1) {
		out->done = true;
		omt_outfiles_stats(out->files, &files, &bytes);
		pr_info("job %s: output: %llu files and directories, %llu bytes into %s", j->host.id,
			(unsigned long long)files, (unsigned long long)bytes, j->args.job.output_dir);
	}
}

/* The workload's stdout or stderr, to --stdout-fd or --stderr-fd. */
static void on_stream(struct job *j, const struct omt_msg *m)
{
	int fd = m->fd == 1 ? j->args.stdout_fd : j->args.stderr_fd;
	FILE *out;

	if (fd == m->fd) {
		out = m->fd == 1 ? stdout : stderr;
		fwrite(m->data, 1, m->len, out);
		fflush(out);
	} else if (omt_write_all(fd, m->data, m->len) < 0) {
		pr_warn("job %s: workload output: %s", j->host.id, strerror(errno));
	}
	j->end.output_bytes += m->len;
}

static void on_stage(struct job *j, enum omt_stage stage)
{
	j->link.stage = stage;
	pr_debug("job %s: guest stage %s at %.3f s", j->host.id, omt_stage_name(stage),
		 (omt_mono_ns() - j->t.start_ns) / 1e9);
	/* The first one only: a guest saying it again resets nothing. */
	if (stage == OMT_STAGE_WORKLOAD && !j->t.workload_ns) {
		j->t.vpn_seen_ns = omt_mono_ns();	/* the handshake just came back */
		j->t.workload_ns = j->t.vpn_seen_ns;
	}
}

static void on_message(struct job *j, const struct omt_msg *m)
{
	j->link.heard = true;
	switch (m->type) {
	case OMT_MSG_STAGE:
		on_stage(j, m->stage);
		break;
	case OMT_MSG_OUT:
		on_stream(j, m);
		break;
	case OMT_MSG_EXIT:
		j->end.have_exit = true;
		j->end.exit_status = m->status;
		j->end.exit_signal = m->signal;
		/*
		 * The exit is the agent's last word: nothing is lost by not
		 * waiting for the guest's power-off, and the VM goes anyway.
		 */
		vm_kill(j, OMT_OUTCOME_DONE);
		break;
	case OMT_MSG_ERROR:
		j->end.guest_error = true;
		j->link.stage = m->stage;
		pr_err("job %s: the guest failed at %s: %s", j->host.id, omt_stage_name(m->stage),
		       m->text);
		if (j->end.outcome == OMT_OUTCOME_RUNNING)
			j->end.outcome = m->stage == OMT_STAGE_VPN || m->stage == OMT_STAGE_HANDSHAKE ?
						 OMT_OUTCOME_VPN_SETUP_FAILED : OMT_OUTCOME_BOOT_FAILED;
		break;
	case OMT_MSG_DIR:
	case OMT_MSG_FILE:
	case OMT_MSG_FDATA:
	case OMT_MSG_FEND:
	case OMT_MSG_SKIP:
	case OMT_MSG_OUTDONE:
	case OMT_MSG_OUTERR:
		on_output(j, m);
		break;
	case OMT_MSG_JOB:
		pr_err("job %s: the guest sent a job message, which only the host sends; "
		       "killing it", j->host.id);
		vm_kill(j, OMT_OUTCOME_BOOT_FAILED);
		break;
	}
}

void on_agent(struct job *j)
{
	struct job_link *l = &j->link;
	ssize_t n = read(j->vm.agent_fd, l->buf + l->len, sizeof(l->buf) - l->len);
	char *nl;

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		close(j->vm.agent_fd);
		j->vm.agent_fd = -1;
		return;
	}
	l->len += n;
	while ((nl = memchr(l->buf, '\n', l->len))) {
		size_t len = nl - l->buf;

		if (omt_msg_parse(l->buf, len, &l->msg)) {
			pr_err("job %s: the guest sent a malformed message; killing it", j->host.id);
			vm_kill(j, OMT_OUTCOME_BOOT_FAILED);
			l->len = 0;
			return;
		}
		on_message(j, &l->msg);
		memmove(l->buf, nl + 1, l->len - len - 1);
		l->len -= len + 1;
	}
	if (l->len == sizeof(l->buf)) {
		pr_err("job %s: the guest sent an overlong line; killing it", j->host.id);
		vm_kill(j, OMT_OUTCOME_BOOT_FAILED);
		l->len = 0;
	}
}
