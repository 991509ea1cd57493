// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/utf8.h"

static void assert_next(const char *s, int len, uint32_t cp)
{
	uint32_t got = 0xdeadbeef;

	assert_int_equal(omt_utf8_next(s, strlen(s), &got), len);
	assert_int_equal(got, cp);
}

static void test_next(void **state)
{
	uint32_t cp;

	(void)state;
	assert_next("a", 1, 'a');
	assert_next("\x7f", 1, 0x7f);
	assert_next("\xc2\x80", 2, 0x80);
	assert_next("\xc3\xa9x", 2, 0xe9);
	assert_next("\xdf\xbf", 2, 0x7ff);
	assert_next("\xe0\xa0\x80", 3, 0x800);
	assert_next("\xe2\x80\xae", 3, 0x202e);
	assert_next("\xed\x9f\xbf", 3, 0xd7ff);
	assert_next("\xee\x80\x80", 3, 0xe000);
	assert_next("\xef\xbf\xbf", 3, 0xffff);
	assert_next("\xf0\x90\x80\x80", 4, 0x10000);
	assert_next("\xf4\x8f\xbf\xbf", 4, 0x10ffff);
	assert_int_equal(omt_utf8_next("\0", 1, &cp), 1);
	assert_int_equal(cp, 0);
}

static void test_next_bad(void **state)
{
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80",
		"\xfe", "\xff", "\xc3", "\xc3x", "\xe2\x80", "\xe2\x80x", "\xf0\x9f\x98",
	};
	uint32_t cp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (omt_utf8_next(bad[i], strlen(bad[i]), &cp) != -EILSEQ)
			fail_msg("accepted bad[%zu]", i);
	/* len bounds it, not a NUL. */
	assert_int_equal(omt_utf8_next("\xc3\xa9", 1, &cp), -EILSEQ);
	assert_int_equal(omt_utf8_next("\xf0\x9f\x98\x80", 3, &cp), -EILSEQ);
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(omt_utf8_valid("", 0));
	assert_true(omt_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
	assert_true(omt_utf8_valid("a\0b", 3));
	assert_false(omt_utf8_valid("caf\xc3", 4));
	assert_false(omt_utf8_valid("\xc3\xa9\xff", 3));
	assert_false(omt_utf8_valid("\xed\xa0\x80", 3));
	assert_true(omt_utf8_valid("\xc3\xa9\xff", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_next_bad),
		cmocka_unit_test(test_valid),
	};

	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
