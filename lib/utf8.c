// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>

#include "utf8.h"

int omt_utf8_next(const char *s, size_t len, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	const unsigned char *u = (const unsigned char *)s;
	size_t n, i;
	uint32_t c;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if ((u[0] & 0xe0) == 0xc0) {
		n = 2;
		c = u[0] & 0x1f;
	} else if ((u[0] & 0xf0) == 0xe0) {
		n = 3;
		c = u[0] & 0x0f;
	} else if ((u[0] & 0xf8) == 0xf0) {
		n = 4;
		c = u[0] & 0x07;
	} else {
		return -EILSEQ;
	}
	if (len < n)
		return -EILSEQ;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return -EILSEQ;
		c = c << 6 | (u[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -EILSEQ;
	*cp = c;
	return n;
}

int omt_utf8_valid(const char *s, size_t len)
{
	uint32_t cp;
	size_t i;
	int n;

	for (i = 0; i < len; i += n) {
		n = omt_utf8_next(s + i, len - i, &cp);
		if (n < 0)
			return 0;
	}
	return 1;
}
