// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The agent's parse of job.json, whose argv comes from a consumer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/job_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct omt_job_spec s, again;
	char err[256], *json;
	size_t i;

	if (omt_job_spec_parse((const char *)data, size, &s, err, sizeof(err)))
		return 0;
	/* What parses formats back into a spec that parses the same. */
	if (omt_job_spec_format(&s, &json) ||
	    omt_job_spec_parse(json, strlen(json), &again, err, sizeof(err)))
		__builtin_trap();
	for (i = 0; s.argv[i] || again.argv[i]; i++)
		if (!s.argv[i] || !again.argv[i] || strcmp(s.argv[i], again.argv[i]))
			__builtin_trap();
	if (memcmp(s.eth_ip, again.eth_ip, 4) || s.eth_prefix != again.eth_prefix ||
	    s.firewall != again.firewall || s.image != again.image ||
	    s.scratch_mib != again.scratch_mib || s.handshake_timeout != again.handshake_timeout)
		__builtin_trap();
	free(json);
	omt_job_spec_free(&again);
	omt_job_spec_free(&s);
	return 0;
}
