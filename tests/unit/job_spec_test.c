// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The job spec exec hands the agent (proto/job_spec.c): the JSON exec
 * writes, the agent's parse of it, and what that parse refuses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../proto/job_spec.h"

static const char exact[] =
	"{\"eth0\":{\"address\":\"10.213.0.2\",\"prefix\":24,\"gateway\":\"10.213.0.1\"},"
	"\"firewall\":true,\"handshake_timeout\":10,\"image\":\"debian\",\"scratch_mib\":128,"
	"\"output\":false,\"argv\":[\"sh\",\"-c\",\"echo \\\"hi\\\"\"],"
	"\"env\":{\"OMERTA_CONSUMER_IP\":\"10.77.0.1\",\"B\":\"2\"}}";

static void test_format_exact(void **state)
{
	char *argv[] = { "sh", "-c", "echo \"hi\"", NULL };
	char *env[] = { "OMERTA_CONSUMER_IP=10.77.0.1", "B=1", "B=2", NULL };
	struct omt_job_spec s = {
		.eth_ip = { 10, 213, 0, 2 }, .gateway = { 10, 213, 0, 1 }, .eth_prefix = 24,
		.firewall = true, .handshake_timeout = 10, .image = OMT_JOB_IMAGE_DEFAULT,
		.scratch_mib = 128, .argv = argv, .env = env,
	};
	char *json;

	(void)state;
	assert_int_equal(omt_job_spec_format(&s, &json), 0);
	/* DEFAULT is written as debian; a repeated name keeps its last value. */
	assert_string_equal(json, exact);
	free(json);
}

static void test_parse(void **state)
{
	struct omt_job_spec s;
	char err[256];

	(void)state;
	assert_int_equal(omt_job_spec_parse(exact, strlen(exact), &s, err, sizeof(err)), 0);
	assert_memory_equal(s.eth_ip, ((uint8_t[]){ 10, 213, 0, 2 }), 4);
	assert_memory_equal(s.gateway, ((uint8_t[]){ 10, 213, 0, 1 }), 4);
	assert_int_equal(s.eth_prefix, 24);
	assert_true(s.firewall);
	assert_false(s.output);
	assert_int_equal(s.handshake_timeout, 10);
	assert_int_equal(s.image, OMT_JOB_IMAGE_DEBIAN);
	assert_true(omt_image_is_disk(s.image));
	assert_int_equal(s.scratch_mib, 128);
	assert_string_equal(s.argv[2], "echo \"hi\"");
	assert_null(s.argv[3]);
	assert_string_equal(s.env[0], "OMERTA_CONSUMER_IP=10.77.0.1");
	assert_string_equal(s.env[1], "B=2");
	assert_null(s.env[2]);
	omt_job_spec_free(&s);
	assert_null(s.argv);
}

/* What the agent assumes when exec leaves a key out. */
static void test_parse_defaults(void **state)
{
	static const char json[] = "{\"eth0\":{\"address\":\"10.0.0.2\",\"prefix\":30,"
				   "\"gateway\":\"10.0.0.1\"},\"argv\":[\"true\"]}";
	struct omt_job_spec s;
	char err[256];

	(void)state;
	assert_int_equal(omt_job_spec_parse(json, strlen(json), &s, err, sizeof(err)), 0);
	assert_true(s.firewall);
	assert_false(s.output);
	assert_int_equal(s.handshake_timeout, 10);
	assert_int_equal(s.image, OMT_JOB_IMAGE_MINIMAL);
	assert_int_equal(s.scratch_mib, 64);
	assert_null(s.env);
	omt_job_spec_free(&s);
}

static void refused(const char *json, const char *why)
{
	struct omt_job_spec s;
	char err[256] = "";

	assert_int_equal(omt_job_spec_parse(json, strlen(json), &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, why);
	assert_null(s.argv);
}

#define ETH "\"eth0\":{\"address\":\"10.0.0.2\",\"prefix\":30,\"gateway\":\"10.0.0.1\"}"

static void test_parse_refuses(void **state)
{
	char *many;
	size_t off;
	int i;

	(void)state;
	refused("", "not one JSON object");
	refused("[]", "not one JSON object");
	refused("{" ETH ",\"argv\":[\"true\"]} x", "not one JSON object");
	refused("{\"argv\":[\"true\"]}", "missing or bad eth0/argv");
	refused("{\"eth0\":{\"address\":\"10.0.0\",\"prefix\":30,\"gateway\":\"10.0.0.1\"},"
		"\"argv\":[\"true\"]}", "missing or bad eth0/argv");
	refused("{\"eth0\":{\"address\":\"10.0.0.2\",\"prefix\":33,\"gateway\":\"10.0.0.1\"},"
		"\"argv\":[\"true\"]}", "missing or bad eth0/argv");
	refused("{" ETH "}", "missing or bad eth0/argv");
	refused("{" ETH ",\"argv\":\"true\"}", "missing or bad eth0/argv");
	refused("{" ETH ",\"argv\":[]}", "argv has 0 elements");
	refused("{" ETH ",\"argv\":[\"a\",1]}", "argv[1] is not a string");
	refused("{" ETH ",\"argv\":[null]}", "argv[0] is not a string");
	refused("{" ETH ",\"argv\":[\"a\\u0000b\"]}", "argv[0] is not a string");
	refused("{" ETH ",\"argv\":[\"a\"],\"env\":{\"A\":1}}", "env A is not a string");
	refused("{" ETH ",\"argv\":[\"a\"],\"env\":{\"a-b\":\"1\"}}", "env: bad name or value: a-b");
	refused("{" ETH ",\"argv\":[\"a\"],\"env\":[]}",
		"env is not an object of at most 16 strings");
	refused("{" ETH ",\"argv\":[\"a\"],\"firewall\":1}",
		"firewall and output must be true or false");
	refused("{" ETH ",\"argv\":[\"a\"],\"handshake_timeout\":0}",
		"handshake_timeout must be 1..600, scratch_mib 1..65536");
	refused("{" ETH ",\"argv\":[\"a\"],\"scratch_mib\":\"64\"}",
		"handshake_timeout must be 1..600, scratch_mib 1..65536");
	refused("{" ETH ",\"argv\":[\"a\"],\"image\":\"arch\"}", "unknown image");

	many = malloc(16 + 257 * 4 + 256);
	off = sprintf(many, "{" ETH ",\"argv\":[");
	for (i = 0; i < 257; i++)
		off += sprintf(many + off, "%s\"a\"", i ? "," : "");
	sprintf(many + off, "]}");
	refused(many, "argv has 257 elements");
	free(many);
}

static void test_parse_too_big(void **state)
{
	struct omt_job_spec s;
	char err[64];

	(void)state;
	assert_int_equal(omt_job_spec_parse("{}", OMT_JOB_SPEC_MAX_BYTES + 1, &s, err,
					    sizeof(err)), -E2BIG);
}

static void test_env_check(void **state)
{
	char value[OMT_JOB_SPEC_MAX_ENV_VALUE + 8];

	(void)state;
	assert_int_equal(omt_job_env_check("A_1=x"), 0);
	assert_int_equal(omt_job_env_check("A="), 0);
	assert_int_equal(omt_job_env_check("=x"), -EINVAL);
	assert_int_equal(omt_job_env_check("1A=x"), -EINVAL);
	assert_int_equal(omt_job_env_check("a=x"), -EINVAL);
	assert_int_equal(omt_job_env_check("A"), -EINVAL);
	memset(value, 'v', sizeof(value));
	memcpy(value, "A=", 2);
	value[2 + OMT_JOB_SPEC_MAX_ENV_VALUE] = '\0';
	assert_int_equal(omt_job_env_check(value), 0);
	value[2 + OMT_JOB_SPEC_MAX_ENV_VALUE] = 'v';
	value[3 + OMT_JOB_SPEC_MAX_ENV_VALUE] = '\0';
	assert_int_equal(omt_job_env_check(value), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_exact),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_parse_too_big),
		cmocka_unit_test(test_env_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
