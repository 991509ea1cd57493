// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include "job_id.h"

int omt_job_id_validate(const char *s)
{
	return strlen(s) == OMT_JOB_ID_LEN && strspn(s, "0123456789abcdef") == OMT_JOB_ID_LEN ?
		       0 : -EINVAL;
}
