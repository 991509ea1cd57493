// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The host's side of the guest's output files, without the filesystem:
 * each input is a stream of lines, parsed (proto/guest_msg.c) and put through
 * the stream rules (api/outpath.c) with a small budget. Every path that
 * parses must pass an independent check, what parses must format back to
 * the same message, the budget must hold, and after an error nothing is
 * accepted. Each line's bytes also go to omt_msg_check_path directly,
 * against the same independent check.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../api/outpath.h"
#include "../../proto/guest_msg.h"

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#define MAX_BYTES 100000
#define MAX_FILES 8

/* Split on '/', the other way round: every component named, then judged. */
static int path_ok(const char *s, size_t len)
{
	size_t i, j;

	if (len == 0 || len > OMT_MSG_MAX_PATH)
		return 0;
	for (i = 0; i < len; i = j + 1) {
		for (j = i; j < len && s[j] != '/'; j++)
			if (s[j] == '\0')
				return 0;
		if (j - i == 0 || j - i > OMT_MSG_MAX_NAME)
			return 0;
		if (s[i] == '.' && (j - i == 1 || (j - i == 2 && s[i + 1] == '.')))
			return 0;
		if (j == len - 1)	/* a '/' last: an empty component after it */
			return 0;
	}
	return 1;
}

static int is_output(int type)
{
	return type >= OMT_MSG_DIR && type <= OMT_MSG_OUTERR;
}

static void check_same(const struct omt_msg *a, const struct omt_msg *b)
{
	check(a->type == b->type);
	switch (a->type) {
	case OMT_MSG_FILE:
		check(a->mode == b->mode && a->size == b->size);
		/* fall through */
	case OMT_MSG_DIR:
		check(strcmp(a->path, b->path) == 0);
		break;
	case OMT_MSG_SKIP:
		check(strcmp(a->path, b->path) == 0 && a->kind == b->kind);
		break;
	case OMT_MSG_FDATA:
		check(a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
		break;
	case OMT_MSG_OUTDONE:
		check(a->files == b->files && a->bytes == b->bytes);
		break;
	case OMT_MSG_OUTERR:
		check(strcmp(a->text, b->text) == 0);
		break;
	default:	/* not an output message: is_output() keeps them away */
		break;
	}
}

static void check_err(const char *err)
{
	size_t i;

	for (i = 0; err[i]; i++)
		check(err[i] >= 0x20 && err[i] <= 0x7e);
	check(i > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct omt_msg m, again;
	static struct omt_outpath s;
	static char line[OMT_MSG_MAX_LINE + 2];
	const char *p = (const char *)data, *end = p + size, *nl;
	char err[512];
	int ret, failed = 0, done = 0, n;
	size_t len;

	omt_outpath_init(&s, MAX_BYTES, MAX_FILES);
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		len = nl - p;
		check((omt_msg_check_path(p, len) == 0) == path_ok(p, len));
		if (omt_msg_parse(p, len, &m))
			continue;
		if (m.type == OMT_MSG_DIR || m.type == OMT_MSG_FILE || m.type == OMT_MSG_SKIP) {
			check(strlen(m.path) <= OMT_MSG_MAX_PATH && path_ok(m.path, strlen(m.path)));
			check(m.path[0] != '/' && !strstr(m.path, "//"));
		}
		if (m.type == OMT_MSG_FILE)
			check(m.mode <= 0777 && m.size < INT64_MAX);
		if (is_output(m.type)) {
			n = omt_msg_format(line, sizeof(line), &m);
			check(n > 0 && line[n - 1] == '\n');
			check(omt_msg_parse(line, n - 1, &again) == 0);
			check_same(&m, &again);
		}

		err[0] = '\0';
		ret = omt_outpath_step(&s, &m, err, sizeof(err));
		if (failed || done) {
			check(ret < 0);
			continue;
		}
		if (ret < 0) {
			check(ret == -EPROTO || ret == -EFBIG || ret == -EDQUOT || ret == -EINVAL ||
			      ret == -EIO);
			check((ret == -EIO) == (m.type == OMT_MSG_OUTERR));
			check_err(err);
			failed = 1;
			continue;
		}
		check(ret == 0 || (ret == 1 && m.type == OMT_MSG_OUTDONE));
		check(is_output(m.type));
		done = ret == 1;
		check(s.bytes <= MAX_BYTES && s.files <= MAX_FILES && s.skipped <= MAX_FILES);
		check(!s.in_file || (s.left <= s.size && s.bytes + s.left <= MAX_BYTES));
		if (done)
			check(!s.in_file && m.files == s.files && m.bytes == s.bytes);
	}
	return 0;
}
