// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/text.h"

static void test_quote(void **state)
{
	char out[OMT_QUOTE_SIZE(8)];

	(void)state;
	assert_string_equal(omt_quote(out, "abc", 8), "'abc'");
	assert_string_equal(omt_quote(out, "", 8), "''");
	assert_string_equal(omt_quote(out, "12345678", 8), "'12345678'");
	assert_string_equal(omt_quote(out, "123456789", 8), "'12345678...'");
	assert_string_equal(omt_quote(out, "a\\b\x1b\x7f\xff", 8), "'a\\x5cb\\x1b\\x7f\\xff'");
	/* The largest it writes fits. */
	assert_string_equal(omt_quote(out, "\x01\x01\x01\x01\x01\x01\x01\x01\x01", 8),
			    "'\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01...'");
	assert_int_equal(strlen(out) + 1, sizeof(out));
}

static void test_quote_mem(void **state)
{
	char out[OMT_QUOTE_SIZE(4)];

	(void)state;
	assert_string_equal(omt_quote_mem(out, "a\0b", 3, 4, 1), "'a\\x00b'");
	assert_string_equal(omt_quote_mem(out, "a\0b", 3, 4, 0), "a\\x00b");
	assert_string_equal(omt_quote_mem(out, "abcdef", 4, 4, 1), "'abcd'");
	assert_string_equal(omt_quote_mem(out, "abcdef", 5, 4, 0), "abcd...");
	assert_string_equal(omt_quote_mem(out, "", 0, 4, 0), "");
}

static void test_errf(void **state)
{
	char err[32];

	(void)state;
	omt_errf(err, sizeof(err), "%s %d", "x", 1);
	assert_string_equal(err, "x 1");
	omt_errf(NULL, 0, "%s", "nothing");
	omt_errf_at(err, sizeof(err), "f.ini", 3, "bad");
	assert_string_equal(err, "f.ini:3: bad");
	omt_errf_at(err, sizeof(err), "f.ini", 0, "bad");
	assert_string_equal(err, "f.ini: bad");
	omt_errf_at(err, sizeof(err), NULL, 3, "bad");
	assert_string_equal(err, "line 3: bad");
	omt_errf_at(err, sizeof(err), NULL, 0, "bad");
	assert_string_equal(err, "bad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_quote_mem),
		cmocka_unit_test(test_errf),
	};

	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
