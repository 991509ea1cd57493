// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * owner/: AC power detection on made-up power_supply trees, owner activity
 * from a FIFO standing in for an evdev device, and from a /proc/stat and a
 * guest cgroup file rewritten between samples. Each test works in a temp
 * dir of its own; logind's side is in tests/integration/test-owner.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/input.h>

#include <cmocka.h>

#include "../../owner/activity.h"
#include "../../owner/inhibit.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int setup_dir(void **state)
{
	char *dir = strdup("/tmp/omt-owner-test.XXXXXX");

	if (!dir || !mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	nftw(*state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

/* Writes DIR/NAME whole, through a rename: a reader never sees half of it. */
static void put(const char *dir, const char *name, const char *fmt, ...)
{
	char path[512], tmp[520];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void supply(const char *dir, const char *name, const char *type, const char *attr,
		   const char *val)
{
	char sub[512];

	snprintf(sub, sizeof(sub), "%s/%s", dir, name);
	mkdir(sub, 0755);
	put(sub, "type", "%s\n", type);
	put(sub, attr, "%s\n", val);
}

static void test_ac_mains(void **state)
{
	const char *dir = *state;

	supply(dir, "AC", "Mains", "online", "1");
	supply(dir, "BAT0", "Battery", "status", "Discharging");
	assert_int_equal(omt_power_on_ac(dir), 1);
	/* Line supplies decide when there are any: a charging battery or not. */
	supply(dir, "AC", "Mains", "online", "0");
	supply(dir, "BAT0", "Battery", "status", "Charging");
	assert_int_equal(omt_power_on_ac(dir), 0);
	/* A USB-C charger beside an unplugged barrel jack. */
	supply(dir, "ucsi-source-psy-0", "USB", "online", "2");
	assert_int_equal(omt_power_on_ac(dir), 1);
}

static void test_ac_battery_only(void **state)
{
	const char *dir = *state;

	supply(dir, "BAT0", "Battery", "status", "Charging");
	assert_int_equal(omt_power_on_ac(dir), 1);
	supply(dir, "BAT0", "Battery", "status", "Not charging");
	assert_int_equal(omt_power_on_ac(dir), 1);
	supply(dir, "BAT0", "Battery", "status", "Discharging");
	assert_int_equal(omt_power_on_ac(dir), 0);
	supply(dir, "BAT1", "Battery", "status", "Full");
	assert_int_equal(omt_power_on_ac(dir), 1);
}

static void test_ac_no_supplies(void **state)
{
	const char *dir = *state;
	char sub[512];

	assert_int_equal(omt_power_on_ac(dir), -ENOENT);
	snprintf(sub, sizeof(sub), "%s/missing", dir);
	assert_int_equal(omt_power_on_ac(sub), -ENOENT);
	/* A wireless mouse's battery is not the machine's. */
	supply(dir, "hidpp_battery_0", "Battery", "status", "Discharging");
	snprintf(sub, sizeof(sub), "%s/hidpp_battery_0", dir);
	put(sub, "scope", "Device\n");
	assert_int_equal(omt_power_on_ac(dir), -ENOENT);
}

static void test_inhibit_without_bus(void **state)
{
	struct omt_inhibit *in;

	(void)state;
	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/omt-bus", 1);
	in = omt_inhibit_new(*state);
	assert_non_null(in);
	omt_inhibit_update(in, true);
	assert_false(omt_inhibit_held(in));
	omt_inhibit_free(in);
}

/* Whether fd turns readable within ms. */
static bool wait_fd(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Polls until the state is want, for at most ~ms; the last poll's state. */
static bool poll_until(struct omt_owner *o, bool want, int ms)
{
	bool active = !want;
	int i;

	for (i = 0; i < ms / 50 && active != want; i++) {
		wait_fd(omt_owner_fd(o), 50);
		assert_true(omt_owner_poll(o, &active) >= 0);
	}
	return active;
}

static void test_input_fifo(void **state)
{
	const char *dir = *state;
	struct omt_owner_cfg cfg = { .source = "input", .input_dir = dir, .idle_ms = 100 };
	struct input_event ev = { .type = EV_KEY, .code = KEY_A, .value = 1 };
	struct omt_owner *o;
	char path[512], err[256];
	bool active = true;
	int w;

	snprintf(path, sizeof(path), "%s/event0", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	put(dir, "event1", "a regular file is no device\n");
	snprintf(path, sizeof(path), "%s/mouse0", dir);
	assert_int_equal(mkfifo(path, 0600), 0);	/* not event*: not opened */

	o = omt_owner_open(&cfg, err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(omt_owner_source(o), OMT_OWNER_SRC_INPUT);
	assert_string_equal(omt_owner_source_name(omt_owner_source(o)), "input");
	assert_int_equal(omt_owner_poll(o, &active), 0);
	assert_false(active);

	snprintf(path, sizeof(path), "%s/event0", dir);
	w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w >= 0);
	assert_int_equal(sizeof(ev), 24);
	assert_int_equal(write(w, &ev, sizeof(ev)), sizeof(ev));
	assert_true(wait_fd(omt_owner_fd(o), 1000));
	assert_int_equal(omt_owner_poll(o, &active), 1);
	assert_true(active);
	/* Nothing more: idle again after idle_ms. */
	assert_false(poll_until(o, false, 3000));

	/* The writer goes and another comes: still watched. */
	close(w);
	assert_false(poll_until(o, true, 200));
	w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w >= 0);
	assert_int_equal(write(w, &ev, sizeof(ev)), sizeof(ev));
	assert_true(poll_until(o, true, 3000));
	close(w);
	omt_owner_close(o);
}

static void test_input_no_devices(void **state)
{
	struct omt_owner_cfg cfg = { .source = "input", .input_dir = *state };
	char err[256];

	assert_null(omt_owner_open(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, *state));
}

static void test_bad_source(void **state)
{
	struct omt_owner_cfg cfg = { .source = "telepathy" };
	char err[256];

	(void)state;
	assert_null(omt_owner_open(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "'telepathy'"));
}

static void test_logind_without_bus(void **state)
{
	struct omt_owner_cfg cfg = { .source = "logind" };
	char err[256];

	(void)state;
	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/omt-bus", 1);
	assert_null(omt_owner_open(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "bus"));
}

/* cpu line: user nice system idle iowait irq softirq steal guest guest_nice */
static void put_stat(const char *dir, unsigned long long busy, unsigned long long idle)
{
	put(dir, "stat", "cpu  %llu 0 0 %llu 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n",
	    busy, idle);
}

static void test_auto_falls_back_to_cpu(void **state)
{
	const char *dir = *state;
	char stat[512], err[256];
	struct omt_owner_cfg cfg = { .input_dir = dir, .proc_stat = stat };
	struct omt_owner *o;

	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/omt-bus", 1);
	snprintf(stat, sizeof(stat), "%s/stat", dir);
	put_stat(dir, 100, 1000);
	o = omt_owner_open(&cfg, err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(omt_owner_source(o), OMT_OWNER_SRC_CPU);
	omt_owner_close(o);
}

static void test_cpu(void **state)
{
	const char *dir = *state;
	char stat[512], guest[512], err[256];
	struct omt_owner_cfg cfg = {
		.source = "cpu", .proc_stat = stat, .guest_cpu_usage = guest,
		.cpu_threshold = 0.5, .idle_ms = 100,
	};
	unsigned long long busy = 100, idle = 1000, g = 0;
	unsigned long long ns_per_jiffy = 1000000000ULL / sysconf(_SC_CLK_TCK);
	struct omt_owner *o;
	bool active = true;
	int i;

	snprintf(stat, sizeof(stat), "%s/stat", dir);
	snprintf(guest, sizeof(guest), "%s/cpu.stat", dir);
	put_stat(dir, busy, idle);
	put(dir, "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
	o = omt_owner_open(&cfg, err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(omt_owner_poll(o, &active), 0);
	assert_false(active);

	/* 80% busy, none of it the guests': the owner. */
	busy += 80, idle += 20;
	put_stat(dir, busy, idle);
	assert_true(wait_fd(omt_owner_fd(o), 2000));
	assert_int_equal(omt_owner_poll(o, &active), 1);
	assert_true(active);

	/* 80% busy, 70 of it the guests' (v2 cpu.stat, usec): idle after idle_ms. */
	for (i = 0; i < 50 && active; i++) {
		busy += 80, idle += 20, g += 70 * ns_per_jiffy;
		put_stat(dir, busy, idle);
		put(dir, "cpu.stat", "usage_usec %llu\nuser_usec 0\n", g / 1000);
		assert_true(wait_fd(omt_owner_fd(o), 2000));
		assert_true(omt_owner_poll(o, &active) >= 0);
	}
	assert_false(active);

	/* The same from a v1 cpuacct.usage (ns): stays idle. */
	for (i = 0; i < 5; i++) {
		busy += 80, idle += 20, g += 75 * ns_per_jiffy;
		put_stat(dir, busy, idle);
		put(dir, "cpu.stat", "%llu\n", g);
		assert_true(wait_fd(omt_owner_fd(o), 2000));
		assert_int_equal(omt_owner_poll(o, &active), 0);
		assert_false(active);
	}
	omt_owner_close(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ac_mains, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_ac_battery_only, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_ac_no_supplies, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_inhibit_without_bus, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_input_fifo, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_input_no_devices, setup_dir, teardown_dir),
		cmocka_unit_test(test_bad_source),
		cmocka_unit_test(test_logind_without_bus),
		cmocka_unit_test_setup_teardown(test_auto_falls_back_to_cpu, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_cpu, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
