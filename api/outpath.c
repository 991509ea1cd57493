// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "../lib/text.h"
#include "outpath.h"

/* Of a path in an error: enough to find it, not a screenful. */
#define QUOTE_MAX 200

void omt_outpath_init(struct omt_outpath *s, uint64_t max_bytes, uint64_t max_files)
{
	memset(s, 0, sizeof(*s));
	s->max_bytes = max_bytes;
	s->max_files = max_files;
}

unsigned int omt_outpath_mode(unsigned int mode)
{
	return mode & 0100 ? 0755 : 0644;
}

static const char *type_name(int type)
{
	static const char *const names[] = {
		[OMT_MSG_STAGE] = "stage", [OMT_MSG_OUT] = "out", [OMT_MSG_EXIT] = "exit",
		[OMT_MSG_ERROR] = "error", [OMT_MSG_DIR] = "dir", [OMT_MSG_FILE] = "file",
		[OMT_MSG_FDATA] = "fdata", [OMT_MSG_FEND] = "fend", [OMT_MSG_SKIP] = "skip",
		[OMT_MSG_OUTDONE] = "outdone", [OMT_MSG_OUTERR] = "outerr", [OMT_MSG_JOB] = "job",
	};

	if (type < 0 || type >= (int)(sizeof(names) / sizeof(names[0])) || !names[type])
		return "unknown";
	return names[type];
}

static int entry(struct omt_outpath *s, const struct omt_msg *m, char *err, size_t errlen)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)], q2[OMT_QUOTE_SIZE(QUOTE_MAX)];
	size_t n = strnlen(m->path, sizeof(m->path));

	/* The parser checked it; a message built by hand may not have been. */
	if (n == sizeof(m->path) || omt_msg_check_path(m->path, n)) {
		omt_errf(err, errlen, "%s %s: not a relative path of plain names",
			 type_name(m->type), omt_quote(q, m->path, n < QUOTE_MAX ? n : QUOTE_MAX));
		return -EINVAL;
	}
	if (s->in_file) {
		omt_errf(err, errlen, "%s %s inside the unfinished file %s", type_name(m->type),
			 omt_quote(q, m->path, QUOTE_MAX), omt_quote(q2, s->path, QUOTE_MAX));
		return -EPROTO;
	}
	if (m->type == OMT_MSG_SKIP) {
		if (s->skipped >= s->max_files) {
			omt_errf(err, errlen, "skip %s: more than %" PRIu64 " entries skipped",
				 omt_quote(q, m->path, QUOTE_MAX), s->max_files);
			return -EDQUOT;
		}
		s->skipped++;
		return 0;
	}
	if (s->files >= s->max_files) {
		omt_errf(err, errlen, "%s %s: more than the %" PRIu64 " files and directories "
			 "allowed", type_name(m->type), omt_quote(q, m->path, QUOTE_MAX),
			 s->max_files);
		return -EDQUOT;
	}
	if (m->type == OMT_MSG_FILE) {
		if (m->mode > 0777) {
			omt_errf(err, errlen, "file %s: mode %#o is not permission bits",
				 omt_quote(q, m->path, QUOTE_MAX), m->mode);
			return -EINVAL;
		}
		if (m->size > s->max_bytes - s->bytes) {
			omt_errf(err, errlen, "file %s: %" PRIu64 " bytes, over the %" PRIu64
				 " left of %" PRIu64, omt_quote(q, m->path, QUOTE_MAX), m->size,
				 s->max_bytes - s->bytes, s->max_bytes);
			return -EFBIG;
		}
		s->in_file = 1;
		s->size = s->left = m->size;
		memcpy(s->path, m->path, n + 1);
	}
	s->files++;
	return 0;
}

static int step(struct omt_outpath *s, const struct omt_msg *m, char *err, size_t errlen)
{
	char q[OMT_QUOTE_SIZE(QUOTE_MAX)];

	if (s->done) {
		omt_errf(err, errlen, "%s after outdone", type_name(m->type));
		return -EPROTO;
	}
	switch (m->type) {
	case OMT_MSG_DIR:
	case OMT_MSG_FILE:
	case OMT_MSG_SKIP:
		return entry(s, m, err, errlen);
	case OMT_MSG_FDATA:
		if (!s->in_file) {
			omt_errf(err, errlen, "fdata of %zu bytes outside a file", m->len);
			return -EPROTO;
		}
		if (m->len > OMT_MSG_MAX_DATA || m->len > s->left) {
			omt_errf(err, errlen, "file %s: more data than the %" PRIu64
				 " bytes announced", omt_quote(q, s->path, QUOTE_MAX), s->size);
			return -EPROTO;
		}
		s->left -= m->len;
		s->bytes += m->len;
		return 0;
	case OMT_MSG_FEND:
		if (!s->in_file) {
			omt_errf(err, errlen, "fend outside a file");
			return -EPROTO;
		}
		if (s->left) {
			omt_errf(err, errlen, "file %s: ends after %" PRIu64 " of the %" PRIu64
				 " bytes announced", omt_quote(q, s->path, QUOTE_MAX),
				 s->size - s->left, s->size);
			return -EPROTO;
		}
		s->in_file = 0;
		return 0;
	case OMT_MSG_OUTDONE:
		if (s->in_file) {
			omt_errf(err, errlen, "outdone inside the unfinished file %s",
				 omt_quote(q, s->path, QUOTE_MAX));
			return -EPROTO;
		}
		if (m->files != s->files || m->bytes != s->bytes) {
			omt_errf(err, errlen, "outdone says %" PRIu64 " files and %" PRIu64
				 " bytes, but %" PRIu64 " and %" PRIu64 " came", m->files, m->bytes,
				 s->files, s->bytes);
			return -EPROTO;
		}
		s->done = 1;
		return 1;
	case OMT_MSG_OUTERR:
		omt_errf(err, errlen, "the guest could not send its output: %s",
			 omt_quote(q, m->text, QUOTE_MAX));
		return -EIO;
	case OMT_MSG_STAGE:
	case OMT_MSG_OUT:
	case OMT_MSG_EXIT:
	case OMT_MSG_ERROR:
	case OMT_MSG_JOB:
		break;
	}
	omt_errf(err, errlen, "%s message among the output files", type_name(m->type));
	return -EINVAL;
}

int omt_outpath_step(struct omt_outpath *s, const struct omt_msg *m, char *err, size_t errlen)
{
	int ret;

	if (s->failed) {
		omt_errf(err, errlen, "%s after an error", type_name(m->type));
		return -EPROTO;
	}
	ret = step(s, m, err, errlen);
	if (ret < 0)
		s->failed = 1;
	return ret;
}
