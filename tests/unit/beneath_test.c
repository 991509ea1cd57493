// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lib/beneath.c: making directories and files beneath a directory. Each
 * test gets BASE/{dst,outside}, outside holding one file; whatever
 * happens, outside stays as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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

#include "../../lib/beneath.h"
#include "scratch_dir.h"

#define SECRET "not to be touched"

static char base[64];
static struct omt_beneath b;

static void put(const char *name, const char *text)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_EXCL, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void assert_holds(const char *name, const char *text)
{
	char buf[64];
	int fd = open(at(name), O_RDONLY | O_NOFOLLOW);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)strlen(text));
	assert_memory_equal(buf, text, n);
}

static int exists(const char *name)
{
	struct stat st;

	return fstatat(AT_FDCWD, at(name), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int is_dir(const char *name)
{
	struct stat st;

	return fstatat(AT_FDCWD, at(name), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int setup(void **state)
{
	(void)state;
	strcpy(base, "/tmp/omt-beneath-test.XXXXXX");
	if (!mkdtemp(base) || mkdir(at("dst"), 0755) || mkdir(at("outside"), 0755))
		return -1;
	put("outside/target", SECRET);
	return omt_beneath_open(&b, at("dst"));
}

static int teardown(void **state)
{
	(void)state;
	/* outside: its one file, as it was. */
	assert_holds("outside/target", SECRET);
	omt_beneath_close(&b);
	return scratch_remove(base);
}

/* omt_beneath_parent that must succeed; *name checked against want. */
static int parent(const char *path, const char *want)
{
	const char *name;
	size_t bad = 99;
	int fd = omt_beneath_parent(&b, path, &name, &bad);

	if (fd < 0)
		fail_msg("%s: %s (bad %zu)", path, strerror(-fd), bad);
	assert_string_equal(name, want);
	return fd;
}

static void mkdir_ok(const char *path, const char *name)
{
	int way = -1;

	assert_int_equal(omt_beneath_mkdir(parent(path, name), name, 0755, &way), 0);
	assert_int_equal(way, 0);
}

static void test_nested(void **state)
{
	int fd, way;

	(void)state;
	mkdir_ok("a", "a");
	mkdir_ok("a/b", "b");
	mkdir_ok("a/b/c", "c");
	fd = omt_beneath_create(parent("a/b/c/f", "f"), "f", 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "deep", 4), 4);
	close(fd);
	assert_true(is_dir("dst/a/b/c"));
	assert_holds("dst/a/b/c/f", "deep");
	/* A directory that is there already will do. */
	way = -1;
	assert_int_equal(omt_beneath_mkdir(parent("a/b", "b"), "b", 0755, &way), 0);
	assert_int_equal(way, 0);
	/* No parent is made on the way. */
	{
		const char *name;
		size_t bad = 0;

		assert_int_equal(omt_beneath_parent(&b, "a/x/y/f", &name, &bad), -ENOENT);
		assert_int_equal(bad, strlen("a/x"));
		assert_false(exists("dst/a/x"));
	}
}

static void test_symlink_on_the_way(void **state)
{
	static const struct {
		const char *path;
		size_t bad;
	} cases[] = {
		{ "sub/target", 3 },
		{ "sub/new", 3 },
		{ "real/sub/new", 8 },
		{ "real/sub/deeper/new", 8 },
	};
	const char *name;
	size_t i, bad;
	int fd;

	(void)state;
	assert_int_equal(symlink(at("outside"), at("dst/sub")), 0);
	assert_int_equal(mkdir(at("dst/real"), 0755), 0);
	assert_int_equal(symlink(at("outside"), at("dst/real/sub")), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad = 0;
		fd = omt_beneath_parent(&b, cases[i].path, &name, &bad);
		if (fd != -ENOTDIR && fd != -ELOOP)
			fail_msg("%s: %d, not -ENOTDIR or -ELOOP", cases[i].path, fd);
		assert_int_equal(bad, cases[i].bad);
	}
	/* Relative symlinks climbing out are no better. */
	assert_int_equal(symlink("../../outside", at("dst/real/up")), 0);
	bad = 0;
	fd = omt_beneath_parent(&b, "real/up/new", &name, &bad);
	assert_true(fd == -ENOTDIR || fd == -ELOOP);
	assert_int_equal(bad, strlen("real/up"));
	assert_false(exists("outside/new"));
}

static void test_nothing_replaced(void **state)
{
	int fd, way;

	(void)state;
	put("dst/f", "first");
	fd = omt_beneath_create(parent("f", "f"), "f", 0600);
	assert_int_equal(fd, -EEXIST);
	assert_holds("dst/f", "first");
	/* A symlink as the file's own name: not followed, not replaced. */
	assert_int_equal(symlink(at("outside/target"), at("dst/link")), 0);
	assert_int_equal(omt_beneath_create(parent("link", "link"), "link", 0600), -EEXIST);
	/* ... nor as a directory's, nor a file where a directory goes. */
	way = 0;
	assert_int_equal(omt_beneath_mkdir(parent("link", "link"), "link", 0755, &way), -EEXIST);
	assert_true(way == ENOTDIR || way == ELOOP);
	assert_int_equal(symlink(at("outside"), at("dst/dirlink")), 0);
	way = 0;
	assert_int_equal(omt_beneath_mkdir(parent("dirlink", "dirlink"), "dirlink", 0755, &way),
			 -EEXIST);
	assert_true(way == ENOTDIR || way == ELOOP);
	way = 0;
	assert_int_equal(omt_beneath_mkdir(parent("f", "f"), "f", 0755, &way), -EEXIST);
	assert_int_equal(way, ENOTDIR);
	assert_holds("dst/f", "first");
}

static void test_bad_paths(void **state)
{
	static const char *const paths[] = { "", ".", "..", "../x", "a/../../b", "a/..", "a/.",
					     "./a", "/abs", "/", "a//b", "a/", "x/.." };
	const char *name;
	size_t i, bad;

	(void)state;
	assert_int_equal(mkdir(at("dst/a"), 0755), 0);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		bad = 99;
		if (omt_beneath_parent(&b, paths[i], &name, &bad) != -EINVAL)
			fail_msg("'%s' not refused", paths[i]);
		assert_int_equal(bad, 0);
	}
	/* Names that merely start with a dot are names. */
	mkdir_ok("a/..x", "..x");
	mkdir_ok("a/.hidden", ".hidden");
	assert_true(is_dir("dst/a/..x") && is_dir("dst/a/.hidden"));
}

static void test_long_component(void **state)
{
	char path[NAME_MAX + 16];
	const char *name;
	size_t bad = 0;

	(void)state;
	memset(path, 'n', NAME_MAX + 1);
	strcpy(path + NAME_MAX + 1, "/f");
	assert_int_equal(omt_beneath_parent(&b, path, &name, &bad), -ENAMETOOLONG);
	assert_int_equal(bad, NAME_MAX + 1);
}

/* The walk kept is the directory it opened, not a name looked up again. */
static void test_kept_parent(void **state)
{
	int d1, d2, fd;

	(void)state;
	mkdir_ok("a", "a");
	d1 = parent("a/f1", "f1");
	assert_int_equal(rename(at("dst/a"), at("dst/a2")), 0);
	assert_int_equal(symlink(at("outside"), at("dst/a")), 0);
	d2 = parent("a/f2", "f2");
	assert_int_equal(d1, d2);
	fd = omt_beneath_create(d2, "f2", 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_true(exists("dst/a2/f2"));
	assert_false(exists("outside/f2"));
	/* Another directory: walked afresh, and the symlink refused. */
	mkdir_ok("b", "b");
	assert_true(parent("b/f", "f") >= 0);
	{
		const char *name;
		size_t bad = 0;
		int e = omt_beneath_parent(&b, "a/f3", &name, &bad);

		assert_true(e == -ENOTDIR || e == -ELOOP);
		assert_int_equal(bad, 1);
	}
}

static void test_discard(void **state)
{
	int d, fd;

	(void)state;
	d = parent("half", "half");
	fd = omt_beneath_create(d, "half", 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ha", 2), 2);
	omt_beneath_discard(d, "half", fd);
	assert_false(exists("dst/half"));
	/* Closed already. */
	fd = omt_beneath_create(d, "half", 0600);
	assert_true(fd >= 0);
	close(fd);
	omt_beneath_discard(d, "half", -1);
	assert_false(exists("dst/half"));
}

static void test_open_needs_dir(void **state)
{
	struct omt_beneath m;

	(void)state;
	assert_int_equal(omt_beneath_open(&m, at("missing")), -ENOENT);
	omt_beneath_close(&m);
	assert_int_equal(omt_beneath_open(&m, at("outside/target")), -ENOTDIR);
	omt_beneath_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_on_the_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_component, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_needs_dir, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
