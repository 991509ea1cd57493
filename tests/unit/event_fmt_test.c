// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "../../telemetry/event_fmt.h"

/* 2026-11-22T08:00:00.123456Z */
#define TS 1795334400123456789ULL

static struct omt_event tcp_event(void)
{
	struct omt_event e = {
		.ifindex = 7, .len = 60, .src_port = 40000, .dst_port = 22,
		.ethertype = 0x0800, .proto = IPPROTO_TCP, .reason = OMT_R_NOT_UDP,
		.direction = OMT_DIR_FROM_GUEST, .hook = OMT_HOOK_XDP,
		.src_ip = { 10, 0, 0, 2 }, .dst_ip = { 192, 168, 1, 5 },
	};
	return e;
}

static const char *field(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static void test_json_line(void **state)
{
	struct omt_event e = tcp_event();
	char buf[1024];
	json_object *o;

	(void)state;
	assert_true(omt_event_format(buf, sizeof(buf), &e, TS, "job-1/x", 1) > 0);
	o = json_tokener_parse(buf);
	assert_non_null(o);
	assert_string_equal(field(o, "ts"), "2026-11-22T08:00:00.123456Z");
	assert_string_equal(field(o, "event"), "rogue");
	assert_string_equal(field(o, "vm"), "job-1/x");
	assert_string_equal(field(o, "ifindex"), "7");
	assert_string_equal(field(o, "reason"), "not_udp");
	assert_string_equal(field(o, "l3"), "ipv4");
	assert_string_equal(field(o, "proto"), "tcp");
	assert_string_equal(field(o, "src"), "10.0.0.2:40000");
	assert_string_equal(field(o, "dst"), "192.168.1.5:22");
	assert_string_equal(field(o, "len"), "60");
	assert_string_equal(field(o, "hook"), "xdp");
	json_object_put(o);
	assert_null(strchr(buf, '\n'));
	assert_non_null(strstr(buf, "\"vm\":\"job-1/x\""));	/* no \/ escaping */
}

static void test_json_escapes_vm(void **state)
{
	struct omt_event e = tcp_event();
	char buf[1024];
	json_object *o;

	(void)state;
	omt_event_format(buf, sizeof(buf), &e, TS, "a\"b\nc", 1);
	o = json_tokener_parse(buf);
	assert_non_null(o);
	assert_string_equal(field(o, "vm"), "a\"b\nc");
	json_object_put(o);
}

static void test_icmp_and_arp_have_no_ports(void **state)
{
	struct omt_event e = tcp_event();
	char buf[1024];

	(void)state;
	e.proto = IPPROTO_ICMP;
	omt_event_format(buf, sizeof(buf), &e, TS, "v", 1);
	assert_non_null(strstr(buf, "\"src\":\"10.0.0.2\""));
	assert_non_null(strstr(buf, "\"proto\":\"icmp\""));
	e.ethertype = 0x0806;
	e.reason = OMT_R_ARP_SPOOF;
	omt_event_format(buf, sizeof(buf), &e, TS, "v", 1);
	assert_non_null(strstr(buf, "\"l3\":\"arp\""));
	assert_null(strstr(buf, "\"proto\""));
	e.ethertype = 0x88cc;
	omt_event_format(buf, sizeof(buf), &e, TS, "v", 1);
	assert_non_null(strstr(buf, "\"l3\":\"0x88cc\""));
	assert_null(strstr(buf, "\"src\""));
}

static void test_text_line(void **state)
{
	struct omt_event e = tcp_event();
	char buf[1024];

	(void)state;
	e.suppressed = 3;
	omt_event_format(buf, sizeof(buf), &e, TS, "omt0", 0);
	assert_string_equal(buf, "2026-11-22T08:00:00.123456Z rogue vm=omt0 ifindex=7 "
				 "reason=not_udp l3=ipv4 proto=tcp src=10.0.0.2:40000 "
				 "dst=192.168.1.5:22 len=60 hook=xdp suppressed=3");
}

static void test_truncates_safely(void **state)
{
	struct omt_event e = tcp_event();
	char buf[16];

	(void)state;
	assert_true(omt_event_format(buf, sizeof(buf), &e, TS, "omt0", 0) >= 16);
	assert_int_equal(strlen(buf), 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_line),
		cmocka_unit_test(test_json_escapes_vm),
		cmocka_unit_test(test_icmp_and_arp_have_no_ports),
		cmocka_unit_test(test_text_line),
		cmocka_unit_test(test_truncates_safely),
	};

	return cmocka_run_group_tests_name("event_fmt", tests, NULL, NULL);
}
