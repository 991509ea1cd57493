// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* omerta swarm's providers file (consumer/providers.c). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../consumer/providers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cli_provider p[CLI_PROVIDERS_MAX];
	char err[256];
	size_t n, i, j;
	int ret;

	err[0] = '\0';
	ret = cli_providers_parse((const char *)data, size, p, &n, err, sizeof(err));
	if (ret == 0) {
		if (n > CLI_PROVIDERS_MAX)
			__builtin_trap();
		for (i = 0; i < n; i++) {
			if (!p[i].port || !p[i].line || !memchr(p[i].hostport, ':', sizeof(p[i].hostport)))
				__builtin_trap();
			for (j = 0; j < i; j++)
				if (!strcmp(p[i].hostport, p[j].hostport))
					__builtin_trap();
		}
		return 0;
	}
	if (ret != -EINVAL || n)
		__builtin_trap();
	/* One line of printable ASCII: it goes to terminals. */
	for (i = 0; err[i]; i++)
		if (i == sizeof(err) - 1 || err[i] < 0x20 || err[i] > 0x7e)
			__builtin_trap();
	if (!i)
		__builtin_trap();
	return 0;
}
