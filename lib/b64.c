// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "b64.h"

_Static_assert(OMT_B64_LEN(31) + 1 ==
	       sodium_base64_ENCODED_LEN(31, sodium_base64_VARIANT_ORIGINAL),
	       "padded base64's length as libsodium has it");

/*
 * What len characters of well-formed padded base64 decode to, from their
 * length and padding alone; 0 when len is not a multiple of 4 (which
 * libsodium then refuses).
 */
static size_t decoded_len(const char *s, size_t len)
{
	if (!len || len % 4)
		return 0;
	return len / 4 * 3 - (s[len - 1] == '=') - (s[len - 2] == '=');
}

/* libsodium refuses trailing garbage and non-zero padding bits. */
int omt_b64_decode(const char *s, size_t len, void *buf, size_t size, size_t *n)
{
	*n = 0;
	if (decoded_len(s, len) > size)
		return -E2BIG;
	if (sodium_base642bin(buf, size, s, len, NULL, n, NULL, sodium_base64_VARIANT_ORIGINAL)) {
		*n = 0;
		return -EINVAL;
	}
	return 0;
}

int omt_b64_decode_exact(const char *s, size_t len, void *buf, size_t size)
{
	size_t n;

	return omt_b64_decode(s, len, buf, size, &n) || n != size ? -EINVAL : 0;
}

int omt_b64_decode_alloc(const char *s, size_t len, size_t max, uint8_t **out, size_t *n)
{
	/* An upper bound of what any len characters decode to; +1: never malloc(0). */
	size_t room = (len + 3) / 4 * 3 + 1;
	int ret;

	*out = NULL;
	*n = 0;
	if (decoded_len(s, len) > max)
		return -E2BIG;
	*out = malloc(room);
	if (!*out)
		return -ENOMEM;
	ret = omt_b64_decode(s, len, *out, room, n);
	if (!ret && *n > max)
		ret = -E2BIG;
	if (ret) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}
