// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "omerta_msg.h"

static const char *const stage_names[] = {
	[OMT_STAGE_BOOT] = "boot",
	[OMT_STAGE_MODULES] = "modules",
	[OMT_STAGE_NETWORK] = "network",
	[OMT_STAGE_FIREWALL] = "firewall",
	[OMT_STAGE_VPN] = "vpn",
	[OMT_STAGE_HANDSHAKE] = "handshake",
	[OMT_STAGE_WORKLOAD] = "workload",
};
_Static_assert(sizeof(stage_names) / sizeof(stage_names[0]) == OMT_STAGE__COUNT,
	       "every stage needs a name");

const char *omt_stage_name(enum omt_stage stage)
{
	return (unsigned int)stage < OMT_STAGE__COUNT ? stage_names[stage] : "unknown";
}

static int stage_of(const char *s, enum omt_stage *out)
{
	int i;

	for (i = 0; i < OMT_STAGE__COUNT; i++) {
		if (strcmp(s, stage_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
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

static int parse_obj(json_object *o, struct omt_msg *m)
{
	json_object *v;
	const char *type, *s;
	size_t n;

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
		if (!(v = member(o, "message", json_type_string)))
			return -EINVAL;
		s = json_object_get_string(v);
		n = json_object_get_string_len(v);
		if (n >= sizeof(m->text))
			return -E2BIG;
		/* Printable ASCII only: it ends up in logs and terminals. */
		for (m->len = 0; m->len < n; m->len++) {
			if (s[m->len] < 0x20 || s[m->len] > 0x7e)
				return -EINVAL;
			m->text[m->len] = s[m->len];
		}
		m->text[n] = '\0';
		m->len = 0;
		return 0;
	}
	if (strcmp(type, "out") == 0) {
		m->type = OMT_MSG_OUT;
		if (int_member(o, "fd", 1, 2, &m->fd) || !(v = member(o, "data", json_type_string)))
			return -EINVAL;
		if (sodium_base642bin(m->data, sizeof(m->data), json_object_get_string(v),
				      json_object_get_string_len(v), NULL, &m->len, NULL,
				      sodium_base64_VARIANT_ORIGINAL))
			return -EINVAL;
		return 0;
	}
	if (strcmp(type, "exit") == 0) {
		m->type = OMT_MSG_EXIT;
		m->status = -1;
		m->signal = 0;
		if (member(o, "status", json_type_int))
			return int_member(o, "status", 0, 255, &m->status);
		return int_member(o, "signal", 1, 64, &m->signal);
	}
	return -EINVAL;
}

int omt_msg_parse(const char *line, size_t len, struct omt_msg *out)
{
	struct json_tokener *tok;
	json_object *o;
	int err;

	if (len > OMT_MSG_MAX_LINE)
		return -E2BIG;
	if (memchr(line, '\0', len))
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	tok = json_tokener_new_ex(8);	/* messages are flat: no deep nesting */
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, line, len);
	/* The whole line must be one object, nothing after it. */
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	memset(out, 0, offsetof(struct omt_msg, data));
	err = parse_obj(o, out);
	json_object_put(o);
	return err;
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
