// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * exec's --result (proto/exec_result.c): the JSON exec writes, the daemon's
 * parse of it, and the tables it names (proto/outcome.c, proto/workload.c,
 * proto/job_id.c, proto/owner_priority.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../proto/exec_result.h"
#include "../../proto/exit.h"
#include "../../proto/owner_priority.h"

static const struct omt_exec_result full = {
	.job = "0a1b2c3d", .outcome = OMT_OUTCOME_ROGUE, .exit_status = 240,
	.workload_exited = false, .rogue_events = 3, .duration_s = 4.25,
	.tunnel_bytes_in = 1234, .tunnel_bytes_out = 567, .output_bytes = 12,
	.has_boot_s = true, .boot_s = 2.5, .stopped_s = 0, .checkpoints = 1, .restores = 1,
	.image = OMT_JOB_IMAGE_DEFAULT, .image_sha256 = "ab12",
	.output_error = "a/b: \"quoted\"", .has_rogue_kill_s = true, .rogue_kill_s = 0.125,
};

static const char full_json[] =
	"{\"job\":\"0a1b2c3d\",\"outcome\":\"rogue\",\"exit_status\":240,"
	"\"workload_exited\":false,\"rogue_events\":3,\"duration_s\":4.25,"
	"\"tunnel_bytes_in\":1234,\"tunnel_bytes_out\":567,\"output_bytes\":12,"
	"\"boot_s\":2.5,\"stopped_s\":0.0,\"checkpoints\":1,\"restores\":1,\"image\":\"debian\","
	"\"image_sha256\":\"ab12\",\"output_error\":\"a\\/b: \\\"quoted\\\"\","
	"\"rogue_kill_s\":0.125}";

static void test_format(void **state)
{
	json_object *o = omt_exec_result_json(&full);

	(void)state;
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), full_json);
	json_object_put(o);
}

static void test_round_trip(void **state)
{
	char path[] = "/tmp/omt-result.XXXXXX", err[256];
	struct omt_exec_result r;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(omt_exec_result_write(path, &full, err, sizeof(err)), 0);
	assert_int_equal(omt_exec_result_read(path, &r, err, sizeof(err)), 0);
	unlink(path);
	assert_string_equal(r.job, full.job);
	assert_int_equal(r.outcome, full.outcome);
	assert_int_equal(r.exit_status, full.exit_status);
	assert_int_equal(r.workload_exited, full.workload_exited);
	assert_int_equal(r.rogue_events, full.rogue_events);
	assert_true(r.duration_s == full.duration_s);
	assert_int_equal(r.tunnel_bytes_in, full.tunnel_bytes_in);
	assert_int_equal(r.tunnel_bytes_out, full.tunnel_bytes_out);
	assert_int_equal(r.output_bytes, full.output_bytes);
	assert_true(r.has_boot_s && r.boot_s == full.boot_s);
	assert_true(r.stopped_s == full.stopped_s);
	assert_int_equal(r.checkpoints, 1);
	assert_int_equal(r.restores, 1);
	assert_int_equal(r.image, OMT_JOB_IMAGE_DEBIAN);
	assert_string_equal(r.image_sha256, full.image_sha256);
	assert_string_equal(r.output_error, full.output_error);
	assert_true(r.has_rogue_kill_s && r.rogue_kill_s == full.rogue_kill_s);
	assert_int_equal(omt_exec_result_read(path, &r, err, sizeof(err)), -ENOENT);
}

/* A set-up that failed early: no id yet, nothing optional. */
static void test_setup_failed(void **state)
{
	struct omt_exec_result r = { .outcome = OMT_OUTCOME_SETUP_FAILED, .exit_status = 1,
				     .image = OMT_JOB_IMAGE_MINIMAL }, back;
	json_object *o = omt_exec_result_json(&r);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char err[256];

	(void)state;
	assert_string_equal(s, "{\"job\":\"\",\"outcome\":\"setup_failed\",\"exit_status\":1,"
			       "\"workload_exited\":false,\"rogue_events\":0,\"duration_s\":0.0,"
			       "\"tunnel_bytes_in\":0,\"tunnel_bytes_out\":0,\"output_bytes\":0,"
			       "\"stopped_s\":0.0,\"checkpoints\":0,\"restores\":0,"
			       "\"image\":\"minimal\"}");
	assert_int_equal(omt_exec_result_parse(s, strlen(s), &back, err, sizeof(err)), 0);
	assert_string_equal(back.job, "");
	assert_false(back.has_boot_s);
	assert_false(back.has_rogue_kill_s);
	assert_string_equal(back.output_error, "");
	json_object_put(o);
}

static void refused(const char *from, const char *to, const char *why)
{
	char json[sizeof(full_json) + 64], err[256] = "";
	const char *at = strstr(full_json, from);
	struct omt_exec_result r;

	assert_non_null(at);
	snprintf(json, sizeof(json), "%.*s%s%s", (int)(at - full_json), full_json, to,
		 at + strlen(from));
	assert_int_equal(omt_exec_result_parse(json, strlen(json), &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, why);
}

static void test_refused(void **state)
{
	struct omt_exec_result r;
	char err[256];

	(void)state;
	refused("\"job\":\"0a1b2c3d\"", "\"job\":\"0A1B2C3D\"", "job: bad value");
	refused("\"outcome\":\"rogue\"", "\"outcome\":\"eaten\"", "outcome: bad value");
	refused("\"outcome\":\"rogue\",", "", "outcome: missing");
	refused("\"exit_status\":240", "\"exit_status\":256", "exit_status: bad value");
	refused("\"exit_status\":240", "\"exit_status\":\"240\"", "exit_status: bad value");
	refused("\"rogue_events\":3", "\"rogue_events\":-3", "rogue_events: bad value");
	refused("\"boot_s\":2.5", "\"boot_s\":true", "boot_s: bad value");
	refused("\"image\":\"debian\"", "\"image\":\"arch\"", "image: bad value");
	refused("\"image_sha256\":\"ab12\"", "\"image_sha256\":1", "image_sha256: bad value");
	refused("}", "} {}", "not one JSON object");
	assert_int_equal(omt_exec_result_parse("{}", OMT_EXEC_RESULT_MAX_BYTES + 1, &r, err,
					       sizeof(err)), -E2BIG);
}

static void test_tables(void **state)
{
	enum omt_outcome o;
	enum omt_job_image i;
	enum omt_job_language l;

	(void)state;
	for (o = 0; o < OMT_OUTCOME__COUNT; o++) {
		enum omt_outcome back;

		assert_int_equal(omt_outcome_parse(omt_outcome_name(o), &back), 0);
		assert_int_equal(back, o);
	}
	assert_null(omt_outcome_name(OMT_OUTCOME__COUNT));
	assert_int_equal(omt_outcome_parse("owner", &o), 0);
	assert_int_equal(omt_outcome_exit_code(o), OMT_EXIT_OWNER);
	assert_int_equal(omt_outcome_exit_code(OMT_OUTCOME_ROGUE), 240);
	assert_int_equal(omt_outcome_exit_code(OMT_OUTCOME_VPN_SETUP_FAILED), 241);
	assert_int_equal(omt_outcome_exit_code(OMT_OUTCOME_VPN_LOST), 242);
	assert_int_equal(omt_outcome_exit_code(OMT_OUTCOME_TIMEOUT), 243);
	assert_int_equal(omt_outcome_exit_code(OMT_OUTCOME_BOOT_FAILED), 244);
	assert_int_equal(omt_outcome_exit_code(OMT_OUTCOME_SETUP_FAILED), 1);
	assert_int_equal(omt_outcome_exit_code(OMT_OUTCOME_DONE), -1);
	assert_int_equal(omt_outcome_exit_code(OMT_OUTCOME_INTERRUPTED), -1);

	assert_null(omt_image_name(OMT_JOB_IMAGE_DEFAULT));
	assert_int_equal(omt_image_resolve(OMT_JOB_IMAGE_DEFAULT), OMT_JOB_IMAGE_DEBIAN);
	assert_int_equal(omt_image_parse("minimal", &i), 0);
	assert_string_equal(omt_image_file(i), "base.cpio.gz");
	assert_false(omt_image_is_disk(i));
	assert_string_equal(omt_image_file(OMT_JOB_IMAGE_DEFAULT), "debian.sqfs");
	assert_true(omt_image_is_disk(OMT_JOB_IMAGE_DEFAULT));
	assert_int_equal(omt_image_parse("", &i), -EINVAL);
	assert_int_equal(omt_language_parse("python", &l), 0);
	assert_string_equal(omt_language_interpreter(l), "/usr/bin/python3");
	assert_string_equal(omt_language_interpreter(OMT_JOB_LANGUAGE_DEFAULT), "/bin/sh");
	assert_false(omt_image_has_language(OMT_JOB_IMAGE_MINIMAL, l));
	assert_false(omt_image_has_language(OMT_JOB_IMAGE_MINIMAL, OMT_JOB_LANGUAGE_BASH));
	assert_true(omt_image_has_language(OMT_JOB_IMAGE_MINIMAL, OMT_JOB_LANGUAGE_DEFAULT));
	assert_true(omt_image_has_language(OMT_JOB_IMAGE_DEFAULT, l));

	assert_int_equal(omt_job_id_validate("0a1b2c3d"), 0);
	assert_int_equal(omt_job_id_validate("0a1b2c3"), -EINVAL);
	assert_int_equal(omt_job_id_validate("0a1b2c3d4"), -EINVAL);
	assert_int_equal(omt_job_id_validate("0a1b2c3g"), -EINVAL);

	assert_string_equal(omt_owner_priority_word(OMT_OWNER_CHECKPOINT), "checkpoint");
	assert_string_equal(omt_owner_priority_word(OMT_OWNER_INHERIT), "inherit");
	assert_string_equal(omt_owner_source_words[OMT_OWNER_N_SOURCES - 1], "cpu");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_setup_failed),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
