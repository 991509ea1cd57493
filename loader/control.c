// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The checkpoint, restore, pause and resume verbs: clients of a job's control socket. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../host/control.h"
#include "../host/jobdir.h"
#include "../proto/exit.h"
#include "../proto/job_id.h"
#include "verbs.h"

static const struct {
	const char *verb, *what;
} control_verbs[] = {
	{ "checkpoint", "Saves the job's VM to a file in its job directory and stops it:\n"
			"its memory and CPU go back to the host until 'restore'." },
	{ "restore", "Starts the job's VM again from its checkpoint (or continues a paused\n"
		     "one), with the same tap, guard and policy." },
	{ "pause", "Stops the job's vCPUs (QMP stop); its memory stays allocated." },
	{ "resume", "Continues a paused job, or restores a checkpointed one." },
};

/* checkpoint, restore, pause, resume: what verb argv[0] asks of job argv[1]. */
int control_main(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, {} };
	const char *verb = argv[0], *what = "";
	char reply[OMT_CONTROL_MAX_LINE];
	size_t i;
	int c, r;

	for (i = 0; i < sizeof(control_verbs) / sizeof(control_verbs[0]); i++)
		if (strcmp(verb, control_verbs[i].verb) == 0)
			what = control_verbs[i].what;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: omerta-loader %s JOB\n\n%s\n\nJOB is the job id that exec "
			       "and status show (8 hex digits).\nExit status: 0 done, 1 failed "
			       "(the reason on stderr), 2 bad usage.\n", verb, what);
			return OMT_EXIT_OK;
		}
		fprintf(stderr, "Usage: omerta-loader %s JOB\n", verb);
		return OMT_EXIT_USAGE;
	}
	if (optind + 1 != argc || omt_job_id_validate(argv[optind])) {
		fprintf(stderr, "%s: give one job id (8 lowercase hex digits)%s%s%s\n", verb,
			optind < argc ? ": '" : "", optind < argc ? argv[optind] : "",
			optind < argc ? "'" : "");
		return OMT_EXIT_USAGE;
	}
	/* A checkpoint of a big VM takes a while under TCG. */
	r = omt_control_request(argv[optind], verb, 120000, reply, sizeof(reply));
	if (r == 1) {
		printf("job %s: %s\n", argv[optind], reply);
		return OMT_EXIT_OK;
	}
	fprintf(stderr, "%s: %s\n", verb, reply);
	return OMT_EXIT_FAIL;
}
