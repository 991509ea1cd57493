// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The job messages' vocabulary: state names, offsets, input names, file paths. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../lib/parse.h"
#include "../lib/utf8.h"
#include "../proto/guest_msg.h"
#include "job.h"

static const char *const state_names[] = {
	[OMT_JOB_QUEUED] = "queued",
	[OMT_JOB_RUNNING] = "running",
	[OMT_JOB_DONE] = "done",
	[OMT_JOB_FAILED] = "failed",
	[OMT_JOB_CANCELLED] = "cancelled",
};
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == OMT_JOB__STATE_COUNT,
	       "every state needs a name");

const char *omt_job_state_name(enum omt_job_state s)
{
	return (unsigned int)s < OMT_JOB__STATE_COUNT ? state_names[s] : "unknown";
}

static const char *const control_state_names[] = {
	[OMT_JOB_CONTROL_NONE] = "none",
	[OMT_JOB_CONTROL_RUNNING] = "running",
	[OMT_JOB_CONTROL_DONE] = "done",
	[OMT_JOB_CONTROL_FAILED] = "failed",
};
_Static_assert(sizeof(control_state_names) / sizeof(control_state_names[0]) ==
		       OMT_JOB__CONTROL_STATE_COUNT,
	       "every control state needs a name");

const char *omt_job_control_state_name(enum omt_job_control_state s)
{
	return (unsigned int)s < OMT_JOB__CONTROL_STATE_COUNT ? control_state_names[s] : "unknown";
}

int omt_job_offset_parse(const char *s, uint64_t *out)
{
	return omt_parse_decimal(s, INT64_MAX, out);
}

int omt_job_input_name_check(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > OMT_JOB_MAX_INPUT_NAME || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '/')
			return -EINVAL;
	return 0;
}

int omt_job_file_path_check(const char *s, size_t len)
{
	int e = omt_msg_check_path(s, len);

	if (e)
		return e;
	return omt_utf8_valid(s, len) ? 0 : -EINVAL;
}
