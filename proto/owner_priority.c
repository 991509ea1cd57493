// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "owner_priority.h"

const char *const omt_owner_priority_words[OMT_OWNER_N_PRIORITIES] = {
	[OMT_OWNER_IDLE] = "idle", [OMT_OWNER_PAUSE] = "pause",
	[OMT_OWNER_CHECKPOINT] = "checkpoint", [OMT_OWNER_KILL] = "kill",
};

const char *omt_owner_priority_word(enum omt_owner_priority p)
{
	return p >= OMT_OWNER_IDLE && p <= OMT_OWNER_KILL ? omt_owner_priority_words[p] : "inherit";
}

const char *const omt_owner_source_words[OMT_OWNER_N_SOURCES] = { "auto", "logind", "input",
								   "cpu" };
