// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "../../policy/audit.h"

struct tmp {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/audit_test.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/audit.jsonl", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;

	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

/* The file's lines, each checked to be a JSON object whose first member is a fresh ts. */
static json_object **read_lines(const char *path, size_t *n)
{
	json_object **lines = NULL;
	char *buf = NULL, *line, *save;
	size_t cap = 0, len;
	regex_t ts_re;
	FILE *f;

	assert_int_equal(regcomp(&ts_re, "^\\{\"ts\":\"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
				 "[0-9]{2}:[0-9]{2})\\.[0-9]{6}Z\"[,}]", REG_EXTENDED), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	len = getdelim(&buf, &cap, '\0', f);
	assert_true(len > 0);
	fclose(f);
	assert_int_equal(buf[len - 1], '\n');
	*n = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[2];
		struct tm tm = { 0 };
		json_object *obj;
		time_t t;

		if (regexec(&ts_re, line, 2, m, 0))
			fail_msg("line %zu: no ts first: %s", *n + 1, line);
		assert_non_null(strptime(line + m[1].rm_so, "%Y-%m-%dT%H:%M:%S", &tm));
		t = timegm(&tm);
		assert_true(labs((long)(t - time(NULL))) < 60);
		obj = json_tokener_parse(line);
		if (!json_object_is_type(obj, json_type_object))
			fail_msg("line %zu is not a JSON object: %s", *n + 1, line);
		lines = realloc(lines, (*n + 1) * sizeof(*lines));
		assert_non_null(lines);
		lines[(*n)++] = obj;
	}
	regfree(&ts_re);
	free(buf);
	return lines;
}

static void free_lines(json_object **lines, size_t n)
{
	while (n--)
		json_object_put(lines[n]);
	free(lines);
}

static const char *get_str(json_object *obj, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(obj, key, &v));
	return json_object_get_string(v);
}

static void test_write(void **state)
{
	struct tmp *t = *state;
	json_object *obj, **lines;
	struct omt_audit *a;
	struct stat st;
	mode_t old = umask(022);
	char err[256] = "";
	size_t n;

	assert_int_equal(omt_audit_open(t->path, &a, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	umask(old);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	obj = json_object_new_object();
	json_object_object_add(obj, "event", json_object_new_string("admit"));
	json_object_object_add(obj, "cpus", json_object_new_int(2));
	/* Control characters, a slash, UTF-8: still one line. */
	json_object_object_add(obj, "description", json_object_new_string("a\nb\r/\xc3\xa9\"\x1b"));
	json_object_object_add(obj, "nothing", NULL);
	assert_int_equal(omt_audit_write(a, obj), 0);
	/* The caller's object is left as it was. */
	assert_false(json_object_object_get_ex(obj, "ts", NULL));
	assert_int_equal(json_object_object_length(obj), 4);
	json_object_put(obj);
	obj = json_object_new_object();
	assert_int_equal(omt_audit_write(a, obj), 0);
	json_object_put(obj);
	omt_audit_close(a);

	lines = read_lines(t->path, &n);
	assert_int_equal(n, 2);
	assert_string_equal(get_str(lines[0], "event"), "admit");
	assert_string_equal(get_str(lines[0], "cpus"), "2");
	assert_string_equal(get_str(lines[0], "description"), "a\nb\r/\xc3\xa9\"\x1b");
	assert_true(json_object_object_get_ex(lines[0], "nothing", NULL));
	assert_int_equal(json_object_object_length(lines[0]), 5);
	assert_int_equal(json_object_object_length(lines[1]), 1);
	free_lines(lines, n);

	/* Reopened, it appends, and keeps the mode it had. */
	chmod(t->path, 0600);
	assert_int_equal(omt_audit_open(t->path, &a, NULL, 0), 0);
	obj = json_object_new_object();
	json_object_object_add(obj, "event", json_object_new_string("refuse"));
	assert_int_equal(omt_audit_write(a, obj), 0);
	json_object_put(obj);
	omt_audit_close(a);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	lines = read_lines(t->path, &n);
	assert_int_equal(n, 3);
	assert_string_equal(get_str(lines[0], "event"), "admit");
	assert_string_equal(get_str(lines[2], "event"), "refuse");
	free_lines(lines, n);
}

static void test_bad_objects(void **state)
{
	struct tmp *t = *state;
	json_object *obj;
	struct omt_audit *a;
	struct stat st;

	assert_int_equal(omt_audit_open(t->path, &a, NULL, 0), 0);
	obj = json_object_new_array();
	assert_int_equal(omt_audit_write(a, obj), -EINVAL);
	json_object_put(obj);
	assert_int_equal(omt_audit_write(a, NULL), -EINVAL);
	obj = json_object_new_object();
	json_object_object_add(obj, "ts", json_object_new_string("yesterday"));
	assert_int_equal(omt_audit_write(a, obj), -EINVAL);
	assert_int_equal(omt_audit_write(NULL, obj), -EINVAL);
	json_object_put(obj);
	omt_audit_close(a);
	omt_audit_close(NULL);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_open_errors(void **state)
{
	struct tmp *t = *state;
	char path[256], want[512], err[512];
	struct omt_audit *a = (void *)1;

	snprintf(path, sizeof(path), "%s/missing/audit.jsonl", t->dir);
	assert_int_equal(omt_audit_open(path, &a, err, sizeof(err)), -ENOENT);
	assert_null(a);
	snprintf(want, sizeof(want), "%s: directory %s/missing does not exist (it is not created)",
		 path, t->dir);
	assert_string_equal(err, want);

	assert_int_equal(omt_audit_open(t->dir, &a, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", t->dir);
	assert_string_equal(err, want);

	assert_int_equal(omt_audit_open("/dev/null", &a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/dev/null: not a regular file");
	assert_int_equal(omt_audit_open(path, &a, NULL, 0), -ENOENT);
}

/* A write cut short (here by RLIMIT_FSIZE) does not glue the next line to the torn one. */
static void test_torn_line(void **state)
{
	struct tmp *t = *state;
	struct rlimit old, lim;
	char buf[512], *second;
	json_object *obj;
	struct omt_audit *a;
	FILE *f;
	size_t n;

	assert_int_equal(omt_audit_open(t->path, &a, NULL, 0), 0);
	obj = json_object_new_object();
	json_object_object_add(obj, "event", json_object_new_string("admit"));
	assert_int_equal(omt_audit_write(a, obj), 0);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 80;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(omt_audit_write(a, obj), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(omt_audit_write(a, obj), 0);
	json_object_put(obj);
	omt_audit_close(a);

	f = fopen(t->path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* 53 bytes, then 27 of the torn line, a newline and the third line. */
	second = strchr(buf, '\n') + 1;
	assert_int_equal(second - buf, 53);
	assert_int_equal(strchr(second, '\n') - buf, 80);
	assert_int_equal(strncmp(second, "{\"ts\":\"", 7), 0);
	obj = json_tokener_parse(buf + 81);
	assert_non_null(obj);
	assert_string_equal(get_str(obj, "event"), "admit");
	json_object_put(obj);
	assert_int_equal(n, 81 + 53);
}

#define THREADS 4
#define PER_THREAD 50

struct writer {
	struct omt_audit *a;
	int id;
};

static unsigned int written;		/* lines the writers wrote, in all */

static void *write_many(void *arg)
{
	struct writer *w = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		json_object *obj = json_object_new_object();

		json_object_object_add(obj, "thread", json_object_new_int(w->id));
		json_object_object_add(obj, "i", json_object_new_int(i));
		json_object_object_add(obj, "pad", json_object_new_string(
			"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
		if (omt_audit_write(w->a, obj))
			abort();
		json_object_put(obj);
		__atomic_fetch_add(&written, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct tmp *t = *state;
	struct writer w[THREADS];
	pthread_t th[THREADS];
	int next[THREADS] = { 0 };
	json_object **lines;
	struct omt_audit *a;
	size_t n, i;

	assert_int_equal(omt_audit_open(t->path, &a, NULL, 0), 0);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct writer){ a, i };
		assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	omt_audit_close(a);

	lines = read_lines(t->path, &n);
	assert_int_equal(n, THREADS * PER_THREAD);
	/* Whole lines, and each thread's in the order it wrote them. */
	for (i = 0; i < n; i++) {
		int id = atoi(get_str(lines[i], "thread"));

		assert_true(id >= 0 && id < THREADS);
		assert_int_equal(atoi(get_str(lines[i], "i")), next[id]++);
	}
	free_lines(lines, n);
}

#define ROTATIONS 4

/*
 * Moved aside (as logrotate does) and reopened while threads write: every
 * line is in exactly one file, whole, each thread's in order across the
 * files oldest first; a line written after a reopen is in the new file.
 */
static void test_reopen_under_writers(void **state)
{
	struct tmp *t = *state;
	char moved[ROTATIONS][160];
	struct writer w[THREADS];
	pthread_t th[THREADS];
	int next[THREADS] = { 0 };
	json_object **lines, *mark, *v;
	struct omt_audit *a;
	struct stat st;
	size_t n, i, total = 0;
	int r, f, marks;

	written = 0;
	assert_int_equal(omt_audit_open(t->path, &a, NULL, 0), 0);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct writer){ a, i };
		assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
	}
	for (r = 0; r < ROTATIONS; r++) {
		/* Some lines in the file first, while the writers write. */
		while (stat(t->path, &st) == 0 && st.st_size == 0 &&
		       __atomic_load_n(&written, __ATOMIC_RELAXED) < THREADS * PER_THREAD)
			sched_yield();
		snprintf(moved[r], sizeof(moved[r]), "%s.%d", t->path, r + 1);
		assert_int_equal(rename(t->path, moved[r]), 0);
		assert_int_equal(omt_audit_reopen(a, t->path, NULL, 0), 0);
		mark = json_object_new_object();
		json_object_object_add(mark, "reopened", json_object_new_int(r));
		assert_int_equal(omt_audit_write(a, mark), 0);
		json_object_put(mark);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	omt_audit_close(a);

	for (f = 0; f <= ROTATIONS; f++) {
		lines = read_lines(f < ROTATIONS ? moved[f] : t->path, &n);
		for (i = 0, marks = 0; i < n; i++) {
			int id;

			if (json_object_object_get_ex(lines[i], "reopened", &v)) {
				assert_int_equal(json_object_get_int(v), f - 1);
				marks++;
				continue;
			}
			id = atoi(get_str(lines[i], "thread"));
			assert_true(id >= 0 && id < THREADS);
			assert_int_equal(atoi(get_str(lines[i], "i")), next[id]++);
		}
		assert_int_equal(marks, f > 0);
		total += n;
		free_lines(lines, n);
		if (f < ROTATIONS)
			unlink(moved[f]);
	}
	assert_int_equal(total, THREADS * PER_THREAD + ROTATIONS);
}

/* A reopen that fails (its directory gone) says so, naming the path; the old file goes on. */
static void test_reopen_fails(void **state)
{
	struct tmp *t = *state;
	char dir[128], path[160], old_dir[128], old_path[160], want[512], err[512];
	json_object *obj = json_object_new_object(), **lines;
	struct omt_audit *a;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/log", t->dir);
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	snprintf(old_dir, sizeof(old_dir), "%s/log.old", t->dir);
	snprintf(old_path, sizeof(old_path), "%s/audit.jsonl", old_dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(omt_audit_open(path, &a, NULL, 0), 0);
	json_object_object_add(obj, "n", json_object_new_int(1));
	assert_int_equal(omt_audit_write(a, obj), 0);
	assert_int_equal(rename(dir, old_dir), 0);
	assert_int_equal(omt_audit_reopen(a, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: directory %s does not exist (it is not created)", path,
		 dir);
	assert_string_equal(err, want);
	assert_int_equal(omt_audit_write(a, obj), 0);
	omt_audit_close(a);
	json_object_put(obj);

	lines = read_lines(old_path, &n);
	assert_int_equal(n, 2);
	free_lines(lines, n);
	unlink(old_path);
	rmdir(old_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_under_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_fails, setup, teardown),
	};

	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
