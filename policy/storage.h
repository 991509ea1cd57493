/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The storage budget: whether a job's declared needs fit what the policy
 * gives all jobs' files (storage_budget_mib in [provider]) and its
 * consumer's (in [consumer "KEY"]), counting what queued and running jobs
 * hold (their declared needs) and what finished jobs' files use; which
 * finished jobs' files go, oldest first, to make room. Pure arithmetic,
 * in MiB: every amount is rounded up to whole MiB first.
 */
#ifndef OMERTA_POLICY_STORAGE_H
#define OMERTA_POLICY_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a job may write on the provider's disk, declared when it is submitted. */
struct omt_storage_need {
	uint64_t inputs_mib;		/* its inputs and its script */
	uint64_t output_mib;		/* the output cap when it asks for output, else 0 */
	uint64_t checkpoint_mib;	/* its memory, when it may be checkpointed, else 0 */
};

/* bytes in whole MiB, rounded up. */
uint64_t omt_storage_mib(uint64_t bytes);
/* The sum of need's parts. */
uint64_t omt_storage_need_total(const struct omt_storage_need *need);

/* What one job of the table holds against the budget. */
struct omt_storage_hold {
	uint64_t mib;			/* declared (queued, running) or in use (finished) */
	bool finished;			/* its files may be dropped to make room */
	bool mine;			/* the asking consumer's */
};

/* The budgets in force: the provider's total, the consumer's share (0: none). */
struct omt_storage_budget {
	uint64_t total_mib;
	uint64_t share_mib;
	const char *consumer;		/* how the reason names the consumer */
};

/*
 * Whether need fits b given what the n jobs of holds hold, finished jobs
 * in the order they ended, oldest first. 0: it fits once the finished
 * jobs marked in drop[n] (all false when none need go) have dropped their
 * files: the oldest finished first, any consumer's for the total, the
 * consumer's own for its share. -ENOSPC when it can't fit even so (a need
 * above a whole budget never does), nothing marked, and why in reason:
 * "the job needs 320 MiB of storage (inputs 12 MiB, output 64 MiB,
 * checkpoint 244 MiB); consumer 'KEY' has 100 MiB of its 256 MiB budget
 * left".
 */
int omt_storage_fit(const struct omt_storage_need *need, const struct omt_storage_budget *b,
		    const struct omt_storage_hold *holds, size_t n, bool *drop, char *reason,
		    size_t len);

#endif
