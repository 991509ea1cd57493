// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* GET /v1/jobs/ID/files: the whole of a job's /job/output in one answer (job.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../proto/guest_msg.h"
#include "job.h"
#include "json.h"

static int path_value(struct api_parser *p, json_object *v, const char *name, char **out)
{
	const char *s;
	size_t n;
	int err;

	err = api_str_value(p, v, name, OMT_MSG_MAX_PATH, &s, &n);
	if (err)
		return err;
	if (omt_job_file_path_check(s, n))
		return api_fail(p, "%s is not a relative path without empty, '.' or '..' parts: %s",
				name, api_show(p, v));
	*out = strndup(s, n);
	return *out ? 0 : -ENOMEM;
}

static int file_entry(struct api_parser *p, json_object *v, size_t i, size_t *total,
		      struct omt_job_file *f)
{
	char name[40];
	json_object *pv;
	size_t left = OMT_JOB_FILES_MAX_BYTES - *total;
	int64_t mode;
	int err;

	if (!json_object_is_type(v, json_type_object))
		return api_fail(p, "files[%zu] must be an object {\"path\",\"mode\",\"data\"}: %s",
				i, api_show_json(p, v));
	snprintf(name, sizeof(name), "files[%zu].path", i);
	if (!api_member(v, "path", &pv))
		return api_fail(p, "%s is missing", name);
	err = path_value(p, pv, name, &f->path);
	if (err)
		return err;
	snprintf(name, sizeof(name), "files[%zu].mode", i);
	err = api_int_member(p, v, "mode", name, 0, 0777, &mode);
	if (err)
		return err;
	f->mode = mode;
	snprintf(name, sizeof(name), "files[%zu].data", i);
	err = api_b64_member(p, v, "data", name, OMT_JOB_FILES_MAX_BYTES, left, &f->data, &f->len);
	if (err == -E2BIG)
		return api_fail(p, "files hold more than %d bytes with files[%zu]: %s",
				OMT_JOB_FILES_MAX_BYTES, i, api_show(p, pv));
	if (err)
		return err;
	*total += f->len;
	return 0;
}

static int files_fields(struct api_parser *p, json_object *o, void *out)
{
	struct omt_job_files *f = out;
	json_object *files, *dirs, *v;
	char name[32];
	const char *s;
	size_t i, nf, nd, n, total = 0;
	int err;

	if (!api_member(o, "files", &files))
		return api_fail(p, "files is missing");
	if (!json_object_is_type(files, json_type_array))
		return api_fail(p, "files must be an array: %s", api_show_json(p, files));
	if (!api_member(o, "dirs", &dirs))
		return api_fail(p, "dirs is missing");
	if (!json_object_is_type(dirs, json_type_array))
		return api_fail(p, "dirs must be an array: %s", api_show_json(p, dirs));
	nf = json_object_array_length(files);
	nd = json_object_array_length(dirs);
	if (nf + nd > OMT_JOB_FILES_MAX_ENTRIES)
		return api_fail(p, "files and dirs hold more than %d entries: %zu",
				OMT_JOB_FILES_MAX_ENTRIES, nf + nd);
	f->files = calloc(nf + 1, sizeof(*f->files));
	f->dirs = calloc(nd + 1, sizeof(*f->dirs));
	if (!f->files || !f->dirs)
		return -ENOMEM;
	for (i = 0; i < nd; i++) {
		snprintf(name, sizeof(name), "dirs[%zu]", i);
		f->n_dirs = i + 1;
		err = path_value(p, json_object_array_get_idx(dirs, i), name, &f->dirs[i]);
		if (err)
			return err;
	}
	for (i = 0; i < nf; i++) {
		f->n_files = i + 1;
		err = file_entry(p, json_object_array_get_idx(files, i), i, &total, &f->files[i]);
		if (err)
			return err;
	}
	if (!api_member(o, "error", &v))
		return 0;
	err = api_str_value(p, v, "error", OMT_JOB_FILES_MAX_ERROR, &s, &n);
	if (err)
		return err;
	if (!n || !api_printable(s, n))
		return api_fail(p, "error must be 1..%d characters of printable ASCII: %s",
				OMT_JOB_FILES_MAX_ERROR, api_show(p, v));
	memcpy(f->error, s, n + 1);
	return 0;
}

int omt_job_files_parse(const char *json, size_t len, struct omt_job_files *out, char *err,
			size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = api_parse_answer(json, len, OMT_JOB_FILES_MAX_ANSWER, err, errlen, files_fields, out);
	if (ret == -ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory");
	if (ret)
		omt_job_files_free(out);
	return ret;
}

void omt_job_files_free(struct omt_job_files *f)
{
	size_t i;

	for (i = 0; f->files && i < f->n_files; i++) {
		free(f->files[i].path);
		free(f->files[i].data);
	}
	for (i = 0; f->dirs && i < f->n_dirs; i++)
		free(f->dirs[i]);
	free(f->files);
	free(f->dirs);
	memset(f, 0, sizeof(*f));
}

/*
 * The files answer is written by hand, not with json-c: 64 MiB of data
 * would be held three times over (the objects, their text, its copy).
 */
struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static char *sb_room(struct sbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->err)
		return NULL;
	if (n > OMT_JOB_FILES_MAX_ANSWER - b->len) {
		b->err = -E2BIG;
		return NULL;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->p + b->len;
}

static void sb_put(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	char *o = sb_room(b, n);

	if (o) {
		memcpy(o, s, n + 1);
		b->len += n;
	}
}

/* A JSON string: what json-c writes, given valid UTF-8. */
static void sb_str(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s), i;
	char *o = sb_room(b, n * 6 + 2);

	if (!o)
		return;
	*o++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = c;
		} else if (c < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else {
			*o++ = c;
		}
	}
	*o++ = '"';
	*o = '\0';
	b->len = o - b->p;
}

static void sb_b64(struct sbuf *b, const uint8_t *d, size_t n)
{
	size_t e = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *o = sb_room(b, e + 2);

	if (!o)
		return;
	*o = '"';
	sodium_bin2base64(o + 1, e, n ? d : (const uint8_t *)"", n,
			  sodium_base64_VARIANT_ORIGINAL);
	b->len += e;		/* the quote and the base64, not its NUL */
	sb_put(b, "\"");
}

int omt_job_files_format(const struct omt_job_files *f, char **json_out)
{
	struct sbuf b = {};
	uint64_t total = 0;
	char num[16];
	size_t i;

	*json_out = NULL;
	if (f->n_files + f->n_dirs > OMT_JOB_FILES_MAX_ENTRIES ||
	    (f->n_files && !f->files) || (f->n_dirs && !f->dirs) ||
	    !memchr(f->error, '\0', sizeof(f->error)) || !api_printable(f->error, strlen(f->error)))
		return -EINVAL;
	for (i = 0; i < f->n_dirs; i++)
		if (!f->dirs[i] || omt_job_file_path_check(f->dirs[i], strlen(f->dirs[i])))
			return -EINVAL;
	for (i = 0; i < f->n_files; i++) {
		const struct omt_job_file *x = &f->files[i];

		total += x->len;
		if (!x->path || omt_job_file_path_check(x->path, strlen(x->path)) ||
		    x->mode > 0777 || (x->len && !x->data) || total > OMT_JOB_FILES_MAX_BYTES)
			return -EINVAL;
	}
	sb_put(&b, "{\"files\":[");
	for (i = 0; i < f->n_files; i++) {
		sb_put(&b, i ? ",{\"path\":" : "{\"path\":");
		sb_str(&b, f->files[i].path);
		snprintf(num, sizeof(num), "%u", f->files[i].mode);
		sb_put(&b, ",\"mode\":");
		sb_put(&b, num);
		sb_put(&b, ",\"data\":");
		sb_b64(&b, f->files[i].data, f->files[i].len);
		sb_put(&b, "}");
	}
	sb_put(&b, "],\"dirs\":[");
	for (i = 0; i < f->n_dirs; i++) {
		if (i)
			sb_put(&b, ",");
		sb_str(&b, f->dirs[i]);
	}
	sb_put(&b, "]");
	if (f->error[0]) {
		sb_put(&b, ",\"error\":");
		sb_str(&b, f->error);
	}
	sb_put(&b, "}");
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*json_out = b.p;
	return 0;
}
