// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

const char *omt_quote_mem(char *out, const char *s, size_t len, size_t max, int quoted)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	size_t i;

	if (quoted)
		*o++ = '\'';
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			*o++ = c;
		} else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	if (i < len) {
		memcpy(o, "...", 3);
		o += 3;
	}
	if (quoted)
		*o++ = '\'';
	*o = '\0';
	return out;
}

const char *omt_quote(char *out, const char *s, size_t max)
{
	/* One byte past max tells whether there is more. */
	return omt_quote_mem(out, s, strnlen(s, max + 1), max, 1);
}

void omt_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void omt_errf_at(char *err, size_t errlen, const char *name, size_t line, const char *msg)
{
	if (name && line)
		omt_errf(err, errlen, "%s:%zu: %s", name, line, msg);
	else if (name)
		omt_errf(err, errlen, "%s: %s", name, msg);
	else if (line)
		omt_errf(err, errlen, "line %zu: %s", line, msg);
	else
		omt_errf(err, errlen, "%s", msg);
}
