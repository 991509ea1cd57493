// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The endpoint rules (proto/endpoint.h): each range at its edges, the
 * host's addresses, a network's `endpoints`.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/parse.h"
#include "../../proto/endpoint.h"

static const struct omt_host_addrs no_host;

static void ip_of(const char *s, uint8_t ip[4])
{
	if (omt_parse_ipv4(s, ip))
		fail_msg("bad test address %s", s);
}

#define NEVER(ip, is, cidr) { ip, "endpoint " ip " is " is " (" cidr ")", 0 }
#define PRIVATE(ip, is, cidr) { ip, "endpoint " ip " is " is " (" cidr ")", 1 }
#define OPEN(ip) { ip, NULL, 0 }

static const struct {
	const char *ip;
	const char *reason;	/* NULL: any network may use it */
	int private;		/* reason is the one without `endpoints` that list it */
} cases[] = {
	NEVER("0.0.0.0", "a \"this network\" address", "0.0.0.0/8"),
	NEVER("0.255.255.255", "a \"this network\" address", "0.0.0.0/8"),
	OPEN("1.0.0.0"),
	OPEN("9.255.255.255"),
	PRIVATE("10.0.0.0", "in a private range", "10.0.0.0/8"),
	PRIVATE("10.201.1.2", "in a private range", "10.0.0.0/8"),
	PRIVATE("10.212.255.255", "in a private range", "10.0.0.0/8"),
	NEVER("10.213.0.0", "in the VMs' network", "10.213.0.0/16"),
	NEVER("10.213.0.2", "in the VMs' network", "10.213.0.0/16"),
	NEVER("10.213.255.255", "in the VMs' network", "10.213.0.0/16"),
	PRIVATE("10.214.0.0", "in a private range", "10.0.0.0/8"),
	PRIVATE("10.255.255.255", "in a private range", "10.0.0.0/8"),
	OPEN("11.0.0.0"),
	OPEN("100.63.255.255"),
	PRIVATE("100.64.0.0", "in the shared address space", "100.64.0.0/10"),
	PRIVATE("100.127.255.255", "in the shared address space", "100.64.0.0/10"),
	OPEN("100.128.0.0"),
	OPEN("126.255.255.255"),
	NEVER("127.0.0.0", "a loopback address", "127.0.0.0/8"),
	NEVER("127.0.0.1", "a loopback address", "127.0.0.0/8"),
	NEVER("127.255.255.255", "a loopback address", "127.0.0.0/8"),
	OPEN("128.0.0.0"),
	OPEN("169.253.255.255"),
	NEVER("169.254.0.0", "a link-local address", "169.254.0.0/16"),
	NEVER("169.254.169.254", "a link-local address", "169.254.0.0/16"),
	NEVER("169.254.255.255", "a link-local address", "169.254.0.0/16"),
	OPEN("169.255.0.0"),
	OPEN("172.15.255.255"),
	PRIVATE("172.16.0.0", "in a private range", "172.16.0.0/12"),
	PRIVATE("172.31.255.255", "in a private range", "172.16.0.0/12"),
	OPEN("172.32.0.0"),
	OPEN("192.0.2.5"),
	OPEN("192.167.255.255"),
	PRIVATE("192.168.0.0", "in a private range", "192.168.0.0/16"),
	PRIVATE("192.168.1.10", "in a private range", "192.168.0.0/16"),
	PRIVATE("192.168.255.255", "in a private range", "192.168.0.0/16"),
	OPEN("192.169.0.0"),
	OPEN("198.17.255.255"),
	PRIVATE("198.18.0.0", "in the benchmarking range", "198.18.0.0/15"),
	PRIVATE("198.19.255.255", "in the benchmarking range", "198.18.0.0/15"),
	OPEN("198.20.0.0"),
	OPEN("203.0.113.5"),
	OPEN("223.255.255.255"),
	NEVER("224.0.0.0", "a multicast address", "224.0.0.0/4"),
	NEVER("224.0.0.1", "a multicast address", "224.0.0.0/4"),
	NEVER("239.255.255.255", "a multicast address", "224.0.0.0/4"),
	NEVER("240.0.0.0", "a reserved address", "240.0.0.0/4"),
	NEVER("255.255.255.254", "a reserved address", "240.0.0.0/4"),
	NEVER("255.255.255.255", "the broadcast address", "255.255.255.255/32"),
};

/* Each address on its own: the range, the rules exec keeps, the policy's without `endpoints`. */
static void test_ranges(void **state)
{
	char reason[256], want[256];
	uint8_t ip[4];
	size_t i;
	int e;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct omt_endpoint_range *r;

		ip_of(cases[i].ip, ip);
		r = omt_endpoint_range_of(ip);
		if (!cases[i].reason != !r || (r && r->private != cases[i].private))
			fail_msg("%s: range %s", cases[i].ip, r ? r->is : "none");

		strcpy(reason, "junk");
		e = omt_endpoint_check_host(ip, &no_host, reason, sizeof(reason));
		if (cases[i].reason && !cases[i].private) {
			if (e != -EPERM || strcmp(reason, cases[i].reason))
				fail_msg("%s: %d \"%s\", expected \"%s\"", cases[i].ip, e, reason,
					 cases[i].reason);
		} else if (e || reason[0]) {
			fail_msg("%s: refused by exec's rules: \"%s\"", cases[i].ip, reason);
		}

		strcpy(reason, "junk");
		e = omt_endpoint_check(ip, &no_host, "lan", NULL, 0, reason, sizeof(reason));
		snprintf(want, sizeof(want), "%s%s", cases[i].reason ? cases[i].reason : "",
			 cases[i].private ? ": network \"lan\" does not allow it " "(endpoints = ...)"
					  : "");
		if (cases[i].reason ? e != -EPERM : e != 0)
			fail_msg("%s: %d \"%s\"", cases[i].ip, e, reason);
		if (strcmp(reason, want))
			fail_msg("%s: \"%s\", expected \"%s\"", cases[i].ip, reason, want);
	}
}

/* `endpoints` opens the private and shared ranges it holds, and nothing refused always. */
static void test_allowed(void **state)
{
	const struct omt_cidr4 lan[] = { { { 10, 201, 0, 0 }, 16 }, { { 192, 168, 5, 0 }, 24 } };
	const struct omt_cidr4 all[] = { { { 0, 0, 0, 0 }, 0 } };
	char reason[256];
	uint8_t ip[4];
	size_t i;

	(void)state;
	ip_of("10.201.1.2", ip);
	assert_int_equal(omt_endpoint_check(ip, &no_host, "lan", lan, 2, reason, sizeof(reason)),
			 0);
	assert_string_equal(reason, "");
	ip_of("192.168.5.255", ip);
	assert_int_equal(omt_endpoint_check(ip, &no_host, "lan", lan, 2, reason, sizeof(reason)),
			 0);
	ip_of("192.168.6.1", ip);
	assert_int_equal(omt_endpoint_check(ip, &no_host, "lan", lan, 2, reason, sizeof(reason)),
			 -EPERM);
	assert_string_equal(reason, "endpoint 192.168.6.1 is in a private range (192.168.0.0/16): "
			    "network \"lan\" does not allow it (endpoints = ...)");
	ip_of("10.1.2.3", ip);
	assert_int_equal(omt_endpoint_check(ip, &no_host, "lan", lan, 2, reason, sizeof(reason)),
			 -EPERM);
	assert_string_equal(reason, "endpoint 10.1.2.3 is in a private range (10.0.0.0/8): "
			    "network \"lan\" does not allow it (endpoints = ...)");

	/* Everything listed: every private and shared range opens, the rest stays shut. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int e;

		ip_of(cases[i].ip, ip);
		e = omt_endpoint_check(ip, &no_host, "any", all, 1, reason, sizeof(reason));
		if (cases[i].reason && !cases[i].private ? e != -EPERM ||
							   strcmp(reason, cases[i].reason) : e)
			fail_msg("%s with 0.0.0.0/0: %d \"%s\"", cases[i].ip, e, reason);
	}
}

/* The host's own addresses and its broadcast addresses: never, whatever is listed. */
static void test_host(void **state)
{
	uint8_t local[][4] = { { 127, 0, 0, 1 }, { 192, 0, 2, 5 }, { 10, 201, 1, 1 } };
	uint8_t brd[][4] = { { 192, 168, 1, 255 } };
	const struct omt_host_addrs host = { local, 3, brd, 1 };
	const struct omt_cidr4 all[] = { { { 0, 0, 0, 0 }, 0 } };
	char reason[256];
	uint8_t ip[4];

	(void)state;
	ip_of("192.0.2.5", ip);
	assert_int_equal(omt_endpoint_check_host(ip, &host, reason, sizeof(reason)), -EPERM);
	assert_string_equal(reason, "endpoint 192.0.2.5 is one of this host's addresses");
	assert_int_equal(omt_endpoint_check(ip, &host, "lan", all, 1, reason, sizeof(reason)),
			 -EPERM);
	assert_string_equal(reason, "endpoint 192.0.2.5 is one of this host's addresses");
	ip_of("10.201.1.1", ip);
	assert_int_equal(omt_endpoint_check(ip, &host, "lan", all, 1, reason, sizeof(reason)),
			 -EPERM);
	assert_string_equal(reason, "endpoint 10.201.1.1 is one of this host's addresses");
	ip_of("192.168.1.255", ip);
	assert_int_equal(omt_endpoint_check(ip, &host, "lan", all, 1, reason, sizeof(reason)),
			 -EPERM);
	assert_string_equal(reason, "endpoint 192.168.1.255 is the broadcast address of one of "
			    "this host's networks");
	/* The range says more than "the host's". */
	ip_of("127.0.0.1", ip);
	assert_int_equal(omt_endpoint_check_host(ip, &host, reason, sizeof(reason)), -EPERM);
	assert_string_equal(reason, "endpoint 127.0.0.1 is a loopback address (127.0.0.0/8)");
	/* Its neighbours are not the host. */
	ip_of("192.0.2.6", ip);
	assert_int_equal(omt_endpoint_check_host(ip, &host, reason, sizeof(reason)), 0);
	ip_of("10.201.1.2", ip);
	assert_int_equal(omt_endpoint_check(ip, &host, "lan", all, 1, reason, sizeof(reason)), 0);
}

/* No reason wanted, or little room for it. */
static void test_reason_buffer(void **state)
{
	char reason[16];
	uint8_t ip[4];

	(void)state;
	ip_of("10.1.2.3", ip);
	assert_int_equal(omt_endpoint_check(ip, &no_host, "lan", NULL, 0, NULL, 0), -EPERM);
	assert_int_equal(omt_endpoint_check_host((uint8_t[]){ 127, 0, 0, 1 }, &no_host, NULL, 0),
			 -EPERM);
	assert_int_equal(omt_endpoint_check(ip, &no_host, "lan", NULL, 0, reason, sizeof(reason)),
			 -EPERM);
	assert_string_equal(reason, "endpoint 10.1.2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_reason_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
