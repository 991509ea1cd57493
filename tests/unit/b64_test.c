// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/b64.h"

static void test_len(void **state)
{
	(void)state;
	assert_int_equal(OMT_B64_LEN(0), 0);
	assert_int_equal(OMT_B64_LEN(1), 4);
	assert_int_equal(OMT_B64_LEN(3), 4);
	assert_int_equal(OMT_B64_LEN(32), 44);
	assert_int_equal(OMT_B64_LEN(64), 88);
}

static void test_decode(void **state)
{
	uint8_t buf[4];
	size_t n = 99;

	(void)state;
	assert_int_equal(omt_b64_decode("QUJD", 4, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "ABC", 3);
	assert_int_equal(omt_b64_decode("", 0, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(omt_b64_decode("QUJDRA==", 8, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(omt_b64_decode("QUI=", 4, buf, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(omt_b64_decode("QQ==", 4, buf, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(omt_b64_decode("QUJD", 4, buf, 2, &n), -E2BIG);
	/* Bounded before it is written. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(omt_b64_decode("QUJDREU=", 8, buf, sizeof(buf), &n), -E2BIG);
	assert_int_equal(n, 0);
	assert_memory_equal(buf, "\0\0\0\0", 4);
	/* Not canonical: no padding, stray bits, spaces, garbage. */
	assert_int_equal(omt_b64_decode("QUI", 3, buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(omt_b64_decode("QUJ=", 4, buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(omt_b64_decode("QU I=", 5, buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(omt_b64_decode("QQ==QQ==", 8, buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(omt_b64_decode("QUI-", 4, buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(n, 0);
}

static void test_decode_exact(void **state)
{
	uint8_t buf[3];

	(void)state;
	assert_int_equal(omt_b64_decode_exact("QUJD", 4, buf, 3), 0);
	assert_memory_equal(buf, "ABC", 3);
	assert_int_equal(omt_b64_decode_exact("QUI=", 4, buf, 3), -EINVAL);
	assert_int_equal(omt_b64_decode_exact("QUJDRA==", 8, buf, 3), -EINVAL);
	assert_int_equal(omt_b64_decode_exact("QUJ!", 4, buf, 3), -EINVAL);
}

static void test_decode_alloc(void **state)
{
	uint8_t *d;
	size_t n;

	(void)state;
	assert_int_equal(omt_b64_decode_alloc("QUJDRA==", 8, 4, &d, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(d, "ABCD", 4);
	free(d);
	assert_int_equal(omt_b64_decode_alloc("", 0, 0, &d, &n), 0);
	assert_non_null(d);
	assert_int_equal(n, 0);
	free(d);
	assert_int_equal(omt_b64_decode_alloc("QUJDRA==", 8, 3, &d, &n), -E2BIG);
	assert_null(d);
	assert_int_equal(omt_b64_decode_alloc("QUJ=", 4, 3, &d, &n), -EINVAL);
	assert_null(d);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_len),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_exact),
		cmocka_unit_test(test_decode_alloc),
	};

	return cmocka_run_group_tests_name("b64", tests, NULL, NULL);
}
