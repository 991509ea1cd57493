// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "../lib/json.h"
#include "json.h"

#define JSON_DEPTH 8

int api_fail(struct api_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err && p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * Up to API_SHOWN_MAX bytes of s, anything but printable ASCII
 * escaped: the message goes to logs, terminals and the consumer.
 */
static const char *escape(struct api_parser *p, const char *s, size_t len, int quoted)
{
	return omt_quote_mem(p->shown, s, len, API_SHOWN_MAX, quoted);
}

const char *api_show(struct api_parser *p, json_object *v)
{
	return escape(p, json_object_get_string(v), json_object_get_string_len(v), 1);
}

const char *api_show_json(struct api_parser *p, json_object *v)
{
	const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);

	return escape(p, s ? s : "?", s ? strlen(s) : 1, 0);
}

json_object *api_parse(struct api_parser *p, const char *json, size_t len,
		       size_t max, int *ret)
{
	struct omt_json_fault f;
	json_object *o;

	if (len > max) {
		*ret = -E2BIG;
		api_fail(p, "the body is larger than %zu bytes: %zu", max, len);
		return NULL;
	}
	*ret = omt_json_parse(json, len, JSON_DEPTH,
			      JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8, &o, &f);
	if (*ret == -ENOMEM) {
		api_fail(p, "out of memory");
		return NULL;
	}
	if (*ret) {
		if (f.kind == OMT_JSON_NUL)
			api_fail(p, "the body contains a NUL byte");
		else if (f.kind == OMT_JSON_TRAILING)
			api_fail(p, "not JSON: something after the object at byte %zu", f.at);
		else if (f.kind == OMT_JSON_TRUNCATED)
			api_fail(p, "not JSON: it ends early");
		else
			api_fail(p, "not JSON: %s at byte %zu", json_tokener_error_desc(f.error), f.at);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		*ret = -EINVAL;
		api_fail(p, "not a JSON object: %s", api_show_json(p, o));
		json_object_put(o);
		return NULL;
	}
	return o;
}

int api_parse_answer(const char *json, size_t len, size_t max, char *err, size_t errlen,
		     int (*fn)(struct api_parser *p, json_object *o, void *out),
		     void *out)
{
	struct api_parser p = { .err = err, .errlen = errlen };
	json_object *o;
	int ret;

	o = api_parse(&p, json, len, max, &ret);
	if (!o)
		return ret;
	ret = fn(&p, o, out);
	json_object_put(o);
	if (!ret && err && errlen)
		err[0] = '\0';
	return ret;
}

/* Requests are refused with an unknown field: a typo must not become a default. */
int api_only_known(struct api_parser *p, json_object *o, const char *prefix,
		   const char *const *known)
{
	json_object_object_foreach(o, key, val) {
		size_t i;

		(void)val;
		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (!known[i])
			return api_fail(p, "unknown field '%s%s'", prefix,
					escape(p, key, strlen(key), 0));
	}
	return 0;
}

int api_int_member(struct api_parser *p, json_object *o, const char *key,
		   const char *name, int64_t lo, int64_t hi, int64_t *out)
{
	json_object *v;
	int64_t x;

	if (!api_member(o, key, &v))
		return api_fail(p, "%s is missing", name);
	if (!json_object_is_type(v, json_type_int))
		return api_fail(p, "%s must be %" PRId64 "..%" PRId64 ": %s", name, lo, hi,
				api_show_json(p, v));
	/* json-c saturates: past INT64_MAX, and past UINT64_MAX, it reads INT64_MAX. */
	x = json_object_get_int64(v);
	if (x < lo || x > hi || (x == INT64_MAX && json_object_get_uint64(v) > INT64_MAX))
		return api_fail(p, "%s must be %" PRId64 "..%" PRId64 ": %s", name, lo, hi,
				api_show_json(p, v));
	*out = x;
	return 0;
}

int api_str_value(struct api_parser *p, json_object *v, const char *name, size_t max,
		  const char **s, size_t *len)
{
	if (!json_object_is_type(v, json_type_string))
		return api_fail(p, "%s must be a string: %s", name,
				api_show_json(p, v));
	*s = json_object_get_string(v);
	*len = json_object_get_string_len(v);
	if (*len > max)
		return api_fail(p, "%s is longer than %zu bytes: %s", name, max,
				api_show(p, v));
	if (memchr(*s, '\0', *len))
		return api_fail(p, "%s contains a NUL byte: %s", name, api_show(p, v));
	return 0;
}

int api_str_member(struct api_parser *p, json_object *o, const char *key,
		   const char *name, size_t max, json_object **v, const char **s,
		   size_t *len)
{
	if (!api_member(o, key, v))
		return api_fail(p, "%s is missing", name);
	return api_str_value(p, *v, name, max, s, len);
}

int api_b64_member(struct api_parser *p, json_object *o, const char *key, const char *name,
		   size_t max, size_t left, uint8_t **data, size_t *len)
{
	json_object *v;
	const char *s;
	size_t n;
	int err;

	err = api_str_member(p, o, key, name, OMT_B64_LEN(max), &v, &s, &n);
	if (err)
		return err;
	err = omt_b64_decode_alloc(s, n, left, data, len);
	if (err == -EINVAL)
		return api_fail(p, "%s is not base64: %s", name, api_show(p, v));
	return err;
}

/* json-c takes NULL values as JSON null: an allocation failure must not become one. */
int api_add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

int api_append(json_object *a, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

int api_printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

int api_add_str(json_object *o, const char *key, const char *s)
{
	return api_add(o, key, json_object_new_string(s));
}

int api_add_int(json_object *o, const char *key, int64_t x)
{
	return api_add(o, key, json_object_new_int64(x));
}

int api_finish(json_object *o, int err, size_t max, char **json_out)
{
	const char *s;

	*json_out = NULL;
	if (!err) {
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
		if (!s)
			err = -ENOMEM;
		else if (strlen(s) > max)
			err = -E2BIG;
		else if (!(*json_out = strdup(s)))
			err = -ENOMEM;
	}
	json_object_put(o);
	return err;
}
