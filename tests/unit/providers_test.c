// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* omerta swarm's providers file (consumer/providers.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../consumer/providers.h"

#define KEY "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8w="

static struct cli_provider p[CLI_PROVIDERS_MAX];

static int parse(const char *text, size_t *n, char *err, size_t errlen)
{
	return cli_providers_parse(text, strlen(text), p, n, err, errlen);
}

static void test_good(void **state)
{
	static const char text[] = "\xef\xbb\xbf# our providers\n"
				   "10.0.0.1:7360\r\n"
				   "\n"
				   "   10.0.0.2:7361 \t" KEY "   # pinned here\n"
				   "#10.0.0.3:7360\n"
				   "10.0.0.4:1\n"
				   "http://10.0.0.5:7360\n"
				   "https://10.0.0.6:7360";
	char err[200];
	size_t n = 99;

	(void)state;
	assert_int_equal(parse(text, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 5);
	assert_string_equal(p[0].hostport, "10.0.0.1:7360");
	assert_int_equal(p[0].has_key, 0);
	assert_int_equal(p[0].line, 2);
	assert_string_equal(p[1].hostport, "10.0.0.2:7361");
	assert_memory_equal(p[1].ip, "\x0a\x00\x00\x02", 4);
	assert_int_equal(p[1].port, 7361);
	assert_int_equal(p[1].has_key, 1);
	assert_int_equal(p[1].key[0], 0xab);
	assert_int_equal(p[1].line, 4);
	assert_string_equal(p[2].hostport, "10.0.0.4:1");
	assert_int_equal(p[2].plain, 0);
	/* The scheme says TLS or plain; the provider is the same either way. */
	assert_string_equal(p[3].hostport, "10.0.0.5:7360");
	assert_int_equal(p[3].plain, 1);
	assert_string_equal(p[4].hostport, "10.0.0.6:7360");
	assert_int_equal(p[4].plain, 0);
	assert_int_equal(parse("# nothing\n\n", &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
}

static void test_bad(void **state)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "example.org:7360\n", "line 1: not [https://|http://]IPv4:PORT: 'example.org:7360'" },
		{ "ftp://10.0.0.1:7360\n", "line 1: not [https://|http://]IPv4:PORT: 'ftp://10.0.0.1:7360'" },
		{ "http:/10.0.0.1:7360\n", "line 1: not [https://|http://]IPv4:PORT: 'http:/10.0.0.1:7360'" },
		{ "10.0.0.1\n", "line 1: not [https://|http://]IPv4:PORT: '10.0.0.1'" },
		{ "10.0.0.1:0\n", "line 1: not [https://|http://]IPv4:PORT: '10.0.0.1:0'" },
		{ "\n10.0.0.1:7360 notakey\n", "line 2: not a base64 32-byte provider key: 'notakey'" },
		{ "10.0.0.1:7360 " KEY " more\n", "line 1: more than an address and a key: 'more'" },
		{ "10.0.0.1:7360\n10.0.0.1:7360 " KEY "\n",
		  "line 2: 10.0.0.1:7360 is listed already (line 1)" },
		{ "10.0.0.1:73\x1b[2J\n", "line 1: not [https://|http://]IPv4:PORT: '10.0.0.1:73\\x1b[2J'" },
	};
	char err[200];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		assert_int_equal(parse(bad[i].text, &n, err, sizeof(err)), -EINVAL);
		assert_int_equal(n, 0);
		assert_string_equal(err, bad[i].err);
	}
}

/* A NUL inside a field, and more providers than allowed. */
static void test_limits(void **state)
{
	static const char nul[] = "10.0.0.1:7360\n10.0.0.2:73\0" "60\n";
	char err[200], *text = malloc(CLI_PROVIDERS_MAX * 24 + 32);
	size_t i, n, len = 0;

	(void)state;
	assert_int_equal(cli_providers_parse(nul, sizeof(nul) - 1, p, &n, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 2: not [https://|http://]IPv4:PORT: '10.0.0.2:73\\x0060'");
	assert_non_null(text);
	for (i = 0; i <= CLI_PROVIDERS_MAX; i++)
		len += sprintf(text + len, "10.1.%zu.%zu:7360\n", i / 250, i % 250 + 1);
	assert_int_equal(cli_providers_parse(text, len, p, &n, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 257: more than 256 providers");
	/* One fewer is fine: the last line cut. */
	len -= strlen("10.1.1.7:7360\n");
	assert_int_equal(cli_providers_parse(text, len, p, &n, err, sizeof(err)), 0);
	assert_int_equal(n, CLI_PROVIDERS_MAX);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests_name("providers", tests, NULL, NULL);
}
