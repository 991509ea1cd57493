// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../lib/parse.h"

static void test_good(void **state)
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

static void test_bad(void **state)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests_name("endpoint", tests, NULL, NULL);
}
