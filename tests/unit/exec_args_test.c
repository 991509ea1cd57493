// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * exec's command line (proto/exec_args.c): what the daemon builds parses
 * back to what it asked for, and bad input is refused with exec's very
 * messages on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../proto/exec_args.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/omt-exec-args.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

static void assert_same(const struct omt_exec_args *a, const struct omt_exec_args *b)
{
	unsigned int i;

	assert_int_equal(a->vm.image, b->vm.image);
	assert_int_equal(a->vm.cpus, b->vm.cpus);
	assert_int_equal(a->vm.memory_mib, b->vm.memory_mib);
	assert_int_equal(a->vm.scratch_mib, b->vm.scratch_mib);
	assert_string_equal(a->vm.accel, b->vm.accel);
	assert_int_equal(a->vm.boot_timeout, b->vm.boot_timeout);
	assert_string_equal(a->job.vpn_config, b->job.vpn_config);
	assert_true(!a->job.script == !b->job.script);
	if (a->job.script)
		assert_string_equal(a->job.script, b->job.script);
	assert_int_equal(a->job.language, b->job.language);
	assert_true(!a->job.command == !b->job.command);
	for (i = 0; a->job.command && (a->job.command[i] || b->job.command[i]); i++) {
		assert_non_null(a->job.command[i]);
		assert_non_null(b->job.command[i]);
		assert_string_equal(a->job.command[i], b->job.command[i]);
	}
	assert_int_equal(a->job.n_env, b->job.n_env);
	for (i = 0; i < a->job.n_env; i++)
		assert_string_equal(a->job.env[i], b->job.env[i]);
	assert_int_equal(a->job.n_inputs, b->job.n_inputs);
	for (i = 0; i < a->job.n_inputs; i++)
		assert_string_equal(a->job.inputs[i], b->job.inputs[i]);
	assert_true(!a->job.output_dir == !b->job.output_dir);
	if (a->job.output_dir)
		assert_string_equal(a->job.output_dir, b->job.output_dir);
	assert_int_equal(a->job.output_max_mib, b->job.output_max_mib);
	assert_true(!a->checkpoint == !b->checkpoint);
	if (a->checkpoint)
		assert_string_equal(a->checkpoint, b->checkpoint);
	assert_string_equal(a->job.description, b->job.description);
	assert_int_equal(a->job.timeout, b->job.timeout);
	assert_int_equal(a->job.vpn_timeout, b->job.vpn_timeout);
	assert_int_equal(a->job.handshake_timeout, b->job.handshake_timeout);
	assert_int_equal(a->job.firewall, b->job.firewall);
	assert_true(!a->job_id == !b->job_id);
	if (a->job_id)
		assert_string_equal(a->job_id, b->job_id);
	assert_true(!a->result == !b->result);
	if (a->result)
		assert_string_equal(a->result, b->result);
	assert_int_equal(a->stdout_fd, b->stdout_fd);
	assert_int_equal(a->stderr_fd, b->stderr_fd);
	assert_int_equal(a->json, b->json);
	assert_int_equal(a->owner_priority, b->owner_priority);
	assert_int_equal(a->owner_idle, b->owner_idle);
	assert_string_equal(a->owner_source, b->owner_source);
}

static int argc_of(char **argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

/* Builds a's argv, parses it as exec would (from the verb on), compares. */
static void round_trip(const struct omt_exec_args *a)
{
	struct omt_exec_args back;
	char **argv;

	assert_int_equal(omt_exec_argv_new(a, &argv), 0);
	assert_string_equal(argv[0], "omerta-loader");
	assert_string_equal(argv[1], "exec");
	assert_int_equal(omt_exec_args_parse(argc_of(argv) - 1, argv + 1, &back), 0);
	assert_same(a, &back);
	free(argv);
}

/* What the daemon asks for. */
static void test_round_trip_daemon(void **state)
{
	char *cmd[] = { "sh", "-c", "echo hi", NULL };
	struct omt_exec_args a;
	int out = dup(1), err = dup(2);

	(void)state;
	omt_exec_args_init(&a);
	a.job_id = "0a1b2c3d";
	a.job.vpn_config = "/run/omerta/daemon/0a1b2c3d.conf";
	a.vm.cpus = 2;
	a.vm.memory_mib = 512;
	a.job.timeout = 60;
	a.job.description = "render frames";
	a.result = "/run/omerta/daemon/0a1b2c3d.result";
	a.job.env[a.job.n_env++] = "OMERTA_CONSUMER_IP=10.77.0.1";
	a.stdout_fd = out;
	a.stderr_fd = err;
	a.owner_priority = OMT_OWNER_CHECKPOINT;
	a.owner_idle = 30;
	a.owner_source = "cpu";
	a.vm.image = OMT_JOB_IMAGE_MINIMAL;
	a.job.inputs[a.job.n_inputs++] = "/run/omerta/daemon/0a1b2c3d.in/data.txt";
	a.job.inputs[a.job.n_inputs++] = "/run/omerta/daemon/0a1b2c3d.in/more.bin";
	a.job.output_dir = dir;
	a.job.output_max_mib = 64;
	a.checkpoint = "/var/lib/omerta/jobs/0a1b2c3d.checkpoint";
	a.job.command = cmd;
	round_trip(&a);

	/* A script instead, and a language. */
	a.job.command = NULL;
	a.job.script = "/run/omerta/daemon/0a1b2c3d.sh";
	a.vm.image = OMT_JOB_IMAGE_DEBIAN;
	a.job.language = OMT_JOB_LANGUAGE_PYTHON;
	round_trip(&a);
	close(out);
	close(err);
}

/* Every option away from its default, and none at all. */
static void test_round_trip_all(void **state)
{
	char *cmd[] = { "true", NULL };
	struct omt_exec_args a;

	(void)state;
	omt_exec_args_init(&a);
	a.job.vpn_config = "vm.conf";
	a.job.command = cmd;
	round_trip(&a);

	a.vm.accel = "tcg";
	a.vm.boot_timeout = 3600;
	a.vm.scratch_mib = 100;
	a.vm.memory_mib = 200;
	a.job.firewall = false;
	a.job.vpn_timeout = 7;
	a.job.handshake_timeout = 1;
	a.job.timeout = 0;
	a.json = true;
	a.owner_idle = 5;
	a.owner_source = "input";
	a.job.language = OMT_JOB_LANGUAGE_SH;	/* sh with a command passes */
	round_trip(&a);
}

/* Parses argv (NULL-terminated, from "exec" on) with stderr caught: the return and the text. */
static int parse_caught(char **argv, char *text, size_t size)
{
	struct omt_exec_args a;
	FILE *f = tmpfile();
	int saved = dup(2), r;
	size_t n;

	assert_non_null(f);
	fflush(stderr);
	dup2(fileno(f), 2);
	r = omt_exec_args_parse(argc_of(argv), argv, &a);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(text, 1, size - 1, f);
	text[n] = '\0';
	fclose(f);
	return r;
}

#define REFUSED(msg, ...)                                                                   \
	do {                                                                                \
		char *argv[] = { "exec", __VA_ARGS__, NULL };                               \
		char text[8192];                                                            \
		assert_int_equal(parse_caught(argv, text, sizeof(text)), -EINVAL);          \
		assert_string_equal(text, msg);                                             \
	} while (0)

static void test_refused(void **state)
{
	(void)state;
	REFUSED("exec: --cpus must be a number from 1 to 64: 'lots'\n", "--vpn-config", "c",
		"--cpus", "lots", "--", "true");
	REFUSED("exec: --memory must be a number from 64 to 65536: '63'\n", "--memory", "63");
	REFUSED("exec: --timeout must be a number from 0 to 604800: '-1'\n", "--timeout", "-1");
	REFUSED("exec: --scratch must be a number from 16 to 65536: '15'\n", "--scratch", "15");
	REFUSED("exec: --boot-timeout must be a number from 1 to 3600: '0'\n", "--boot-timeout",
		"0");
	REFUSED("exec: --vpn-timeout must be a number from 1 to 86400: '1x'\n", "--vpn-timeout",
		"1x");
	REFUSED("exec: --handshake-timeout must be a number from 1 to 600: '601'\n",
		"--handshake-timeout", "601");
	REFUSED("exec: --owner-idle must be a number from 1 to 86400: ''\n", "--owner-idle", "");
	REFUSED("exec: --accel must be 'auto', 'kvm' or 'tcg': 'emulate'\n", "--accel", "emulate");
	REFUSED("exec: --guest-firewall must be 'on' or 'off': 'maybe'\n", "--guest-firewall",
		"maybe");
	REFUSED("exec: --image must be 'minimal' or 'debian': 'big'\n", "--image", "big");
	REFUSED("exec: --language must be 'sh', 'bash' or 'python': 'perl'\n", "--language",
		"perl");
	REFUSED("exec: --owner-priority must be 'idle', 'pause', 'checkpoint' or 'kill': 'x'\n",
		"--owner-priority", "x");
	REFUSED("exec: --owner-source must be 'auto', 'logind', 'input' or 'cpu': 'x'\n",
		"--owner-source", "x");
	REFUSED("exec: --job-id must be 8 lowercase hex digits: '0A1B2C3D'\n", "--job-id",
		"0A1B2C3D");
	REFUSED("exec: --env must be NAME=VALUE with NAME of A-Z, 0-9 and _ (not starting with a "
		"digit): '1A=b'\n", "--env", "1A=b");
	REFUSED("exec: --stdout-fd is not an open file descriptor: '999'\n", "--stdout-fd", "999");
	REFUSED("exec: --stderr-fd must be a number from 1 to 1023: '0'\n", "--stderr-fd", "0");
	REFUSED("exec: --output must be an existing directory: '/nonexistent': No such file or "
		"directory\n", "--output", "/nonexistent");
	REFUSED("exec: --output must be an existing directory: '/etc/passwd': not a directory\n",
		"--output", "/etc/passwd");
	REFUSED("exec: --output-max must be a number from 1 to 256: '257'\n", "--output-max",
		"257");
	REFUSED("exec: --checkpoint must be an absolute path: 'ckpt'\n", "--checkpoint", "ckpt");
	REFUSED("exec: --vpn-config is required\n", "--", "true");
	REFUSED("exec: give either --script FILE or -- COMMAND [ARG...]\n", "--vpn-config", "c");
	REFUSED("exec: give either --script FILE or -- COMMAND [ARG...]\n", "--vpn-config", "c",
		"--script", "s", "--", "true");
	REFUSED("exec: --language is for --script\n", "--vpn-config", "c", "--language", "bash",
		"--", "true");
	REFUSED("exec: --language python needs --image debian (minimal has only sh)\n",
		"--vpn-config", "c", "--image", "minimal", "--language", "python", "--script", "s");
	REFUSED("exec: --scratch 33 is more than half of --memory 64: the VM's writable space "
		"lives in its memory\n", "--vpn-config", "c", "--memory", "64", "--scratch", "33",
		"--", "true");
}

static void test_refused_counts(void **state)
{
	char *argv[2 + 2 * 65 + 3], text[8192];
	int n = 0, i;

	(void)state;
	argv[n++] = "exec";
	for (i = 0; i < 17; i++) {
		argv[n++] = "--env";
		argv[n++] = "A=b";
	}
	argv[n] = NULL;
	assert_int_equal(parse_caught(argv, text, sizeof(text)), -EINVAL);
	assert_string_equal(text, "exec: at most 16 --env\n");
	for (n = 1, i = 0; i < 65; i++) {
		argv[n++] = "--input";
		argv[n++] = "f";
	}
	argv[n] = NULL;
	assert_int_equal(parse_caught(argv, text, sizeof(text)), -EINVAL);
	assert_string_equal(text, "exec: at most 64 --input\n");
}

static void test_unknown_and_help(void **state)
{
	char *bad[] = { "exec", "--bogus", NULL }, *help[] = { "exec", "--help", NULL };
	char text[8192];
	struct omt_exec_args a;
	int saved = dup(1), null = open("/dev/null", O_WRONLY);

	(void)state;
	assert_int_equal(parse_caught(bad, text, sizeof(text)), -EINVAL);
	assert_non_null(strstr(text, "exec: unrecognized option '--bogus'\nUsage: omerta-loader "
				     "exec --vpn-config FILE"));
	assert_non_null(strstr(text, "  1 the job could not be set up   2 bad usage\n"));
	fflush(stdout);
	dup2(null, 1);
	assert_int_equal(omt_exec_args_parse(2, help, &a), 1);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(null);
}

static void test_defaults(void **state)
{
	char *argv[] = { "exec", "--vpn-config", "c", "--language", "sh", "--", "true", NULL };
	struct omt_exec_args a;

	(void)state;
	assert_int_equal(omt_exec_args_parse(7, argv, &a), 0);
	assert_int_equal(a.vm.cpus, 1);
	assert_int_equal(a.vm.memory_mib, 256);
	assert_int_equal(a.vm.scratch_mib, 0);
	assert_int_equal(a.vm.image, OMT_JOB_IMAGE_DEFAULT);
	assert_int_equal(a.vm.boot_timeout, 60);
	assert_string_equal(a.vm.accel, "auto");
	assert_int_equal(a.job.timeout, 600);
	assert_int_equal(a.job.handshake_timeout, 10);
	assert_int_equal(a.job.vpn_timeout, 0);
	assert_true(a.job.firewall);
	assert_string_equal(a.job.description, "");
	assert_int_equal(a.job.language, OMT_JOB_LANGUAGE_SH);
	assert_string_equal(a.job.command[0], "true");
	assert_null(a.job.command[1]);
	assert_int_equal(a.stdout_fd, 1);
	assert_int_equal(a.stderr_fd, 2);
	assert_int_equal(a.owner_priority, OMT_OWNER_IDLE);
	assert_int_equal(a.owner_idle, 60);
	assert_string_equal(a.owner_source, "auto");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_daemon, setup, teardown),
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_refused_counts),
		cmocka_unit_test(test_unknown_and_help),
		cmocka_unit_test(test_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
