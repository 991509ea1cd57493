// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include "../lib/parse.h"
#include "vm_uids.h"

int omt_uid_range_parse(const char *s, struct omt_uid_range *out)
{
	const char *dash = strchr(s, '-');
	char first[16];
	uint64_t a, b;

	if (!dash || (size_t)(dash - s) >= sizeof(first))
		return -EINVAL;
	memcpy(first, s, dash - s);
	first[dash - s] = '\0';
	if (omt_parse_decimal(first, OMT_VM_UIDS_LAST_MAX, &a) ||
	    omt_parse_decimal(dash + 1, OMT_VM_UIDS_LAST_MAX, &b) || a < OMT_VM_UIDS_FIRST_MIN ||
	    a > b || (a <= 65534 && 65534 <= b))
		return -EINVAL;
	out->first = a;
	out->last = b;
	return 0;
}
