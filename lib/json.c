// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <string.h>

#include "json.h"

int omt_json_parse(const char *s, size_t len, int depth, int flags, json_object **out,
		   struct omt_json_fault *fault)
{
	struct omt_json_fault f = {};
	struct json_tokener *tok;
	json_object *o;

	*out = NULL;
	if (len > INT32_MAX)
		return -E2BIG;
	if (memchr(s, '\0', len)) {
		f.kind = OMT_JSON_NUL;
		goto invalid;
	}
	tok = json_tokener_new_ex(depth);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, flags);
	o = json_tokener_parse_ex(tok, s, len);
	f.error = json_tokener_get_error(tok);
	f.at = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (o && f.error == json_tokener_success && f.at == len) {
		*out = o;
		return 0;
	}
	if (o && f.error == json_tokener_success)
		f.kind = OMT_JSON_TRAILING;
	else if (f.error == json_tokener_continue || f.error == json_tokener_success)
		f.kind = OMT_JSON_TRUNCATED;
	else
		f.kind = OMT_JSON_SYNTAX;
	json_object_put(o);
invalid:
	if (fault)
		*fault = f;
	return -EINVAL;
}

json_object *omt_json_parse_object(const char *s, size_t len, int depth)
{
	json_object *o;

	if (omt_json_parse(s, len, depth, 0, &o, NULL))
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int member(json_object *o, const char *key, json_type t, json_object **v)
{
	if (!json_object_object_get_ex(o, key, v) || !*v)
		return -ENOENT;
	return json_object_is_type(*v, t) ? 0 : -EINVAL;
}

int omt_json_member(json_object *o, const char *key, json_type t, json_object **out)
{
	return member(o, key, t, out);
}

int omt_json_string(json_object *o, const char *key, size_t max, const char **out)
{
	json_object *v;
	int e = member(o, key, json_type_string, &v);
	size_t len;

	if (e)
		return e;
	*out = json_object_get_string(v);
	len = json_object_get_string_len(v);
	return len > max || strlen(*out) != len ? -EINVAL : 0;
}

int omt_json_int(json_object *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	json_object *v;
	int e = member(o, key, json_type_int, &v);

	if (e)
		return e;
	errno = 0;
	*out = json_object_get_int64(v);
	/* json-c clamps what does not fit into int64 and says so in errno. */
	return errno || *out < lo || *out > hi ? -EINVAL : 0;
}

int omt_json_bool(json_object *o, const char *key, bool *out)
{
	json_object *v;
	int e = member(o, key, json_type_boolean, &v);

	if (e)
		return e;
	*out = json_object_get_boolean(v);
	return 0;
}

int omt_json_double(json_object *o, const char *key, double *out)
{
	json_object *v;
	int e = member(o, key, json_type_double, &v);

	if (e == -EINVAL && json_object_is_type(v, json_type_int))
		e = 0;
	if (e)
		return e;
	*out = json_object_get_double(v);
	return isfinite(*out) ? 0 : -EINVAL;
}
