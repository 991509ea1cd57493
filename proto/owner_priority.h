/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The machine's owner first: what happens to a job's VM while they are
 * active, and how their activity is seen. The words are the policy file's
 * (owner_priority, owner_source) and exec's (--owner-priority,
 * --owner-source); the daemon hands the policy's decision to exec in them.
 */
#ifndef OMERTA_OWNER_PRIORITY_H
#define OMERTA_OWNER_PRIORITY_H


/* What happens to a job's VM while the machine's owner is active. */
enum omt_owner_priority {
	OMT_OWNER_INHERIT = -1,		/* a network without its own: the provider's */
	OMT_OWNER_IDLE,			/* nothing more: the VM runs at idle priority anyway */
	OMT_OWNER_PAUSE,		/* its vCPUs stop (memory stays) */
	OMT_OWNER_CHECKPOINT,		/* saved to a file and stopped (memory freed) */
	OMT_OWNER_KILL,			/* the job ends */
};
#define OMT_OWNER_N_PRIORITIES (OMT_OWNER_KILL + 1)

/* "idle", "pause", "checkpoint", "kill", indexed by the enum. */
extern const char *const omt_owner_priority_words[OMT_OWNER_N_PRIORITIES];
/* Its word; "inherit" for OMT_OWNER_INHERIT (and what is out of range). */
const char *omt_owner_priority_word(enum omt_owner_priority p);

/* How the owner's activity is seen (owner/activity.h): "auto" tries the others in order. */
#define OMT_OWNER_N_SOURCES 4
/* "auto", "logind", "input", "cpu". */
extern const char *const omt_owner_source_words[OMT_OWNER_N_SOURCES];

#endif
