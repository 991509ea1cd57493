// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * How the job ended, told three ways: the exit code (proto/exit.h,
 * proto/outcome.h), the --result file (proto/exec_result.h), and the log:
 * what the guard counted, and the end of the console when the VM never
 * got as far as its agent.
 */
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../guard/guard_bpf.h"
#include "../guard/totals.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "../proto/exit.h"
#include "../telemetry/reasons.h"
#include "guard.skel.h"
#include "job.h"

/* One line with what the guard counted for the job's tap; the tunnel's bytes kept. */
void job_count_guard(struct job *j)
{
	struct omt_counter t[2][OMT_R__COUNT];
	struct guard_bpf *g = j->host.guard;
	char line[1024];
	int n = 0, d, r;

	n += snprintf(line + n, sizeof(line) - n, "job %s: guard counted", j->host.id);
	omt_guard_totals(bpf_map__fd(g->maps.omt_totals), bpf_map__fd(g->maps.omt_vm),
			 bpf_map__fd(g->maps.omt_vm_counts), j->host.net.ifindex, t);
	for (d = 0; d < 2; d++) {
		for (r = 0; r < OMT_R__COUNT && n < (int)sizeof(line) - 80; r++) {
			if (!t[d][r].packets)
				continue;
			n += snprintf(line + n, sizeof(line) - n, " %s/%s=%llu pkts %llu B",
				      omt_direction_name(d), omt_reason_name(r),
				      (unsigned long long)t[d][r].packets,
				      (unsigned long long)t[d][r].bytes);
		}
	}
	j->end.tunnel_bytes_out += t[OMT_DIR_FROM_GUEST][OMT_R_PASS].bytes;
	j->end.tunnel_bytes_in += t[OMT_DIR_TO_GUEST][OMT_R_PASS].bytes;
	pr_info("%s", line);
}

int job_exit_code(const struct job *j)
{
	const struct job_end *end = &j->end;
	int code = omt_outcome_exit_code(end->outcome);

	if (code >= 0)
		return code;
	if (end->outcome == OMT_OUTCOME_INTERRUPTED)
		return OMT_EXIT_SIGNAL + end->interrupted_by;
	if (end->have_exit && j->output.files && (!j->output.done || j->output.error[0]))
		return OMT_EXIT_OUTPUT;
	if (end->have_exit)
		return end->exit_signal ? OMT_EXIT_SIGNAL + end->exit_signal : end->exit_status;
	return OMT_EXIT_BOOT;
}

/* The job's end for whoever started it (the daemon). */
void job_write_result(const struct job *j, int code)
{
	int64_t end = omt_mono_ns();
	struct omt_exec_result r = {
		.outcome = j->end.outcome,
		.exit_status = code,
		.workload_exited = j->end.have_exit,
		.rogue_events = j->end.rogue_events,
		.duration_s = j->t.start_ns ? (end - j->t.start_ns) / 1e9 : 0,
		.tunnel_bytes_in = j->end.tunnel_bytes_in,
		.tunnel_bytes_out = j->end.tunnel_bytes_out,
		.output_bytes = j->end.output_bytes,
		/* QEMU started to the workload started (the VPN up): the VM's boot. */
		.has_boot_s = j->t.workload_ns != 0,
		.boot_s = (j->t.workload_ns - j->t.start_ns) / 1e9,
		.stopped_s = (j->vm.stopped_total_ns +
			      (j->vm.stopped_since_ns ? end - j->vm.stopped_since_ns : 0)) / 1e9,
		.checkpoints = j->vm.checkpoints,
		.restores = j->vm.restores,
		.image = j->args.vm.image,
		.has_rogue_kill_s = j->t.rogue_kill_ns != 0,
		.rogue_kill_s = j->t.rogue_kill_ns / 1e9,
	};
	char err[256];

	memcpy(r.job, j->host.id, sizeof(r.job));
	memcpy(r.image_sha256, j->vm.image_sha256, sizeof(r.image_sha256));
	memcpy(r.output_error, j->output.error, sizeof(r.output_error));
	if (omt_exec_result_write(j->args.result, &r, err, sizeof(err)))
		pr_err("job %s: write --result '%s': %s", j->host.id, j->args.result, err);
}

/* What the guest's kernel said, when it never got as far as the agent. */
void job_log_console_tail(const struct job *j)
{
	char path[400], lines[20][200];
	int n = 0, i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/console.log", j->host.dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(lines[n % 20], sizeof(lines[0]), f))
		n++;
	fclose(f);
	pr_err("job %s: the VM ended without a result; the end of its console:", j->host.id);
	for (i = n > 20 ? n - 20 : 0; i < n; i++) {
		char *line = lines[i % 20], shown[OMT_QUOTE_SIZE(sizeof(lines[0]))];

		/* The guest writes what it likes there: no escape sequence reaches a terminal. */
		line[strcspn(line, "\r\n")] = '\0';
		pr_err("console: %s", omt_quote_mem(shown, line, strlen(line), sizeof(lines[0]), 0));
	}
}
