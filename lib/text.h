/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Error texts that name what was wrong, safely, for parsers of untrusted input. */
#ifndef OMERTA_TEXT_H
#define OMERTA_TEXT_H

#include <stddef.h>

/* Room omt_quote needs for max characters of input. */
#define OMT_QUOTE_SIZE(max) ((max) * 4 + 6)

/*
 * s in single quotes, at most max characters of it ("..." after when cut),
 * anything but printable ASCII (and the backslash) as \xNN. Returns out,
 * which has OMT_QUOTE_SIZE(max) bytes.
 */
const char *omt_quote(char *out, const char *s, size_t max);
/*
 * The same of len bytes of s, which may hold NULs (shown as \x00), and
 * without the quotes unless quoted: for a value shown as its JSON text, or
 * a name the message quotes together with more.
 */
const char *omt_quote_mem(char *out, const char *s, size_t len, size_t max, int quoted);
/* snprintf into err when err is not NULL and errlen is not 0. */
void omt_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * A parser's error about a file: "NAME:LINE: MSG", or without the parts
 * that are unknown (name NULL, line 0): "NAME: MSG", "line LINE: MSG", "MSG".
 */
void omt_errf_at(char *err, size_t errlen, const char *name, size_t line, const char *msg);

#endif
