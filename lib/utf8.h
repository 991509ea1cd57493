/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* UTF-8 as RFC 3629 has it: no overlong forms, no surrogates, nothing past U+10FFFF. */
#ifndef OMERTA_UTF8_H
#define OMERTA_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The code point of the sequence at s, of which len bytes may be read, in
 * *cp. Its length (1..4), or -EILSEQ if it is not valid: truncated by len,
 * overlong, a surrogate or past U+10FFFF. len is at least 1.
 */
int omt_utf8_next(const char *s, size_t len, uint32_t *cp);
/* 1 if the len bytes of s are valid UTF-8 (NUL is U+0000), else 0. */
int omt_utf8_valid(const char *s, size_t len);

#endif
