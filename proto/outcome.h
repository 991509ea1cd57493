/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How a job ended: exec's outcome (its --result's "outcome"), and the
 * daemon's own for a job exec never finished. The names are the API's,
 * the metrics' and the audit log's; the exit codes are proto/exit.h's.
 */
#ifndef OMERTA_OUTCOME_H
#define OMERTA_OUTCOME_H

enum omt_outcome {
	OMT_OUTCOME_RUNNING,		/* not ended yet */
	OMT_OUTCOME_DONE,		/* the workload exited (or the VM ended by itself) */
	OMT_OUTCOME_ROGUE,
	OMT_OUTCOME_VPN_SETUP_FAILED,
	OMT_OUTCOME_VPN_LOST,
	OMT_OUTCOME_TIMEOUT,
	OMT_OUTCOME_BOOT_FAILED,
	OMT_OUTCOME_INTERRUPTED,	/* exec got SIGINT or SIGTERM */
	OMT_OUTCOME_SETUP_FAILED,	/* the host could not set the job up */
	OMT_OUTCOME_OWNER,		/* stopped for the machine's owner */
	OMT_OUTCOME_CANCELLED,		/* the daemon's: the consumer cancelled it */
	OMT_OUTCOME__COUNT,
};

/* "running", "done", "rogue", "vpn_setup_failed", ...; NULL out of range. */
const char *omt_outcome_name(enum omt_outcome o);
/* 0 and *out if s names one, else -EINVAL. */
int omt_outcome_parse(const char *s, enum omt_outcome *out);
/*
 * The exit code the outcome gives whatever the workload did (ROGUE: 240,
 * SETUP_FAILED: 1, ...), or -1 when it depends on more: DONE (the
 * workload's status), INTERRUPTED (128 + the signal), RUNNING, CANCELLED.
 */
int omt_outcome_exit_code(enum omt_outcome o);

#endif
