// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "../lib/b64.h"
#include "../lib/json.h"
#include "guest_msg.h"

static const char *const stage_names[] = {
	[OMT_STAGE_BOOT] = "boot",
	[OMT_STAGE_MODULES] = "modules",
	[OMT_STAGE_WARM] = "warm",
	[OMT_STAGE_NETWORK] = "network",
	[OMT_STAGE_FIREWALL] = "firewall",
	[OMT_STAGE_VPN] = "vpn",
	[OMT_STAGE_HANDSHAKE] = "handshake",
	[OMT_STAGE_WORKLOAD] = "workload",
};
_Static_assert(sizeof(stage_names) / sizeof(stage_names[0]) == OMT_STAGE__COUNT,
	       "every stage needs a name");

static const char *const skip_names[] = {
	[OMT_SKIP_SYMLINK] = "symlink",
	[OMT_SKIP_CHARDEV] = "chardev",
	[OMT_SKIP_BLOCKDEV] = "blockdev",
	[OMT_SKIP_FIFO] = "fifo",
	[OMT_SKIP_SOCKET] = "socket",
	[OMT_SKIP_OTHER] = "other",
};
_Static_assert(sizeof(skip_names) / sizeof(skip_names[0]) == OMT_SKIP__COUNT,
	       "every skip kind needs a name");

const char *omt_stage_name(enum omt_stage stage)
{
	return (unsigned int)stage < OMT_STAGE__COUNT ? stage_names[stage] : "unknown";
}

const char *omt_skip_kind_name(enum omt_skip_kind kind)
{
	return (unsigned int)kind < OMT_SKIP__COUNT ? skip_names[kind] : "unknown";
}

static int name_of(const char *s, const char *const *names, int count)
{
	int i;

	for (i = 0; i < count; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -EINVAL;
}

static int stage_of(const char *s, enum omt_stage *out)
{
	int i = name_of(s, stage_names, OMT_STAGE__COUNT);

	if (i < 0)
		return i;
	*out = i;
	return 0;
}

int omt_msg_check_path(const char *s, size_t len)
{
	size_t i, start = 0, n;

	if (len == 0)
		return -EINVAL;
	if (len > OMT_MSG_MAX_PATH)
		return -E2BIG;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] == '\0')
			return -EINVAL;
		if (i < len && s[i] != '/')
			continue;
		/* A component ends at i: not empty (leading, trailing or
		 * doubled '/'), not "." or "..", not too long. */
		n = i - start;
		if (n == 0 || (n == 1 && s[start] == '.') ||
		    (n == 2 && s[start] == '.' && s[start + 1] == '.'))
			return -EINVAL;
		if (n > OMT_MSG_MAX_NAME)
			return -E2BIG;
		start = i + 1;
	}
	return 0;
}

static json_object *member(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int int_member(json_object *o, const char *key, int lo, int hi, int *out)
{
	json_object *v = member(o, key, json_type_int);
	int64_t x;

	if (!v)
		return -EINVAL;
	x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return -EINVAL;
	*out = x;
	return 0;
}

static int u64_member(json_object *o, const char *key, uint64_t hi, uint64_t *out)
{
	json_object *v = member(o, key, json_type_int);
	int64_t x;

	if (!v)
		return -EINVAL;
	/* json-c saturates what doesn't fit at INT64_MAX: refused with it. */
	x = json_object_get_int64(v);
	if (x < 0 || x == INT64_MAX || (uint64_t)x > hi)
		return -EINVAL;
	*out = x;
	return 0;
}

/* Printable ASCII only: it ends up in logs and terminals. */
static int text_member(json_object *o, const char *key, char *out, size_t size)
{
	json_object *v = member(o, key, json_type_string);
	const char *s;
	size_t i, n;

	if (!v)
		return -EINVAL;
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (n >= size)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return -EINVAL;
		out[i] = s[i];
	}
	out[n] = '\0';
	return 0;
}

static int path_member(json_object *o, struct omt_msg *m)
{
	json_object *v = member(o, "path", json_type_string);
	size_t n;
	int err;

	if (!v)
		return -EINVAL;
	/* The length, not strlen: "\u0000" puts a NUL inside the string. */
	n = json_object_get_string_len(v);
	err = omt_msg_check_path(json_object_get_string(v), n);
	if (err)
		return err;
	memcpy(m->path, json_object_get_string(v), n);
	m->path[n] = '\0';
	return 0;
}

static int data_member(json_object *o, struct omt_msg *m)
{
	json_object *v = member(o, "data", json_type_string);

	if (!v || omt_b64_decode(json_object_get_string(v), json_object_get_string_len(v),
				 m->data, sizeof(m->data), &m->len))
		return -EINVAL;
	return 0;
}

static int parse_output(json_object *o, const char *type, struct omt_msg *m)
{
	json_object *v;
	uint64_t mode;
	int i;

	if (strcmp(type, "dir") == 0) {
		m->type = OMT_MSG_DIR;
		return path_member(o, m);
	}
	if (strcmp(type, "file") == 0) {
		m->type = OMT_MSG_FILE;
		if (u64_member(o, "mode", 0777, &mode) || u64_member(o, "size", INT64_MAX, &m->size))
			return -EINVAL;
		m->mode = mode;
		return path_member(o, m);
	}
	if (strcmp(type, "fdata") == 0) {
		m->type = OMT_MSG_FDATA;
		return data_member(o, m);
	}
	if (strcmp(type, "fend") == 0) {
		m->type = OMT_MSG_FEND;
		return 0;
	}
	if (strcmp(type, "skip") == 0) {
		m->type = OMT_MSG_SKIP;
		if (!(v = member(o, "kind", json_type_string)) ||
		    (i = name_of(json_object_get_string(v), skip_names, OMT_SKIP__COUNT)) < 0)
			return -EINVAL;
		m->kind = i;
		return path_member(o, m);
	}
	if (strcmp(type, "outdone") == 0) {
		m->type = OMT_MSG_OUTDONE;
		if (u64_member(o, "files", INT64_MAX, &m->files) ||
		    u64_member(o, "bytes", INT64_MAX, &m->bytes))
			return -EINVAL;
		return 0;
	}
	if (strcmp(type, "outerr") == 0) {
		m->type = OMT_MSG_OUTERR;
		return text_member(o, "message", m->text, sizeof(m->text));
	}
	if (strcmp(type, "job") == 0) {
		m->type = OMT_MSG_JOB;
		return u64_member(o, "size", OMT_MSG_MAX_JOB, &m->size);
	}
	return -EINVAL;
}

static int parse_obj(json_object *o, struct omt_msg *m)
{
	json_object *v;
	const char *type;

	if (!json_object_is_type(o, json_type_object) || !(v = member(o, "type", json_type_string)))
		return -EINVAL;
	type = json_object_get_string(v);
	if (strcmp(type, "stage") == 0 || strcmp(type, "error") == 0) {
		m->type = type[0] == 's' ? OMT_MSG_STAGE : OMT_MSG_ERROR;
		if (!(v = member(o, "stage", json_type_string)) ||
		    stage_of(json_object_get_string(v), &m->stage))
			return -EINVAL;
		if (m->type == OMT_MSG_STAGE)
			return 0;
		return text_member(o, "message", m->text, sizeof(m->text));
	}
	if (strcmp(type, "out") == 0) {
		m->type = OMT_MSG_OUT;
		if (int_member(o, "fd", 1, 2, &m->fd))
			return -EINVAL;
		return data_member(o, m);
	}
	if (strcmp(type, "exit") == 0) {
		m->type = OMT_MSG_EXIT;
		m->status = -1;
		m->signal = 0;
		if (member(o, "status", json_type_int))
			return int_member(o, "status", 0, 255, &m->status);
		return int_member(o, "signal", 1, 64, &m->signal);
	}
	return parse_output(o, type, m);
}

int omt_msg_parse(const char *line, size_t len, struct omt_msg *out)
{
	json_object *o;
	int err;

	if (len > OMT_MSG_MAX_LINE)
		return -E2BIG;
	if (sodium_init() < 0)
		return -ENOMEM;
	/* The whole line one value (parse_obj wants an object), nothing after it; flat. */
	err = omt_json_parse(line, len, 8, 0, &o, NULL);
	if (err)
		return err;
	memset(out, 0, offsetof(struct omt_msg, data));
	err = parse_obj(o, out);
	json_object_put(o);
	return err;
}

static void add_str(json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s));
}

static void add_u64(json_object *o, const char *key, uint64_t x)
{
	json_object_object_add(o, key, json_object_new_int64(x));
}

/* What the parser would refuse is not formatted either: -EINVAL. */
static int format_output(json_object *o, const struct omt_msg *m, char *b64, size_t b64len)
{
	size_t i;

	switch (m->type) {
	case OMT_MSG_DIR:
	case OMT_MSG_FILE:
	case OMT_MSG_SKIP:
		if (omt_msg_check_path(m->path, strnlen(m->path, sizeof(m->path))))
			return -EINVAL;
		if (m->type == OMT_MSG_FILE && (m->mode > 0777 || m->size >= INT64_MAX))
			return -EINVAL;
		if (m->type == OMT_MSG_SKIP && (unsigned int)m->kind >= OMT_SKIP__COUNT)
			return -EINVAL;
		add_str(o, "type", m->type == OMT_MSG_DIR ? "dir" :
				   m->type == OMT_MSG_FILE ? "file" : "skip");
		add_str(o, "path", m->path);
		if (m->type == OMT_MSG_FILE) {
			add_u64(o, "mode", m->mode);
			add_u64(o, "size", m->size);
		} else if (m->type == OMT_MSG_SKIP) {
			add_str(o, "kind", omt_skip_kind_name(m->kind));
		}
		return 0;
	case OMT_MSG_FDATA:
		if (m->len > OMT_MSG_MAX_DATA)
			return -EINVAL;
		sodium_bin2base64(b64, b64len, m->data, m->len, sodium_base64_VARIANT_ORIGINAL);
		add_str(o, "type", "fdata");
		add_str(o, "data", b64);
		return 0;
	case OMT_MSG_FEND:
		add_str(o, "type", "fend");
		return 0;
	case OMT_MSG_OUTDONE:
		if (m->files >= INT64_MAX || m->bytes >= INT64_MAX)
			return -EINVAL;
		add_str(o, "type", "outdone");
		add_u64(o, "files", m->files);
		add_u64(o, "bytes", m->bytes);
		return 0;
	case OMT_MSG_OUTERR:
		for (i = 0; i < sizeof(m->text) && m->text[i]; i++)
			if (m->text[i] < 0x20 || m->text[i] > 0x7e)
				return -EINVAL;
		if (i == sizeof(m->text))
			return -EINVAL;
		add_str(o, "type", "outerr");
		add_str(o, "message", m->text);
		return 0;
	case OMT_MSG_JOB:
		if (m->size > OMT_MSG_MAX_JOB)
			return -EINVAL;
		add_str(o, "type", "job");
		add_u64(o, "size", m->size);
		return 0;
	default:	/* omt_msg_format's own */
		return -EINVAL;
	}
}

int omt_msg_format(char *buf, size_t size, const struct omt_msg *m)
{
	char b64[sodium_base64_ENCODED_LEN(OMT_MSG_MAX_DATA, sodium_base64_VARIANT_ORIGINAL)];
	json_object *o = json_object_new_object();
	const char *s;
	size_t n;

	if (!o)
		return -ENOMEM;
	switch (m->type) {
	case OMT_MSG_STAGE:
	case OMT_MSG_ERROR:
		json_object_object_add(o, "type", json_object_new_string(
						    m->type == OMT_MSG_STAGE ? "stage" : "error"));
		json_object_object_add(o, "stage", json_object_new_string(omt_stage_name(m->stage)));
		if (m->type == OMT_MSG_ERROR)
			json_object_object_add(o, "message", json_object_new_string(m->text));
		break;
	case OMT_MSG_OUT:
		if (m->len > OMT_MSG_MAX_DATA || (m->fd != 1 && m->fd != 2))
			goto inval;
		sodium_bin2base64(b64, sizeof(b64), m->data, m->len,
				  sodium_base64_VARIANT_ORIGINAL);
		json_object_object_add(o, "type", json_object_new_string("out"));
		json_object_object_add(o, "fd", json_object_new_int(m->fd));
		json_object_object_add(o, "data", json_object_new_string(b64));
		break;
	case OMT_MSG_EXIT:
		json_object_object_add(o, "type", json_object_new_string("exit"));
		if (m->signal)
			json_object_object_add(o, "signal", json_object_new_int(m->signal));
		else
			json_object_object_add(o, "status", json_object_new_int(m->status));
		break;
	default:
		if (format_output(o, m, b64, sizeof(b64)))
			goto inval;
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	n = strlen(s);
	if (n + 2 > size) {
		json_object_put(o);
		return -E2BIG;
	}
	memcpy(buf, s, n);
	buf[n++] = '\n';
	buf[n] = '\0';
	json_object_put(o);
	return n;
inval:
	json_object_put(o);
	return -EINVAL;
}
