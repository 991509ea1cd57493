// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The storage budget's arithmetic (storage.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage.h"

uint64_t omt_storage_mib(uint64_t bytes)
{
	return bytes / (1 << 20) + !!(bytes % (1 << 20));
}

uint64_t omt_storage_need_total(const struct omt_storage_need *need)
{
	return need->inputs_mib + need->output_mib + need->checkpoint_mib;
}

/* "the job needs N MiB of storage (inputs I MiB, output O MiB, checkpoint C MiB)" */
static int say_need(const struct omt_storage_need *need, char *reason, size_t len)
{
	return snprintf(reason, len, "the job needs %llu MiB of storage (inputs %llu MiB, output "
			"%llu MiB, checkpoint %llu MiB)",
			(unsigned long long)omt_storage_need_total(need),
			(unsigned long long)need->inputs_mib, (unsigned long long)need->output_mib,
			(unsigned long long)need->checkpoint_mib);
}

static int refuse(const struct omt_storage_need *need, const struct omt_storage_budget *b,
		  bool share, bool whole, uint64_t left, char *reason, size_t len)
{
	int n = say_need(need, reason, len);
	uint64_t of = share ? b->share_mib : b->total_mib;

	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	reason += n;
	len -= n;
	if (whole && share)
		snprintf(reason, len, ", more than the whole %llu MiB budget of consumer '%s'",
			 (unsigned long long)of, b->consumer);
	else if (whole)
		snprintf(reason, len, ", more than the provider's whole storage budget of %llu MiB",
			 (unsigned long long)of);
	else if (share)
		snprintf(reason, len, "; consumer '%s' has %llu MiB of its %llu MiB budget left",
			 b->consumer, (unsigned long long)left, (unsigned long long)of);
	else
		snprintf(reason, len, "; the provider has %llu MiB of its %llu MiB storage budget "
			 "left", (unsigned long long)left, (unsigned long long)of);
	return -ENOSPC;
}

int omt_storage_fit(const struct omt_storage_need *need, const struct omt_storage_budget *b,
		    const struct omt_storage_hold *holds, size_t n, bool *drop, char *reason,
		    size_t len)
{
	uint64_t want = omt_storage_need_total(need), all = 0, mine = 0, all_kept = 0, mine_kept = 0;
	bool total_ok, share_ok;
	size_t i;

	if (b->share_mib && want > b->share_mib)
		return refuse(need, b, true, true, 0, reason, len);
	if (want > b->total_mib)
		return refuse(need, b, false, true, 0, reason, len);
	for (i = 0; i < n; i++) {
		drop[i] = false;
		all += holds[i].mib;
		mine += holds[i].mine ? holds[i].mib : 0;
		/* What no drop can free: queued and running jobs' needs. */
		all_kept += holds[i].finished ? 0 : holds[i].mib;
		mine_kept += holds[i].finished || !holds[i].mine ? 0 : holds[i].mib;
	}
	total_ok = all + want <= b->total_mib;
	share_ok = !b->share_mib || mine + want <= b->share_mib;
	for (i = 0; i < n && !(total_ok && share_ok); i++) {
		if (!holds[i].finished || !holds[i].mib || (total_ok && !holds[i].mine))
			continue;
		drop[i] = true;
		all -= holds[i].mib;
		mine -= holds[i].mine ? holds[i].mib : 0;
		total_ok = all + want <= b->total_mib;
		share_ok = !b->share_mib || mine + want <= b->share_mib;
	}
	if (total_ok && share_ok)
		return 0;
	for (i = 0; i < n; i++)
		drop[i] = false;
	if (!share_ok)
		return refuse(need, b, true, false,
			      b->share_mib > mine_kept ? b->share_mib - mine_kept : 0, reason, len);
	return refuse(need, b, false, false,
		      b->total_mib > all_kept ? b->total_mib - all_kept : 0, reason, len);
}
