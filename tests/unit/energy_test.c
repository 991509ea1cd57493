// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The RAPL reader on a prepared powercap tree and a /proc/stat we rewrite
 * between samples, and the power cap arithmetic.
 */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../telemetry/energy.h"

#define EPS 1e-9

static char tmpdir[64];
static uint64_t tick_ns;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static const char *tmp(const char *name)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *name, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	f = fopen(tmp(name), "w");
	assert_non_null(f);
	fputs(buf, f);
	assert_int_equal(fclose(f), 0);
}

static void zone(const char *dir, const char *name, unsigned long long uj,
		 unsigned long long max_uj)
{
	char path[128];

	snprintf(path, sizeof(path), "powercap/%s", dir);
	assert_int_equal(mkdir(tmp(path), 0755), 0);
	snprintf(path, sizeof(path), "powercap/%s/name", dir);
	write_file(path, "%s\n", name);
	snprintf(path, sizeof(path), "powercap/%s/energy_uj", dir);
	write_file(path, "%llu\n", uj);
	snprintf(path, sizeof(path), "powercap/%s/max_energy_range_uj", dir);
	write_file(path, "%llu\n", max_uj);
}

static void set_energy(const char *dir, unsigned long long uj)
{
	char path[128];

	snprintf(path, sizeof(path), "powercap/%s/energy_uj", dir);
	write_file(path, "%llu\n", uj);
}

/* The host's busy and idle CPU time, in ticks, split over a few fields. */
static void set_stat(unsigned long long busy, unsigned long long idle)
{
	write_file("stat", "cpu  %llu 0 %llu %llu 7 0 %llu 0 0 0\n"
		   "cpu0 1 0 1 1 0 0 0 0 0 0\nintr 12345\nctxt 678\n",
		   busy / 2, busy - busy / 2 - busy / 8, idle, busy / 8);
}

/*
 * package-0 and everything that must not count: the control type
 * directory, a subzone, psys and the MMIO view of the same package. Their
 * counters run fast: counting any would show.
 */
static int setup(void **state)
{
	(void)state;
	tick_ns = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);
	strcpy(tmpdir, "/tmp/omt-energy-test.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	assert_int_equal(mkdir(tmp("powercap"), 0755), 0);
	assert_int_equal(mkdir(tmp("powercap/intel-rapl"), 0755), 0);
	write_file("powercap/intel-rapl/enabled", "1\n");
	zone("intel-rapl:0", "package-0", 1000000, 262143328850ULL);
	zone("intel-rapl:0:0", "core", 5000000, 262143328850ULL);
	zone("intel-rapl:1", "psys", 7000000, 262143328850ULL);
	zone("intel-rapl-mmio:0", "package-0", 1000000, 262143328850ULL);
	set_stat(1000, 5000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* One step of everything that must be ignored. */
static void noise(int step)
{
	set_energy("intel-rapl:0:0", 5000000 + step * 100000000ULL);
	set_energy("intel-rapl:1", 7000000 + step * 300000000ULL);
	set_energy("intel-rapl-mmio:0", 1000000 + step * 200000000ULL);
}

static struct omt_energy *new_reader(void)
{
	struct omt_energy *e = omt_energy_new(tmp("powercap"), tmp("stat"));

	assert_non_null(e);
	return e;
}

static void test_attribution(void **state)
{
	struct omt_energy_vm vms[2] = { { .id = "aaaa0001" }, { .id = "bbbb0002" } };
	struct omt_energy *e = new_reader();

	(void)state;
	assert_true(omt_energy_available(e));
	/* Baseline: nothing yet. */
	vms[0].cpu_ns = 50 * tick_ns;
	vms[1].cpu_ns = 70 * tick_ns;
	assert_int_equal(omt_energy_sample(e, vms, 2), 0);
	assert_true(vms[0].joules == 0 && vms[1].joules == 0);
	assert_true(vms[0].watts == 0 && omt_energy_host_watts(e) == 0);

	/* 8 J while the host was busy 80 ticks, 10 of them A's and 30 B's. */
	set_energy("intel-rapl:0", 9000000);
	noise(1);
	set_stat(1080, 5100);
	vms[0].cpu_ns += 10 * tick_ns;
	vms[1].cpu_ns += 30 * tick_ns;
	assert_int_equal(omt_energy_sample(e, vms, 2), 0);
	assert_float_equal(vms[0].joules, 1.0, EPS);
	assert_float_equal(vms[1].joules, 3.0, EPS);
	assert_true(omt_energy_host_watts(e) > 0);
	assert_true(vms[0].watts > 0);
	assert_float_equal(vms[0].watts / omt_energy_host_watts(e), 1.0 / 8, EPS);
	assert_float_equal(vms[1].watts / vms[0].watts, 3.0, EPS);

	/* The owner's work alone: 5 J, none of it the VMs'. */
	set_energy("intel-rapl:0", 14000000);
	noise(2);
	set_stat(1130, 5200);
	assert_int_equal(omt_energy_sample(e, vms, 2), 0);
	assert_float_equal(vms[0].joules, 1.0, EPS);
	assert_float_equal(vms[1].joules, 3.0, EPS);
	assert_true(vms[0].watts == 0 && vms[1].watts == 0);
	assert_true(omt_energy_host_watts(e) > 0);

	/*
	 * Ticks against ns: the VMs' 20 ticks against the host's 10 are the
	 * whole interval's energy, not twice it.
	 */
	set_energy("intel-rapl:0", 16000000);
	set_stat(1140, 5300);
	vms[0].cpu_ns += 5 * tick_ns;
	vms[1].cpu_ns += 15 * tick_ns;
	assert_int_equal(omt_energy_sample(e, vms, 2), 0);
	assert_float_equal(vms[0].joules, 1.5, EPS);
	assert_float_equal(vms[1].joules, 4.5, EPS);
	omt_energy_free(e);
}

static void test_wraparound(void **state)
{
	struct omt_energy_vm vm = { .id = "cccc0003" };
	struct omt_energy *e;

	(void)state;
	write_file("powercap/intel-rapl:0/max_energy_range_uj", "10000000\n");
	set_energy("intel-rapl:0", 9000000);
	zone("intel-rapl:2", "package-1", 500000, 262143328850ULL);
	e = new_reader();
	assert_int_equal(omt_energy_sample(e, &vm, 1), 0);

	/* package-0: 1 J to the wrap and 2 J after it; package-1: 1 J. */
	set_energy("intel-rapl:0", 2000000);
	set_energy("intel-rapl:2", 1500000);
	set_stat(1100, 5000);
	vm.cpu_ns = 100 * tick_ns;
	assert_int_equal(omt_energy_sample(e, &vm, 1), 0);
	assert_float_equal(vm.joules, 4.0, EPS);

	/* And on from there as usual. */
	set_energy("intel-rapl:0", 2500000);
	set_stat(1200, 5000);
	vm.cpu_ns = 200 * tick_ns;
	assert_int_equal(omt_energy_sample(e, &vm, 1), 0);
	assert_float_equal(vm.joules, 4.5, EPS);
	omt_energy_free(e);
}

/* Runs fn with stderr in a file; returns how often needle is in it. */
static int count_in_stderr(void (*fn)(void), const char *needle)
{
	char buf[4096], *p;
	int fd, saved, n = 0;
	ssize_t len;

	fd = open(tmp("stderr"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved = dup(2);
	assert_true(saved >= 0);
	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(len >= 0);
	buf[len] = '\0';
	for (p = buf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void sample_unavailable(void)
{
	struct omt_energy_vm vm = { .id = "dddd0004" };
	struct omt_energy *e = new_reader();
	int i;

	assert_false(omt_energy_available(e));
	for (i = 0; i < 4; i++) {
		set_stat(1000 + 100 * i, 5000);
		vm.cpu_ns = i * 100 * tick_ns;
		assert_int_equal(omt_energy_sample(e, &vm, 1), 0);
		assert_true(vm.joules == 0 && vm.watts == 0);
		assert_true(omt_energy_host_watts(e) == 0);
	}
	omt_energy_free(e);
}

static void test_no_rapl(void **state)
{
	(void)state;
	/* Only what must be ignored. */
	assert_int_equal(nftw(tmp("powercap/intel-rapl:0"), rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(count_in_stderr(sample_unavailable, "no RAPL counters"), 1);
	/* No powercap at all. */
	assert_int_equal(nftw(tmp("powercap"), rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(count_in_stderr(sample_unavailable, "no RAPL counters"), 1);
}

static void test_rapl_unreadable(void **state)
{
	(void)state;
	/* Root reads a 0400 file anyway: a counter that can't be read at all. */
	assert_int_equal(unlink(tmp("powercap/intel-rapl:0/energy_uj")), 0);
	assert_int_equal(mkdir(tmp("powercap/intel-rapl:0/energy_uj"), 0755), 0);
	assert_int_equal(count_in_stderr(sample_unavailable, "unreadable"), 1);
}

static void test_vm_comes_and_goes(void **state)
{
	struct omt_energy_vm a = { .id = "aaaa0001" }, b = { .id = "bbbb0002" }, vms[2];
	struct omt_energy *e = new_reader();

	(void)state;
	vms[0] = a;
	assert_int_equal(omt_energy_sample(e, vms, 1), 0);
	a = vms[0];

	/* B arrives with 5 s behind it: its baseline, A gets the interval. */
	set_energy("intel-rapl:0", 3000000);
	set_stat(1100, 5000);
	a.cpu_ns += 100 * tick_ns;
	b.cpu_ns = 500 * tick_ns;
	vms[0] = a;
	vms[1] = b;
	assert_int_equal(omt_energy_sample(e, vms, 2), 0);
	a = vms[0];
	b = vms[1];
	assert_float_equal(a.joules, 2.0, EPS);
	assert_true(b.joules == 0 && b.watts == 0);

	/* Both, evenly. */
	set_energy("intel-rapl:0", 7000000);
	set_stat(1200, 5000);
	a.cpu_ns += 50 * tick_ns;
	b.cpu_ns += 50 * tick_ns;
	vms[0] = a;
	vms[1] = b;
	assert_int_equal(omt_energy_sample(e, vms, 2), 0);
	a = vms[0];
	b = vms[1];
	assert_float_equal(a.joules, 4.0, EPS);
	assert_float_equal(b.joules, 2.0, EPS);

	/* A misses a sample: B alone, then A's return is only a baseline. */
	set_energy("intel-rapl:0", 8000000);
	set_stat(1300, 5000);
	b.cpu_ns += 100 * tick_ns;
	assert_int_equal(omt_energy_sample(e, &b, 1), 0);
	assert_float_equal(b.joules, 3.0, EPS);

	set_energy("intel-rapl:0", 10000000);
	set_stat(1400, 5000);
	a.cpu_ns += 300 * tick_ns;
	b.cpu_ns += 100 * tick_ns;
	vms[0] = a;
	vms[1] = b;
	assert_int_equal(omt_energy_sample(e, vms, 2), 0);
	assert_float_equal(vms[0].joules, 4.0, EPS);
	assert_true(vms[0].watts == 0);
	assert_float_equal(vms[1].joules, 5.0, EPS);
	omt_energy_free(e);
}

static void test_read_failure_skips_interval(void **state)
{
	struct omt_energy_vm vm = { .id = "eeee0005" };
	struct omt_energy *e = new_reader();

	(void)state;
	assert_int_equal(omt_energy_sample(e, &vm, 1), 0);
	/* The counter goes away for a sample: skipped, then a new baseline. */
	assert_int_equal(unlink(tmp("powercap/intel-rapl:0/energy_uj")), 0);
	set_stat(1100, 5000);
	vm.cpu_ns = 100 * tick_ns;
	assert_true(omt_energy_sample(e, &vm, 1) < 0);
	assert_true(vm.joules == 0);
	set_energy("intel-rapl:0", 4000000);
	set_stat(1200, 5000);
	vm.cpu_ns = 200 * tick_ns;
	assert_int_equal(omt_energy_sample(e, &vm, 1), 0);
	assert_true(vm.joules == 0);
	set_energy("intel-rapl:0", 5000000);
	set_stat(1300, 5000);
	vm.cpu_ns = 300 * tick_ns;
	assert_int_equal(omt_energy_sample(e, &vm, 1), 0);
	assert_float_equal(vm.joules, 1.0, EPS);
	omt_energy_free(e);
}

static long cap1(double vm_cap, double watts, long limit, long quota, unsigned int ncpus)
{
	struct omt_energy_caps caps = { .vm_watts = vm_cap };
	struct omt_energy_quota q = { .watts = watts, .limit_us = limit, .quota_us = quota };

	omt_energy_cap_quota(&caps, &q, 1, ncpus);
	return q.new_quota_us;
}

static void test_cap_quota(void **state)
{
	struct omt_energy_caps caps = { .total_watts = 20 };
	struct omt_energy_quota q[3] = {
		{ .watts = 30, .limit_us = 200000, .quota_us = 80000 },
		{ .watts = 10, .limit_us = 200000, .quota_us = 40000 },
		{ .watts = 0, .limit_us = 200000, .quota_us = 40000 },
	};

	(void)state;
	/* Over the cap: scaled by cap / watts. */
	assert_int_equal(cap1(10, 20, 100000, 100000, 4), 50000);
	/* Down to 1% of a CPU, no further. */
	assert_int_equal(cap1(1, 1000, 100000, 100000, 4), OMT_CPU_QUOTA_MIN_US);
	assert_int_equal(cap1(1, 1000, 100000, OMT_CPU_QUOTA_MIN_US, 4), OMT_CPU_QUOTA_MIN_US);
	/* An unlimited quota is all the host's CPUs. */
	assert_int_equal(cap1(10, 40, -1, -1, 4), 100000);
	/* Under the cap: +10%, or less where more would cross it. */
	assert_int_equal(cap1(10, 5, 100000, 50000, 4), 55000);
	assert_int_equal(cap1(10, 9.5, 100000, 50000, 4), 52631);
	assert_int_equal(cap1(0, 500, 100000, 50000, 4), 55000);
	assert_int_equal(cap1(10, 0, 100000, 50000, 4), 55000);
	/* Never past the job's own limit; back to "max" when it had none. */
	assert_int_equal(cap1(10, 1, 100000, 95000, 4), 100000);
	assert_int_equal(cap1(10, 1, 100000, 100000, 4), 100000);
	assert_int_equal(cap1(10, 1, -1, 380000, 4), -1);
	assert_int_equal(cap1(0, 0, -1, -1, 4), -1);
	assert_int_equal(cap1(0, 0, 50000, -1, 4), 50000);

	/* Total: 40 W against 20, every drawing VM halved; the idle one recovers. */
	omt_energy_cap_quota(&caps, q, 3, 4);
	assert_int_equal(q[0].new_quota_us, 40000);
	assert_int_equal(q[1].new_quota_us, 20000);
	assert_int_equal(q[2].new_quota_us, 44000);
	/* Both caps: the stricter wins. */
	caps.vm_watts = 10;
	omt_energy_cap_quota(&caps, q, 3, 4);
	assert_int_equal(q[0].new_quota_us, 26666);
	assert_int_equal(q[1].new_quota_us, 20000);
	caps.vm_watts = 28;
	caps.total_watts = 60;
	omt_energy_cap_quota(&caps, q, 3, 4);
	assert_int_equal(q[0].new_quota_us, 74666);
	assert_int_equal(q[1].new_quota_us, 44000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attribution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_rapl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rapl_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_comes_and_goes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_failure_skips_interval, setup, teardown),
		cmocka_unit_test(test_cap_quota),
	};

	return cmocka_run_group_tests_name("energy", tests, NULL, NULL);
}
