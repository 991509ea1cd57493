/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Decoding base64 that comes from someone else: standard alphabet, padded,
 * canonical (libsodium's ORIGINAL variant: no spaces, no stray bits), into
 * room that is bounded before anything is written or allocated.
 */
#ifndef OMERTA_B64_H
#define OMERTA_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters of n bytes in padded base64, without a NUL. */
#define OMT_B64_LEN(n) (((n) + 2) / 3 * 4)

/*
 * Decodes the len characters at s into buf, and the number of bytes in
 * *n. 0; -E2BIG if they would be more than size, which their length and
 * padding tell before anything is written; -EINVAL if s is not base64.
 * *n is 0 on error.
 */
int omt_b64_decode(const char *s, size_t len, void *buf, size_t size, size_t *n);
/* Exactly size bytes into buf: 0, or -EINVAL for anything else. */
int omt_b64_decode_exact(const char *s, size_t len, void *buf, size_t size);
/*
 * Into a fresh allocation *out (never NULL on success, even for 0 bytes;
 * free() it) of at most max bytes, checked before it is allocated. 0,
 * -E2BIG, -EINVAL or -ENOMEM; *out is NULL and *n 0 on error.
 */
int omt_b64_decode_alloc(const char *s, size_t len, size_t max, uint8_t **out, size_t *n);

#endif
