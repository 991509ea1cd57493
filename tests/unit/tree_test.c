// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lib/tree.c: removing a tree beneath a directory fd. Each test gets
 * BASE/{t,outside}; whatever t holds or points at, nothing outside it may
 * go.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/beneath.h"
#include "../../lib/tree.h"
#include "scratch_dir.h"

static void put(const char *name, mode_t mode)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_EXCL, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
}

static void dir(const char *name)
{
	assert_int_equal(mkdir(at(name), 0700), 0);
}

static void link_to(const char *target, const char *name)
{
	assert_int_equal(symlink(at(target), at(name)), 0);
}

static int exists(const char *name)
{
	struct stat st;

	return lstat(at(name), &st) == 0;
}

static int setup(void **state)
{
	(void)state;
	strcpy(base, "/tmp/tree_test.XXXXXX");
	if (!mkdtemp(base))
		return -1;
	if (mkdir(at("t"), 0700) || mkdir(at("outside"), 0700))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(base);
}

static void test_nested(void **state)
{
	(void)state;
	dir("t/a");
	dir("t/a/b");
	dir("t/a/b/c");
	dir("t/empty");
	put("t/top", 0600);
	put("t/a/one", 0600);
	put("t/a/b/c/deep", 0600);
	put("t/a/b/readonly", 0400);
	assert_int_equal(omt_tree_remove(at("t")), 0);
	assert_false(exists("t"));
	assert_true(exists("outside"));
}

/* A symlink goes, what it points at stays: a directory, a file, or the tree's own parent. */
static void test_symlinks_not_followed(void **state)
{
	(void)state;
	put("outside/keep", 0600);
	dir("t/d");
	link_to("outside", "t/to_dir");
	link_to("outside/keep", "t/d/to_file");
	link_to("", "t/d/to_base");
	link_to("t/nowhere", "t/dangling");
	assert_int_equal(omt_tree_remove(at("t")), 0);
	assert_false(exists("t"));
	assert_true(exists("outside/keep"));
}

static void test_path_is_a_symlink(void **state)
{
	(void)state;
	put("outside/keep", 0600);
	link_to("outside", "t/link");
	assert_int_equal(omt_tree_remove(at("t/link")), 0);
	assert_false(exists("t/link"));
	assert_true(exists("outside/keep"));
}

static void test_file_empty_and_missing(void **state)
{
	(void)state;
	put("t/file", 0400);
	assert_int_equal(omt_tree_remove(at("t/file")), 0);
	assert_false(exists("t/file"));
	assert_int_equal(omt_tree_remove(at("t")), 0);
	assert_false(exists("t"));
	assert_int_equal(omt_tree_remove(at("t")), -ENOENT);
	assert_int_equal(omt_tree_remove(""), -ENOENT);
}

/* Deeper than a descriptor, or a path, per level would allow: 5000 levels. */
static void test_deep(void **state)
{
	int fd = open(at("t"), O_RDONLY | O_DIRECTORY), next, i;

	(void)state;
	assert_true(fd >= 0);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(mkdirat(fd, "d", 0700), 0);
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		assert_true(next >= 0);
		close(fd);
		fd = next;
	}
	assert_int_equal(openat(fd, "f", O_WRONLY | O_CREAT, 0600) >= 0, 1);
	close(fd);
	assert_int_equal(omt_tree_remove(at("t")), 0);
	assert_false(exists("t"));
}

/* omt_tree_empty keeps the directory itself and its fd. */
static void test_empty_keeps_dir(void **state)
{
	int fd;

	(void)state;
	dir("t/a");
	put("t/a/f", 0600);
	put("t/g", 0600);
	fd = open(at("t"), O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(omt_tree_empty(fd), 0);
	assert_true(exists("t"));
	assert_false(exists("t/a"));
	assert_false(exists("t/g"));
	close(fd);
}

static int set_immutable(const char *path, int on)
{
	int fd = open(path, O_RDONLY), flags, e = -1;

	if (fd < 0)
		return -1;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
		flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
		e = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
	return e;
}

/* What can't be removed stays, with the directories above it; the rest goes, and soon: two stuck siblings are not taken turns at forever. */
static void test_stuck_entry(void **state)
{
	(void)state;
	dir("t/a");
	dir("t/a/b");
	dir("t/a/c");
	dir("t/z");
	put("t/a/b/stuck", 0600);
	put("t/a/c/stuck", 0600);
	put("t/a/b/other", 0600);
	put("t/a/sibling", 0600);
	put("t/z/f", 0600);
	if (set_immutable(at("t/a/b/stuck"), 1) || set_immutable(at("t/a/c/stuck"), 1))
		skip();	/* no immutable files here (or not root) */
	assert_int_equal(omt_tree_remove(at("t")), -ENOTEMPTY);
	assert_true(exists("t/a/b/stuck"));
	assert_true(exists("t/a/c/stuck"));
	assert_false(exists("t/a/b/other"));
	assert_false(exists("t/a/sibling"));
	assert_false(exists("t/z"));
	assert_int_equal(set_immutable(at("t/a/b/stuck"), 0), 0);
	assert_int_equal(set_immutable(at("t/a/c/stuck"), 0), 0);
}

static void test_open_beneath(void **state)
{
	int root, fd;

	(void)state;
	dir("t/a");
	dir("t/a/b");
	link_to("outside", "t/a/out");
	root = open(at("t"), O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);
	fd = omt_beneath_dir(root, "a/b", 3, O_RDONLY, NULL);
	assert_true(fd >= 0);
	close(fd);
	fd = omt_beneath_dir(root, "", 0, O_RDONLY, NULL);
	assert_true(fd >= 0 && fd != root);
	close(fd);
	fd = omt_beneath_dir(root, "a/out", 5, O_RDONLY, NULL);
	assert_true(fd == -ELOOP || fd == -ENOTDIR);
	assert_int_equal(omt_beneath_dir(root, "a//b", 4, O_RDONLY, NULL), -EINVAL);
	assert_int_equal(omt_beneath_dir(root, "a/..", 4, O_RDONLY, NULL), -EINVAL);
	assert_int_equal(omt_beneath_dir(root, "a/missing", 9, O_RDONLY, NULL), -ENOENT);
	close(root);
	assert_true(omt_is_dot(".") && omt_is_dot(".."));
	assert_false(omt_is_dot("...") || omt_is_dot(".a") || omt_is_dot(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_is_a_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_empty_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_keeps_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stuck_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_beneath, setup, teardown),
	};

	return cmocka_run_group_tests_name("tree", tests, NULL, NULL);
}
