// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The job messages' vocabulary: state, image and language names, ids, offsets, names. */
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

static const char *const image_names[] = {
	[OMT_JOB_IMAGE_DEFAULT] = NULL,
	[OMT_JOB_IMAGE_MINIMAL] = "minimal",
	[OMT_JOB_IMAGE_DEBIAN] = "debian",
};
_Static_assert(sizeof(image_names) / sizeof(image_names[0]) == OMT_JOB__IMAGE_COUNT,
	       "every image needs a name");

static const char *const language_names[] = {
	[OMT_JOB_LANGUAGE_DEFAULT] = NULL,
	[OMT_JOB_LANGUAGE_SH] = "sh",
	[OMT_JOB_LANGUAGE_BASH] = "bash",
	[OMT_JOB_LANGUAGE_PYTHON] = "python",
};
_Static_assert(sizeof(language_names) / sizeof(language_names[0]) == OMT_JOB__LANGUAGE_COUNT,
	       "every language needs a name");

static int name_index(const char *s, const char *const *names, int count)
{
	int i;

	for (i = 0; i < count; i++)
		if (names[i] && !strcmp(s, names[i]))
			return i;
	return -EINVAL;
}

const char *omt_job_state_name(enum omt_job_state s)
{
	return (unsigned int)s < OMT_JOB__STATE_COUNT ? state_names[s] : "unknown";
}

const char *omt_job_image_name(enum omt_job_image i)
{
	return (unsigned int)i < OMT_JOB__IMAGE_COUNT ? image_names[i] : NULL;
}

const char *omt_job_language_name(enum omt_job_language l)
{
	return (unsigned int)l < OMT_JOB__LANGUAGE_COUNT ? language_names[l] : NULL;
}

int omt_job_image_parse(const char *s, enum omt_job_image *out)
{
	int i = name_index(s, image_names, OMT_JOB__IMAGE_COUNT);

	if (i < 0)
		return i;
	*out = i;
	return 0;
}

int omt_job_language_parse(const char *s, enum omt_job_language *out)
{
	int i = name_index(s, language_names, OMT_JOB__LANGUAGE_COUNT);

	if (i < 0)
		return i;
	*out = i;
	return 0;
}

int omt_job_id_check(const char *s)
{
	size_t i;

	for (i = 0; i < OMT_JOB_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -EINVAL;
	return s[i] ? -EINVAL : 0;
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
