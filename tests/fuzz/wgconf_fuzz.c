// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The consumer's wg-quick config, parsed by the loader (omerta-loader exec). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "../../vpn/wgconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct omt_wgconf c;
	char err[256];
	size_t i;
	int ret;

	ret = omt_wgconf_parse((const char *)data, size, &c, err, sizeof(err));
	if (ret == 0) {
		if (c.n_allowed_ips < 1 || c.n_allowed_ips > OMT_WG_MAX_ALLOWED_IPS ||
		    c.address.prefix > 32 || !c.endpoint_port || (c.mtu && c.mtu < 68))
			__builtin_trap();
		for (i = 0; i < (size_t)c.n_allowed_ips; i++)
			if (c.allowed_ips[i].prefix > 32)
				__builtin_trap();
		return 0;
	}
	if (ret != -EINVAL)
		__builtin_trap();
	/* One line of printable ASCII: it goes to logs and terminals. */
	for (i = 0; err[i]; i++)
		if (i == sizeof(err) - 1 || err[i] < 0x20 || err[i] > 0x7e)
			__builtin_trap();
	if (!i)
		__builtin_trap();
	return 0;
}
