// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A request's omerta-v2 headers as the provider reads them (api/sign.c):
 * the input is METHOD, PATH, the five header values, Content-Length and
 * the body, separated by NUL bytes (a missing one: header absent).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/sign.h"

#define FIELDS 8

static void check_err(const char *err, size_t size)
{
	size_t i;

	/* One line of printable ASCII: it goes into answers and logs. */
	for (i = 0; err[i]; i++)
		if (i == size - 1 || err[i] < 0x20 || err[i] > 0x7e)
			__builtin_trap();
	if (!i)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *f[FIELDS + 1] = {}, err[300];
	struct omt_req_auth a;
	uint8_t pk[32];
	size_t n = 0, i;
	int e;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	f[n++] = copy;
	for (i = 0; i < size && n <= FIELDS; i++)
		if (!copy[i])
			f[n++] = copy + i + 1;
	if (!f[0] || !f[1])
		goto out;
	err[0] = '\0';
	e = omt_req_auth_from_headers(&a, f[2], f[3], f[4], f[5], f[6], f[7], err, sizeof(err));
	if (e) {
		if (e != -EINVAL)
			__builtin_trap();
		check_err(err, sizeof(err));
		goto out;
	}
	err[0] = '\0';
	e = omt_verify_request(&a, f[0], f[1], 1700000000, 60, pk, err, sizeof(err));
	if (e) {
		if (e != -EINVAL && e != -ETIME && e != -EKEYREJECTED)
			__builtin_trap();
		check_err(err, sizeof(err));
		goto out;
	}
	if (f[8])
		omt_check_body(&a, f[8], strlen(f[8]), err, sizeof(err));
out:
	free(copy);
	return 0;
}
