// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The storage budget's arithmetic (policy/storage.h): needs, fits, what is dropped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../policy/storage.h"

#define MIB (1ULL << 20)

static void test_mib(void **state)
{
	(void)state;
	assert_int_equal(omt_storage_mib(0), 0);
	assert_int_equal(omt_storage_mib(1), 1);
	assert_int_equal(omt_storage_mib(MIB), 1);
	assert_int_equal(omt_storage_mib(MIB + 1), 2);
	assert_int_equal(omt_storage_mib(64 * MIB), 64);
	assert_int_equal(omt_storage_mib(UINT64_MAX), 1ULL << 44);
}

static const struct omt_storage_need job = { 12, 64, 244 };	/* 320 MiB */

static void test_need(void **state)
{
	(void)state;
	assert_int_equal(omt_storage_need_total(&job), 320);
}

/* Nothing held: fits up to the smaller budget, and not a MiB more. */
static void test_fit_empty(void **state)
{
	struct omt_storage_budget b = { 4096, 320, "KEY" };
	char reason[300] = "";
	bool drop[1];

	(void)state;
	assert_int_equal(omt_storage_fit(&job, &b, NULL, 0, drop, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "");
	b.share_mib = 0;		/* none: only the total */
	b.total_mib = 320;
	assert_int_equal(omt_storage_fit(&job, &b, NULL, 0, drop, reason, sizeof(reason)), 0);
}

/* A need above a whole budget: refused, whatever could be dropped. */
static void test_whole_budget(void **state)
{
	const struct omt_storage_need out = { 0, 64, 64 };
	const struct omt_storage_hold old[] = { { 500, true, true } };
	struct omt_storage_budget b = { 4096, 32, "KEY" };
	char reason[300];
	bool drop[1] = { true };

	(void)state;
	assert_int_equal(omt_storage_fit(&out, &b, old, 1, drop, reason, sizeof(reason)), -ENOSPC);
	assert_string_equal(reason, "the job needs 128 MiB of storage (inputs 0 MiB, output 64 MiB, "
			    "checkpoint 64 MiB), more than the whole 32 MiB budget of consumer 'KEY'");
	b = (struct omt_storage_budget){ 100, 0, "KEY" };
	assert_int_equal(omt_storage_fit(&out, &b, old, 1, drop, reason, sizeof(reason)), -ENOSPC);
	assert_string_equal(reason, "the job needs 128 MiB of storage (inputs 0 MiB, output 64 MiB, "
			    "checkpoint 64 MiB), more than the provider's whole storage budget of "
			    "100 MiB");
}

/* Queued and running jobs' needs are never dropped: the reason says what is left. */
static void test_held(void **state)
{
	const struct omt_storage_hold holds[] = {
		{ 100, false, true },	/* queued, mine */
		{ 56, false, true },	/* running, mine */
		{ 2000, false, false },	/* someone else's */
		{ 30, true, true },	/* finished, mine: not enough */
	};
	struct omt_storage_budget b = { 4096, 400, "KEY" };
	char reason[300];
	bool drop[4];

	(void)state;
	assert_int_equal(omt_storage_fit(&job, &b, holds, 4, drop, reason, sizeof(reason)), -ENOSPC);
	assert_string_equal(reason, "the job needs 320 MiB of storage (inputs 12 MiB, output 64 MiB, "
			    "checkpoint 244 MiB); consumer 'KEY' has 244 MiB of its 400 MiB budget "
			    "left");
	assert_false(drop[0] || drop[1] || drop[2] || drop[3]);
	/* The total, with others' jobs. */
	b = (struct omt_storage_budget){ 2400, 0, "KEY" };
	assert_int_equal(omt_storage_fit(&job, &b, holds, 4, drop, reason, sizeof(reason)), -ENOSPC);
	assert_string_equal(reason, "the job needs 320 MiB of storage (inputs 12 MiB, output 64 MiB, "
			    "checkpoint 244 MiB); the provider has 244 MiB of its 2400 MiB storage "
			    "budget left");
	assert_false(drop[0] || drop[1] || drop[2] || drop[3]);
	/* Room once the finished job's files go. */
	b.total_mib = 2500;
	assert_int_equal(omt_storage_fit(&job, &b, holds, 4, drop, reason, sizeof(reason)), 0);
	assert_false(drop[0] || drop[1] || drop[2]);
	assert_true(drop[3]);
}

/* Finished jobs' files go oldest first, only as many as make room. */
static void test_oldest_first(void **state)
{
	const struct omt_storage_hold holds[] = {
		{ 320, false, true },	/* running */
		{ 0, true, true },	/* finished first, nothing on disk: nothing to drop */
		{ 40, true, true },
		{ 40, true, true },
		{ 40, true, true },	/* finished last */
	};
	struct omt_storage_budget b = { 800, 0, "KEY" };
	char reason[300];
	bool drop[5];

	(void)state;
	/* 440 held, 360 left: 320 fits with nothing dropped. */
	assert_int_equal(omt_storage_fit(&job, &b, holds, 5, drop, reason, sizeof(reason)), 0);
	assert_false(drop[0] || drop[1] || drop[2] || drop[3] || drop[4]);
	/* 40 short: the oldest with files goes. */
	b.total_mib = 720;
	assert_int_equal(omt_storage_fit(&job, &b, holds, 5, drop, reason, sizeof(reason)), 0);
	assert_false(drop[0] || drop[1] || drop[3] || drop[4]);
	assert_true(drop[2]);
	/* 41 short: two go. */
	b.total_mib = 719;
	assert_int_equal(omt_storage_fit(&job, &b, holds, 5, drop, reason, sizeof(reason)), 0);
	assert_false(drop[0] || drop[1] || drop[4]);
	assert_true(drop[2] && drop[3]);
	/* 640 fits only with all three gone; 639 not even then. */
	b.total_mib = 640;
	assert_int_equal(omt_storage_fit(&job, &b, holds, 5, drop, reason, sizeof(reason)), 0);
	assert_true(drop[2] && drop[3] && drop[4]);
	b.total_mib = 639;
	assert_int_equal(omt_storage_fit(&job, &b, holds, 5, drop, reason, sizeof(reason)), -ENOSPC);
	assert_false(drop[0] || drop[1] || drop[2] || drop[3] || drop[4]);
	assert_string_equal(reason, "the job needs 320 MiB of storage (inputs 12 MiB, output 64 MiB, "
			    "checkpoint 244 MiB); the provider has 319 MiB of its 639 MiB storage "
			    "budget left");
}

/*
 * A consumer's share makes room only from its own finished jobs; the total
 * from anyone's, oldest first.
 */
static void test_share(void **state)
{
	const struct omt_storage_hold holds[] = {
		{ 50, true, false },	/* someone else's, the oldest */
		{ 50, true, true },	/* mine */
		{ 50, true, false },
		{ 50, true, true },	/* mine, the newest */
	};
	struct omt_storage_budget b = { 4096, 400, "KEY" };
	char reason[300];
	bool drop[4];

	(void)state;
	/* Mine: 100 + 320 > 400: my oldest goes, no one else's. */
	assert_int_equal(omt_storage_fit(&job, &b, holds, 4, drop, reason, sizeof(reason)), 0);
	assert_false(drop[0] || drop[2] || drop[3]);
	assert_true(drop[1]);
	/* The total short by 10, my share by 20: the oldest anyone's, then mine. */
	b = (struct omt_storage_budget){ 510, 400 - 30 + 10, "KEY" };
	assert_int_equal(omt_storage_fit(&job, &b, holds, 4, drop, reason, sizeof(reason)), 0);
	assert_true(drop[0] && drop[1]);
	assert_false(drop[2] || drop[3]);
	/* A share that no drop of mine can satisfy. */
	b = (struct omt_storage_budget){ 4096, 319, "KEY" };
	assert_int_equal(omt_storage_fit(&job, &b, holds, 4, drop, reason, sizeof(reason)), -ENOSPC);
	assert_string_equal(reason, "the job needs 320 MiB of storage (inputs 12 MiB, output 64 MiB, "
			    "checkpoint 244 MiB), more than the whole 319 MiB budget of consumer 'KEY'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mib),
		cmocka_unit_test(test_need),
		cmocka_unit_test(test_fit_empty),
		cmocka_unit_test(test_whole_budget),
		cmocka_unit_test(test_held),
		cmocka_unit_test(test_oldest_first),
		cmocka_unit_test(test_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
