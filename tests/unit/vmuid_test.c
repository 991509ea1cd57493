// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * host/vmuid.c: counting the taken uids of a range, in the host's own lock
 * file (OMT_VM_UID_LOCK), on a range no daemon or test uses. The uids of
 * a range that processes run as are test-jail.sh's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../host/vmuid.h"

static const struct omt_uid_range range = { 4000000000U, 4000000009U };

static int take(uid_t want)
{
	char err[200];
	uid_t uid;
	int fd = omt_vm_uid_take(&range, &uid, err, sizeof(err));

	if (fd < 0)
		fail_msg("take: %s", err);
	assert_int_equal(uid, want);
	return fd;
}

static void count_taken(void **state)
{
	int a, b, c;

	(void)state;
	assert_int_equal(omt_vm_uid_count_taken(&range), 0);
	a = take(range.first);
	b = take(range.first + 1);
	c = take(range.first + 2);
	assert_int_equal(omt_vm_uid_count_taken(&range), 3);
	close(b);
	assert_int_equal(omt_vm_uid_count_taken(&range), 2);
	/* Taken again, its lock the newest: the kernel names it after the others. */
	b = take(range.first + 1);
	close(a);
	a = take(range.first);
	assert_int_equal(omt_vm_uid_count_taken(&range), 3);
	close(a);
	close(b);
	close(c);
	assert_int_equal(omt_vm_uid_count_taken(&range), 0);
}

/* A range of one uid, and the last uid there is. */
static void count_edges(void **state)
{
	static const struct omt_uid_range top = { OMT_VM_UIDS_LAST_MAX, OMT_VM_UIDS_LAST_MAX };
	char err[200];
	uid_t uid;
	int fd;

	(void)state;
	assert_int_equal(omt_vm_uid_count_taken(&top), 0);
	fd = omt_vm_uid_take(&top, &uid, err, sizeof(err));
	if (fd < 0)
		fail_msg("take: %s", err);
	assert_int_equal(omt_vm_uid_count_taken(&top), 1);
	close(fd);
	assert_int_equal(omt_vm_uid_count_taken(&top), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(count_taken),
		cmocka_unit_test(count_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
