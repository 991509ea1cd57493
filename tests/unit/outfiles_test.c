// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The output files, both ends: the messages (proto/guest_msg.c), the agent's
 * walk (guest/outsend.c, built in here: guest/ objects go into the agent
 * only) and the host's writer (exec/outfiles.c), with
 * honest trees and hostile streams. Each test gets BASE/{src,dst,outside};
 * whatever happens, nothing may appear outside dst.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../api/outpath.h"
#include "../../exec/outfiles.h"
#include "../../guest/outsend.c"
#include "../../proto/guest_msg.h"
#include "scratch_dir.h"

#define SECRET "not for the guest"

static char base[64];
static struct omt_msg msg;

static void put(const char *name, const void *data, size_t len, mode_t mode)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_EXCL, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static size_t get(const char *name, void *buf, size_t size)
{
	int fd = open(at(name), O_RDONLY | O_NOFOLLOW);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size);
	assert_true(n >= 0);
	close(fd);
	return n;
}

static int setup(void **state)
{
	(void)state;
	strcpy(base, "/tmp/omt-outfiles-test.XXXXXX");
	if (!mkdtemp(base) || mkdir(at("src"), 0755) || mkdir(at("dst"), 0755) ||
	    mkdir(at("outside"), 0755))
		return -1;
	put("outside/target", SECRET, strlen(SECRET), 0644);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(base);
}

/* BASE holds src, dst and outside only; outside its one file, unchanged. */
static void assert_outside_untouched(void)
{
	char buf[64];
	struct dirent *de;
	DIR *d;
	int n;

	d = opendir(base);
	assert_non_null(d);
	for (n = 0; (de = readdir(d));) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		assert_true(strcmp(de->d_name, "src") == 0 || strcmp(de->d_name, "dst") == 0 ||
			    strcmp(de->d_name, "outside") == 0);
	}
	closedir(d);
	assert_int_equal(n, 3);
	d = opendir(at("outside"));
	assert_non_null(d);
	for (n = 0; (de = readdir(d));) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		assert_string_equal(de->d_name, "target");
	}
	closedir(d);
	assert_int_equal(n, 1);
	assert_int_equal(get("outside/target", buf, sizeof(buf)), strlen(SECRET));
	assert_memory_equal(buf, SECRET, strlen(SECRET));
}

static int exists(const char *name)
{
	struct stat st;

	return fstatat(AT_FDCWD, at(name), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* --- the messages --- */

static int parse(const char *line)
{
	return omt_msg_parse(line, strlen(line), &msg);
}

static void test_parse_output_messages(void **state)
{
	char line[OMT_MSG_MAX_LINE + 2];
	struct omt_msg again;
	static const char *const good[] = {
		"{\"type\":\"dir\",\"path\":\"a/b\"}",
		"{\"type\":\"file\",\"path\":\"a/b/c.txt\",\"mode\":493,\"size\":5}",
		"{\"type\":\"fdata\",\"data\":\"aGVsbG8=\"}",
		"{\"type\":\"fend\"}",
		"{\"type\":\"skip\",\"path\":\"l\",\"kind\":\"symlink\"}",
		"{\"type\":\"outdone\",\"files\":2,\"bytes\":5}",
		"{\"type\":\"outerr\",\"message\":\"output larger than 10 bytes\"}",
	};
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse(good[i]), 0);
		n = omt_msg_format(line, sizeof(line), &msg);
		assert_true(n > 0);
		assert_int_equal(omt_msg_parse(line, n - 1, &again), 0);
		assert_int_equal(again.type, msg.type);
		assert_int_equal(n - 1, strlen(good[i]));
		assert_memory_equal(line, good[i], n - 1);
	}
	assert_int_equal(parse(good[1]), 0);
	assert_int_equal(msg.type, OMT_MSG_FILE);
	assert_string_equal(msg.path, "a/b/c.txt");
	assert_int_equal(msg.mode, 0755);
	assert_int_equal(msg.size, 5);
	assert_int_equal(parse(good[2]), 0);
	assert_int_equal(msg.len, 5);
	assert_memory_equal(msg.data, "hello", 5);
	assert_int_equal(parse(good[4]), 0);
	assert_int_equal(msg.kind, OMT_SKIP_SYMLINK);
	assert_int_equal(parse(good[5]), 0);
	assert_int_equal(msg.files, 2);
	assert_int_equal(msg.bytes, 5);
	/* The first four are as they were. */
	assert_int_equal(parse("{\"type\":\"out\",\"fd\":1,\"data\":\"aGVsbG8=\"}"), 0);
	assert_int_equal(parse("{\"type\":\"exit\",\"status\":3}"), 0);
	assert_int_equal(msg.type, OMT_MSG_EXIT);
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"{\"type\":\"file\",\"path\":\"../x\",\"mode\":420,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"/abs\",\"mode\":420,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"a/../../b\",\"mode\":420,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"a//b\",\"mode\":420,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"a/\",\"mode\":420,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"./a\",\"mode\":420,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"..\",\"mode\":420,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"\",\"mode\":420,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"a\\u0000b\",\"mode\":420,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"a\",\"mode\":4095,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"a\",\"mode\":-1,\"size\":1}",
		"{\"type\":\"file\",\"path\":\"a\",\"mode\":420,\"size\":-1}",
		"{\"type\":\"file\",\"path\":\"a\",\"mode\":420,\"size\":\"1\"}",
		"{\"type\":\"file\",\"path\":\"a\",\"mode\":420,\"size\":1.5}",
		"{\"type\":\"file\",\"path\":\"a\",\"mode\":420,\"size\":99999999999999999999}",
		"{\"type\":\"file\",\"path\":\"a\",\"mode\":420}",
		"{\"type\":\"file\",\"path\":7,\"mode\":420,\"size\":1}",
		"{\"type\":\"dir\"}",
		"{\"type\":\"dir\",\"path\":\"a/./b\"}",
		"{\"type\":\"skip\",\"path\":\"a\",\"kind\":\"door\"}",
		"{\"type\":\"skip\",\"path\":\"../a\",\"kind\":\"fifo\"}",
		"{\"type\":\"fdata\",\"data\":\"not base64!\"}",
		"{\"type\":\"fdata\"}",
		"{\"type\":\"outdone\",\"files\":-1,\"bytes\":0}",
		"{\"type\":\"outdone\",\"files\":1}",
		"{\"type\":\"outerr\",\"message\":\"bell\\u0007\"}",
		"{\"type\":\"outerr\"}",
		"{\"type\":\"files\"}",
	};
	static char line[OMT_MSG_MAX_LINE + 2];
	static uint8_t raw[OMT_MSG_MAX_DATA + 1];
	char path[OMT_MSG_MAX_PATH + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) == 0)
			fail_msg("parsed: %s", bad[i]);

	/* 4096 bytes of path pass, 4097 don't; a name of 255 bytes does, 256 not. */
	memset(path, 'x', sizeof(path));
	for (i = 199; i < OMT_MSG_MAX_PATH; i += 200)
		path[i] = '/';
	path[OMT_MSG_MAX_PATH] = '\0';
	snprintf(line, sizeof(line), "{\"type\":\"dir\",\"path\":\"%s\"}", path);
	assert_int_equal(parse(line), 0);
	assert_int_equal(strlen(msg.path), OMT_MSG_MAX_PATH);
	path[OMT_MSG_MAX_PATH] = 'x';
	path[OMT_MSG_MAX_PATH + 1] = '\0';
	snprintf(line, sizeof(line), "{\"type\":\"dir\",\"path\":\"%s\"}", path);
	assert_int_equal(parse(line), -E2BIG);
	memset(path, 'n', 256);
	path[256] = '\0';
	snprintf(line, sizeof(line), "{\"type\":\"dir\",\"path\":\"a/%s/b\"}", path);
	assert_int_equal(parse(line), -E2BIG);
	assert_int_equal(omt_msg_check_path(path, 255), 0);
	assert_int_equal(omt_msg_check_path(path, 256), -E2BIG);

	/* 32 KiB of data per message, not a byte more. */
	i = sprintf(line, "{\"type\":\"fdata\",\"data\":\"");
	sodium_bin2base64(line + i, sizeof(line) - i, raw, sizeof(raw),
			  sodium_base64_VARIANT_ORIGINAL);
	strcat(line, "\"}");
	assert_int_not_equal(parse(line), 0);
	sodium_bin2base64(line + i, sizeof(line) - i, raw, sizeof(raw) - 1,
			  sodium_base64_VARIANT_ORIGINAL);
	strcat(line, "\"}");
	assert_int_equal(parse(line), 0);
	assert_int_equal(msg.len, OMT_MSG_MAX_DATA);
}

static void test_format_refuses(void **state)
{
	char line[OMT_MSG_MAX_LINE + 2];
	struct omt_msg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = OMT_MSG_FILE;
	strcpy(m.path, "../etc/passwd");
	assert_int_equal(omt_msg_format(line, sizeof(line), &m), -EINVAL);
	strcpy(m.path, "ok");
	m.mode = 04755;
	assert_int_equal(omt_msg_format(line, sizeof(line), &m), -EINVAL);
	m.type = OMT_MSG_OUTERR;
	strcpy(m.text, "tab\there");
	assert_int_equal(omt_msg_format(line, sizeof(line), &m), -EINVAL);
	m.type = 99;
	assert_int_equal(omt_msg_format(line, sizeof(line), &m), -EINVAL);
}

/* --- the round trip --- */

struct sending {
	int fd;
	const char *root;
	uint64_t max_bytes, max_files;
	int ret;
	char err[512];
};

static void *sender_thread(void *arg)
{
	struct sending *s = arg;

	s->ret = omt_out_send(s->fd, s->root, s->max_bytes, s->max_files, s->err, sizeof(s->err));
	close(s->fd);
	return NULL;
}

struct received {
	int ret;			/* the last feed's */
	int lines, skips;
	char skipped[4][64];
	int last_type;
};

/*
 * omt_out_send(root) on one end of a socketpair, the lines read from the
 * other parsed and fed to an omt_outfiles on dst; returns the sender's
 * result.
 */
static int round_trip(const char *root, const char *dst, uint64_t max_bytes, uint64_t max_files,
		      struct received *r, struct omt_outfiles **out)
{
	static char buf[2 * OMT_MSG_MAX_LINE];
	struct sending s = { .root = root, .max_bytes = max_bytes, .max_files = max_files };
	struct omt_outfiles *o;
	char err[256];
	size_t len = 0;
	pthread_t t;
	int sv[2];
	char *nl;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	o = omt_outfiles_new(dst, max_bytes, max_files, err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s.fd = sv[0];
	assert_int_equal(pthread_create(&t, NULL, sender_thread, &s), 0);
	for (;;) {
		n = read(sv[1], buf + len, sizeof(buf) - len);
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += n;
		while ((nl = memchr(buf, '\n', len))) {
			size_t l = nl - buf;

			assert_int_equal(omt_msg_parse(buf, l, &msg), 0);
			r->lines++;
			r->last_type = msg.type;
			if (msg.type == OMT_MSG_SKIP && r->skips < 4)
				snprintf(r->skipped[r->skips++], sizeof(r->skipped[0]), "%s %.40s",
					 omt_skip_kind_name(msg.kind), msg.path);
			r->ret = omt_outfiles_feed(o, &msg);
			memmove(buf, nl + 1, len - l - 1);
			len -= l + 1;
		}
		assert_true(len < sizeof(buf));
	}
	assert_int_equal(len, 0);
	pthread_join(t, NULL);
	close(sv[1]);
	*out = o;
	return s.ret;
}

static void assert_same_file(const char *a, const char *b, mode_t mode)
{
	static char x[200 * 1024], y[200 * 1024];
	size_t n = get(a, x, sizeof(x));
	struct stat st;

	assert_int_equal(get(b, y, sizeof(y)), n);
	assert_memory_equal(x, y, n);
	assert_int_equal(fstatat(AT_FDCWD, at(b), &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
}

static void test_round_trip(void **state)
{
	static uint8_t bin[100 * 1024];
	static const char weird[] = "we\"ird\\ \n\x01\xff name";
	struct omt_outfiles *o;
	struct received r;
	uint64_t files, bytes;
	struct stat st;
	char name[128], name2[128];
	size_t i;
	int found;

	(void)state;
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (i * 2654435761u) >> 13;
	assert_int_equal(mkdir(at("src/a"), 0755), 0);
	assert_int_equal(mkdir(at("src/a/b"), 0700), 0);
	assert_int_equal(mkdir(at("src/a/b/c"), 0755), 0);
	assert_int_equal(mkdir(at("src/emptydir"), 0755), 0);
	put("src/a/b/c/deep.txt", "deep\n", 5, 0640);
	put("src/empty", "", 0, 0600);
	put("src/bin", bin, sizeof(bin), 0700);
	snprintf(name, sizeof(name), "src/a/%s", weird);
	put(name, "w", 1, 0644);
	assert_int_equal(symlink(at("outside/target"), at("src/link")), 0);
	assert_int_equal(symlink("..", at("src/a/up")), 0);
	assert_int_equal(mkfifo(at("src/a/b/fifo"), 0644), 0);

	assert_int_equal(round_trip(at("src"), at("dst"), 1 << 20, 100, &r, &o), 0);
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.last_type, OMT_MSG_OUTDONE);
	assert_null(omt_outfiles_error(o));
	omt_outfiles_stats(o, &files, &bytes);
	assert_int_equal(files, 8);	/* a, a/b, a/b/c, emptydir; deep.txt, empty, bin, weird */
	assert_int_equal(bytes, 5 + 0 + sizeof(bin) + 1);
	omt_outfiles_free(o);

	assert_same_file("src/a/b/c/deep.txt", "dst/a/b/c/deep.txt", 0644);
	assert_same_file("src/empty", "dst/empty", 0644);
	assert_same_file("src/bin", "dst/bin", 0755);
	snprintf(name, sizeof(name), "dst/a/%s", weird);
	snprintf(name2, sizeof(name2), "src/a/%s", weird);
	assert_same_file(name2, name, 0644);
	assert_int_equal(stat(at("dst/emptydir"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_false(exists("dst/link"));
	assert_false(exists("dst/a/up"));
	assert_false(exists("dst/a/b/fifo"));

	assert_int_equal(r.skips, 3);
	for (found = 0, i = 0; i < 3; i++)
		found += strcmp(r.skipped[i], "symlink link") == 0 ||
			 strcmp(r.skipped[i], "symlink a/up") == 0 ||
			 strcmp(r.skipped[i], "fifo a/b/fifo") == 0;
	assert_int_equal(found, 3);
	assert_outside_untouched();
}

static void empty_dst(void)
{
	assert_int_equal(scratch_remove(at("dst")), 0);
	assert_int_equal(mkdir(at("dst"), 0755), 0);
}

static void test_round_trip_limits(void **state)
{
	struct omt_outfiles *o;
	struct received r;
	char buf[16];

	(void)state;
	put("src/small", "12345", 5, 0644);
	put("src/large", "0123456789", 10, 0644);
	/* Over the bytes: "outerr", and the host has the error, no partial file. */
	assert_int_equal(round_trip(at("src"), at("dst"), 12, 100, &r, &o), -EFBIG);
	assert_int_equal(r.last_type, OMT_MSG_OUTERR);
	assert_int_equal(r.ret, -EIO);
	assert_non_null(strstr(omt_outfiles_error(o), "more than 12 bytes"));
	omt_outfiles_free(o);
	/* Whichever came first is there, whole; the other isn't. */
	assert_int_equal(exists("dst/large") + exists("dst/small"), 1);
	if (exists("dst/small"))
		assert_int_equal(get("dst/small", buf, sizeof(buf)), 5);
	else
		assert_int_equal(get("dst/large", buf, sizeof(buf)), 10);

	/* Over the files. */
	empty_dst();
	assert_int_equal(round_trip(at("src"), at("dst"), 100, 1, &r, &o), -EDQUOT);
	assert_int_equal(r.ret, -EIO);
	omt_outfiles_free(o);

	/* No output directory: an empty output. */
	empty_dst();
	assert_int_equal(round_trip(at("nothing"), at("dst"), 100, 10, &r, &o), 0);
	assert_int_equal(r.lines, 1);
	assert_int_equal(r.ret, 1);
	omt_outfiles_free(o);

	/* The root a symlink: not followed. */
	assert_int_equal(symlink(at("outside"), at("rootlink")), 0);
	assert_int_not_equal(round_trip(at("rootlink"), at("dst"), 100, 10, &r, &o), 0);
	assert_int_equal(r.last_type, OMT_MSG_OUTERR);
	omt_outfiles_free(o);
	assert_int_equal(unlink(at("rootlink")), 0);
	assert_outside_untouched();
}

/* --- hostile streams, fed directly --- */

static struct omt_outfiles *new_dst(uint64_t max_bytes, uint64_t max_files)
{
	char err[256];
	struct omt_outfiles *o = omt_outfiles_new(at("dst"), max_bytes, max_files, err,
						  sizeof(err));

	assert_non_null(o);
	return o;
}

/* Feeds the lines (NULL-terminated); the result of the last feed. */
static int feed(struct omt_outfiles *o, ...)
{
	const char *line;
	va_list ap;
	int ret = 0;

	va_start(ap, o);
	while ((line = va_arg(ap, const char *))) {
		if (parse(line))
			fail_msg("does not parse: %s", line);
		ret = omt_outfiles_feed(o, &msg);
		if (ret)
			break;
	}
	va_end(ap);
	return ret;
}

#define FILE_(p, size) "{\"type\":\"file\",\"path\":\"" p "\",\"mode\":420,\"size\":" #size "}"
#define DIR_(p) "{\"type\":\"dir\",\"path\":\"" p "\"}"
#define DATA(b64) "{\"type\":\"fdata\",\"data\":\"" b64 "\"}"
#define FEND "{\"type\":\"fend\"}"
#define DONE(f, b) "{\"type\":\"outdone\",\"files\":" #f ",\"bytes\":" #b "}"

static void assert_error(struct omt_outfiles *o, const char *has)
{
	const char *e = omt_outfiles_error(o);
	size_t i;

	assert_non_null(e);
	if (!strstr(e, has))
		fail_msg("error '%s' does not say '%s'", e, has);
	for (i = 0; e[i]; i++)
		assert_true(e[i] >= 0x20 && e[i] < 0x7f);
	/* Sticky: even a good message fails now. */
	assert_true(feed(o, DIR_("fine"), NULL) < 0);
	assert_false(exists("dst/fine"));
}

static void test_bad_paths_by_hand(void **state)
{
	static const char *const paths[] = { "../x", "/abs", "a/../../b", "a//b", "", ".", "a/.",
					     "x/" };
	struct omt_outfiles *o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		o = new_dst(100, 10);
		memset(&msg, 0, sizeof(msg));
		msg.type = i % 2 ? OMT_MSG_DIR : OMT_MSG_FILE;
		strcpy(msg.path, paths[i]);
		assert_int_equal(omt_outfiles_feed(o, &msg), -EINVAL);
		assert_error(o, "not a relative path");
		omt_outfiles_free(o);
	}
	assert_outside_untouched();
}

static void test_planted_symlinks(void **state)
{
	struct omt_outfiles *o;

	(void)state;
	/* dst/sub -> outside, named like the file's parent directory. */
	assert_int_equal(symlink(at("outside"), at("dst/sub")), 0);
	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("sub/target", 1), NULL), -ENOTDIR);
	assert_error(o, "'sub' is not a directory");
	omt_outfiles_free(o);
	o = new_dst(100, 10);
	assert_true(feed(o, FILE_("sub/new", 1), DATA("eA=="), FEND, NULL) < 0);
	omt_outfiles_free(o);
	assert_false(exists("outside/new"));
	/* ... the directory itself... */
	o = new_dst(100, 10);
	assert_int_equal(feed(o, DIR_("sub"), NULL), -EEXIST);
	assert_error(o, "'sub': exists and is not a directory");
	omt_outfiles_free(o);
	o = new_dst(100, 10);
	assert_true(feed(o, DIR_("sub/d"), NULL) < 0);
	omt_outfiles_free(o);
	assert_false(exists("outside/d"));
	/* ... deeper down... */
	assert_int_equal(mkdir(at("dst/real"), 0755), 0);
	assert_int_equal(symlink(at("outside"), at("dst/real/sub")), 0);
	o = new_dst(100, 10);
	assert_true(feed(o, DIR_("real/sub/x"), NULL) < 0);
	assert_error(o, "'real/sub' is not a directory");
	omt_outfiles_free(o);
	/* ... and a file's own name, to a file outside. */
	assert_int_equal(symlink(at("outside/target"), at("dst/f")), 0);
	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("f", 1), DATA("eA=="), FEND, NULL), -EEXIST);
	assert_error(o, "file 'f': exists already");
	omt_outfiles_free(o);
	assert_outside_untouched();
}

static void test_size_lies(void **state)
{
	struct omt_outfiles *o;

	(void)state;
	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("more", 3), DATA("YWJjZA=="), NULL), -EPROTO);
	assert_error(o, "file 'more': more data than the 3 bytes announced");
	assert_false(exists("dst/more"));
	omt_outfiles_free(o);

	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("more2", 3), DATA("YWI="), DATA("YWI="), NULL), -EPROTO);
	assert_false(exists("dst/more2"));
	omt_outfiles_free(o);

	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("less", 5), DATA("YWJj"), FEND, NULL), -EPROTO);
	assert_error(o, "file 'less': ends after 3 of the 5 bytes announced");
	assert_false(exists("dst/less"));
	omt_outfiles_free(o);

	/* Unfinished when freed: gone too. */
	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("cut", 5), DATA("YWJj"), NULL), 0);
	assert_true(exists("dst/cut"));
	omt_outfiles_free(o);
	assert_false(exists("dst/cut"));
	assert_outside_untouched();
}

static void test_limits(void **state)
{
	struct omt_outfiles *o;
	uint64_t files, bytes;

	(void)state;
	o = new_dst(10, 10);
	assert_int_equal(feed(o, FILE_("big", 11), NULL), -EFBIG);
	assert_error(o, "file 'big': 11 bytes, over the 10 left of 10");
	assert_false(exists("dst/big"));
	omt_outfiles_free(o);

	o = new_dst(10, 10);
	assert_int_equal(feed(o, FILE_("one", 6), DATA("MTIzNDU2"), FEND, FILE_("two", 6), NULL),
			 -EFBIG);
	assert_error(o, "file 'two': 6 bytes, over the 4 left of 10");
	omt_outfiles_stats(o, &files, &bytes);
	assert_int_equal(files, 1);
	assert_int_equal(bytes, 6);
	omt_outfiles_free(o);
	assert_true(exists("dst/one"));
	assert_false(exists("dst/two"));

	o = new_dst(100, 2);
	assert_int_equal(feed(o, DIR_("d1"), FILE_("d1/f", 0), FEND, DIR_("d2"), NULL), -EDQUOT);
	assert_error(o, "dir 'd2': more than the 2 files and directories allowed");
	omt_outfiles_free(o);
	assert_false(exists("dst/d2"));

	o = new_dst(100, 1);
	assert_int_equal(feed(o, "{\"type\":\"skip\",\"path\":\"l1\",\"kind\":\"symlink\"}",
			      "{\"type\":\"skip\",\"path\":\"l2\",\"kind\":\"symlink\"}", NULL),
			 -EDQUOT);
	omt_outfiles_free(o);
	assert_outside_untouched();
}

static void test_protocol(void **state)
{
	struct omt_outfiles *o;
	char buf[16];

	(void)state;
	/* A duplicate file: refused, the first one kept. */
	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("dup", 1), DATA("eA=="), FEND, FILE_("dup", 1), NULL),
			 -EEXIST);
	assert_error(o, "file 'dup': exists already");
	omt_outfiles_free(o);
	assert_int_equal(get("dst/dup", buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'x');

	/* A directory twice is fine. */
	o = new_dst(100, 10);
	assert_int_equal(feed(o, DIR_("d"), DIR_("d"), FILE_("d/f", 0), FEND, DONE(3, 0), NULL),
			 1);
	assert_null(omt_outfiles_error(o));
	assert_true(feed(o, DIR_("late"), NULL) < 0);
	assert_error(o, "dir after outdone");
	omt_outfiles_free(o);

	o = new_dst(100, 10);
	assert_int_equal(feed(o, DATA("eA=="), NULL), -EPROTO);
	assert_error(o, "fdata of 1 bytes outside a file");
	omt_outfiles_free(o);

	o = new_dst(100, 10);
	assert_int_equal(feed(o, FEND, NULL), -EPROTO);
	omt_outfiles_free(o);

	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("outer", 2), DATA("eA=="), FILE_("inner", 1), NULL),
			 -EPROTO);
	assert_error(o, "file 'inner' inside the unfinished file 'outer'");
	assert_false(exists("dst/outer"));
	assert_false(exists("dst/inner"));
	omt_outfiles_free(o);

	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("f", 2), DATA("eA=="),
			      "{\"type\":\"outerr\",\"message\":\"read error\"}", NULL), -EIO);
	assert_error(o, "could not send its output: 'read error'");
	assert_false(exists("dst/f"));
	omt_outfiles_free(o);

	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("g", 0), FEND, DONE(2, 0), NULL), -EPROTO);
	assert_error(o, "outdone says 2 files and 0 bytes, but 1 and 0 came");
	omt_outfiles_free(o);

	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("nodir/x", 0), NULL), -ENOENT);
	assert_error(o, "'nodir' is no such directory");
	omt_outfiles_free(o);

	o = new_dst(100, 10);
	assert_int_equal(feed(o, "{\"type\":\"exit\",\"status\":0}", NULL), -EINVAL);
	assert_error(o, "exit message among the output files");
	omt_outfiles_free(o);

	/* A file where a directory is wanted. */
	o = new_dst(100, 10);
	assert_int_equal(feed(o, FILE_("plain", 0), FEND, FILE_("plain/x", 0), NULL), -ENOTDIR);
	omt_outfiles_free(o);
	assert_outside_untouched();
}

static void test_new_needs_dir(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(omt_outfiles_new(at("missing"), 1, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "missing': No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_output_messages),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_format_refuses),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_lies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_needs_dir, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
