// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-loader exec: one job in a fresh microVM whose only network is the
 * WireGuard tunnel of --vpn-config. Order matters: the guards are attached
 * (tap and cgroup) before QEMU exists, and everything is torn down on every
 * way out (setup.c). A crash leaves the job directory, which the next start
 * reaps; QEMU itself dies with us (PR_SET_PDEATHSIG), and its tap with it.
 *
 * The job's life: its options (proto/exec_args.h), its set-up (setup.c),
 * its loop (loop.c) until the VM is gone, then its result (result.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "../lib/clock.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/signals.h"
#include "../proto/exit.h"
#include "exec.h"
#include "job.h"

/*
 * Where the guest images are unless OMERTA_IMAGE_DIR says: beside the
 * running binary. Installed, that is PREFIX/lib/omerta, where
 * omerta-loader-exec itself lives (omerta-loader is in PREFIX/bin); in the
 * build tree (build/bin) it is build/guest.
 */
static const char *image_dir_default(void)
{
	static char dir[PATH_MAX + 16];
	char self[PATH_MAX], *slash;
	struct stat st;
	size_t len;

	if (omt_self_dir(self, sizeof(self)))
		return "/proc/self/exe unreadable: set OMERTA_IMAGE_DIR";
	len = strlen(self);
	if (len >= 11 && !strcmp(self + len - 11, "/lib/omerta")) {
		snprintf(dir, sizeof(dir), "%s", self);
		return dir;
	}
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(dir, sizeof(dir), "%s/lib/omerta", self);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return dir;
	snprintf(dir, sizeof(dir), "%s/guest", self);
	return dir;
}

static void job_init(struct job *j)
{
	j->t.loader_start_ns = omt_mono_ns();
	j->vm.agent_fd = j->vm.qmp_fd = j->vm.console_fd = j->vm.kernel_fd = -1;
	j->vm.initrd_fd = j->vm.pidfd = j->vm.image_fd = -1;
	j->host.ctl_fd = j->host.owner_fd = j->host.vm_uid_fd = j->ep = -1;
	j->host.net.tap_fd = -1;
	j->host.image_dir = getenv("OMERTA_IMAGE_DIR") ? getenv("OMERTA_IMAGE_DIR") :
							 image_dir_default();
	j->t.mono_to_real_ns = omt_clock_ns(CLOCK_REALTIME) - omt_clock_ns(CLOCK_MONOTONIC);
}

int exec_main(int argc, char **argv)
{
	static struct job j;
	struct omt_log_fields ended = { 0 };
	char err[1024] = "";
	sigset_t mask;
	int e, code;

	e = omt_exec_args_parse(argc, argv, &j.args);
	if (e)
		return e > 0 ? OMT_EXIT_OK : OMT_EXIT_USAGE;
	job_init(&j);
	pr_debug("guest images in %s", j.host.image_dir);
	/* Every line is the job's; a warm VM's once its job comes (warm.c). */
	if (j.args.job_id && j.args.warm_fd < 0)
		omt_log_set_job(j.args.job_id);
	/* Read from a signalfd in the loop; set-up must not be cut short. */
	omt_signals_for_signalfd(&mask, NULL);

	j.sigmask = &mask;
	e = job_setup(&j, err, sizeof(err));
	if (e == -ECANCELED && j.args.warm_fd >= 0 && !j.args.result) {
		job_teardown(&j);	/* a warm VM no job came for */
		warm_free(&j);
		return OMT_EXIT_OK;
	}
	if (e) {
		pr_err("%s", err[0] ? err : strerror(-e));
		job_teardown(&j);
		/* A warm VM that ended before its job: how it ended. */
		code = j.end.outcome == OMT_OUTCOME_RUNNING ? OMT_EXIT_FAIL : job_exit_code(&j);
		if (j.end.outcome == OMT_OUTCOME_RUNNING)
			j.end.outcome = OMT_OUTCOME_SETUP_FAILED;
		if (j.args.result)
			job_write_result(&j, code);
		warm_free(&j);
		return code;
	}
	job_run(&j, &mask);
	if (j.output.files && j.end.have_exit && !j.output.done && !j.output.error[0]) {
		snprintf(j.output.error, sizeof(j.output.error),
			 "the guest did not send its output");
		pr_err("job %s: %s", j.host.id, j.output.error);
	}
	code = job_exit_code(&j);
	if (code == OMT_EXIT_BOOT && !j.end.guest_error)
		job_log_console_tail(&j);
	job_teardown(&j);
	if (j.args.result)
		job_write_result(&j, code);
	ended.outcome = omt_outcome_name(j.end.outcome);
	omt_log_with(OMT_LOG_INFO, &ended, "job %s: exit status %d", j.host.id, code);
	warm_free(&j);	/* a warm VM's job: what j.args points into */
	return code;
}
