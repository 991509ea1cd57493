// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The host's parser of what the (untrusted) guest agent says. */
#include <stddef.h>
#include <stdint.h>

#include "../../proto/guest_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct omt_msg m;
	char line[OMT_MSG_MAX_LINE + 64];

	omt_msg_parse((const char *)data, size, &m);
	/* Whatever parses must format back into a line that parses again. */
	if (omt_msg_parse((const char *)data, size, &m) == 0 &&
	    omt_msg_format(line, sizeof(line), &m) > 0 && m.type != OMT_MSG_ERROR) {
		struct omt_msg again;

		if (omt_msg_parse(line, __builtin_strlen(line) - 1, &again) != 0)
			__builtin_trap();
	}
	return 0;
}
