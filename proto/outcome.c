// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include "exit.h"
#include "outcome.h"

static const struct {
	const char *name;
	int exit_code;
} outcomes[] = {
	[OMT_OUTCOME_RUNNING] = { "running", -1 },
	[OMT_OUTCOME_DONE] = { "done", -1 },
	[OMT_OUTCOME_ROGUE] = { "rogue", OMT_EXIT_ROGUE },
	[OMT_OUTCOME_VPN_SETUP_FAILED] = { "vpn_setup_failed", OMT_EXIT_VPN_SETUP },
	[OMT_OUTCOME_VPN_LOST] = { "vpn_lost", OMT_EXIT_VPN_LOST },
	[OMT_OUTCOME_TIMEOUT] = { "timeout", OMT_EXIT_TIMEOUT },
	[OMT_OUTCOME_BOOT_FAILED] = { "boot_failed", OMT_EXIT_BOOT },
	[OMT_OUTCOME_INTERRUPTED] = { "interrupted", -1 },
	[OMT_OUTCOME_SETUP_FAILED] = { "setup_failed", OMT_EXIT_FAIL },
	[OMT_OUTCOME_OWNER] = { "owner", OMT_EXIT_OWNER },
	[OMT_OUTCOME_CANCELLED] = { "cancelled", -1 },
};
_Static_assert(sizeof(outcomes) / sizeof(outcomes[0]) == OMT_OUTCOME__COUNT,
	       "every outcome needs a name");

const char *omt_outcome_name(enum omt_outcome o)
{
	return (unsigned int)o < OMT_OUTCOME__COUNT ? outcomes[o].name : NULL;
}

int omt_outcome_parse(const char *s, enum omt_outcome *out)
{
	unsigned int i;

	for (i = 0; i < OMT_OUTCOME__COUNT; i++)
		if (strcmp(s, outcomes[i].name) == 0) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

int omt_outcome_exit_code(enum omt_outcome o)
{
	return (unsigned int)o < OMT_OUTCOME__COUNT ? outcomes[o].exit_code : -1;
}
