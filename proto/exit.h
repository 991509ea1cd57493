/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Exit codes every omerta-loader verb and the consumer share
 * (docs/omerta-loader.md, docs/omerta.md). Which outcome of a job gives
 * which of exec's codes: proto/outcome.h.
 */
#ifndef OMERTA_EXIT_H
#define OMERTA_EXIT_H

#define OMT_EXIT_OK 0
#define OMT_EXIT_FAIL 1
#define OMT_EXIT_USAGE 2

/* exec (and the consumer, for a job) besides the workload's own status: */
#define OMT_EXIT_SIGNAL 128	/* + N: the workload, or exec, was killed by signal N */
#define OMT_EXIT_ROGUE 240	/* rogue traffic: the VM was killed */
#define OMT_EXIT_VPN_SETUP 241	/* the guest's VPN could not be set up */
#define OMT_EXIT_VPN_LOST 242	/* nothing from the endpoint for --vpn-timeout */
#define OMT_EXIT_TIMEOUT 243
#define OMT_EXIT_BOOT 244	/* the VM failed to boot, or its agent failed or misspoke */
#define OMT_EXIT_OWNER 245	/* stopped for the machine's owner */
#define OMT_EXIT_OUTPUT 246	/* the workload's output files were refused or never came */

#endif
