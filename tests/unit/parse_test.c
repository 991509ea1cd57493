// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../lib/parse.h"

static void test_endpoint_good(void **state)
{
	uint8_t ip[4];
	uint16_t port;

	(void)state;
	assert_int_equal(omt_parse_endpoint("10.0.0.1:51820", ip, &port), 0);
	assert_int_equal(ip[0], 10);
	assert_int_equal(ip[3], 1);
	assert_int_equal(port, 51820);
	assert_int_equal(omt_parse_endpoint("255.255.255.255:65535", ip, &port), 0);
	assert_int_equal(port, 65535);
}

static void test_endpoint_bad(void **state)
{
	static const char *const bad[] = {
		"", ":", "10.0.0.1", "10.0.0.1:", ":80", "10.0.0.1:0", "10.0.0.1:65536",
		"10.0.0.1:-1", "10.0.0.1:+5", "10.0.0.1:80x", "10.0.0:80", "10.0.0.256:80",
		"host:80", "[::1]:80", "10.0.0.1:99999999999999999999",
		"1111111111111111111111111111111111111111111111111:1",
	};
	uint8_t ip[4];
	uint16_t port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (omt_parse_endpoint(bad[i], ip, &port) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	assert_int_equal(omt_parse_ipv4("1.2.3", ip), -EINVAL);
}

static void test_cidr4(void **state)
{
	static const char *const bad[] = {
		"", "/", "10.0.0.1", "10.0.0.1/", "/24", "10.0.0.1/33", "10.0.0.1/024",
		"10.0.0.1/-1", "10.0.0.1/+1", "10.0.0.1/ 8", "10.0.0.1/8 ", "10.0.0/8",
		"10.0.0.256/8", "1111111111111111/8", "10.0.0.1/8/8", "::1/128",
	};
	struct omt_cidr4 c;
	size_t i;

	(void)state;
	assert_int_equal(omt_parse_cidr4("10.77.0.9/24", &c), 0);
	assert_int_equal(c.ip[0], 10);
	assert_int_equal(c.ip[3], 9);		/* the host bits are kept */
	assert_int_equal(c.prefix, 24);
	assert_int_equal(omt_parse_cidr4("0.0.0.0/0", &c), 0);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(omt_parse_cidr4("255.255.255.255/32", &c), 0);
	assert_int_equal(c.prefix, 32);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (omt_parse_cidr4(bad[i], &c) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_cidr4_has(void **state)
{
	struct omt_cidr4 c = { { 10, 1, 2, 3 }, 8 };	/* host bits: ignored */

	(void)state;
	assert_true(omt_cidr4_has(&c, (uint8_t[]){ 10, 0, 0, 0 }));
	assert_true(omt_cidr4_has(&c, (uint8_t[]){ 10, 255, 255, 255 }));
	assert_false(omt_cidr4_has(&c, (uint8_t[]){ 9, 255, 255, 255 }));
	assert_false(omt_cidr4_has(&c, (uint8_t[]){ 11, 0, 0, 0 }));
	c = (struct omt_cidr4){ { 172, 16, 0, 0 }, 12 };
	assert_true(omt_cidr4_has(&c, (uint8_t[]){ 172, 31, 255, 255 }));
	assert_false(omt_cidr4_has(&c, (uint8_t[]){ 172, 32, 0, 0 }));
	c = (struct omt_cidr4){ { 192, 0, 2, 5 }, 32 };
	assert_true(omt_cidr4_has(&c, (uint8_t[]){ 192, 0, 2, 5 }));
	assert_false(omt_cidr4_has(&c, (uint8_t[]){ 192, 0, 2, 4 }));
	c = (struct omt_cidr4){ { 1, 2, 3, 4 }, 0 };
	assert_true(omt_cidr4_has(&c, (uint8_t[]){ 255, 255, 255, 255 }));
	assert_true(omt_cidr4_has(&c, (uint8_t[]){ 0, 0, 0, 0 }));
	assert_int_equal(omt_prefix_mask(0), 0);
	assert_int_equal(omt_prefix_mask(1), 0x80000000);
	assert_int_equal(omt_prefix_mask(24), 0xffffff00);
	assert_int_equal(omt_prefix_mask(32), 0xffffffff);
	assert_int_equal(omt_ipv4_u32((uint8_t[]){ 192, 168, 1, 2 }), 0xc0a80102);
}

static void test_decimal(void **state)
{
	static const char *const bad[] = {
		"", "01", "00", "-1", "+1", " 1", "1 ", "1x", "0x10", "18446744073709551616",
		"99999999999999999999",
	};
	uint64_t v;
	size_t i;

	(void)state;
	assert_int_equal(omt_parse_decimal("0", 5, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(omt_parse_decimal("5", 5, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(omt_parse_decimal("6", 5, &v), -EINVAL);
	assert_int_equal(omt_parse_decimal("9223372036854775807", INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(omt_parse_decimal("9223372036854775808", INT64_MAX, &v), -EINVAL);
	assert_int_equal(omt_parse_decimal("9999999999999999999", UINT64_MAX, &v), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (omt_parse_decimal(bad[i], UINT64_MAX, &v) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_digits(void **state)
{
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "0x10", "1000",
					   "0000000001" };
	uint64_t v;
	size_t i;

	(void)state;
	assert_int_equal(omt_parse_digits("0080", 9, 999, &v), 0);
	assert_int_equal(v, 80);
	assert_int_equal(omt_parse_digits("000", 9, 999, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(omt_parse_digits("999999999", 9, 999999999, &v), 0);
	assert_int_equal(v, 999999999);
	assert_int_equal(omt_parse_digits("999999999", 8, 999999999, &v), -EINVAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (omt_parse_digits(bad[i], 9, 999, &v) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_good),
		cmocka_unit_test(test_endpoint_bad),
		cmocka_unit_test(test_cidr4),
		cmocka_unit_test(test_cidr4_has),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_digits),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
