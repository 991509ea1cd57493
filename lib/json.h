/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading JSON that another process wrote: one bounded value (every parser
 * of ours starts here), and an object's members by type. A member of the
 * wrong type, out of range or too long is -EINVAL; a missing one (or null)
 * -ENOENT, which a caller may take as "the default".
 */
#ifndef OMERTA_JSON_H
#define OMERTA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Why a text is not one JSON value, for a message that says so. */
struct omt_json_fault {
	enum {
		OMT_JSON_NUL = 1,	/* a NUL byte in it */
		OMT_JSON_TRAILING,	/* something after the value, at byte at */
		OMT_JSON_TRUNCATED,	/* it ends early */
		OMT_JSON_SYNTAX,	/* json-c's error, at byte at */
	} kind;
	size_t at;
	enum json_tokener_error error;
};

/*
 * The whole of s's len bytes (no NUL in them, nothing after the value) as
 * one JSON value at most depth deep, read with json-c's tokener flags
 * (JSON_TOKENER_STRICT, ...). 0 and *out (json_object_put it); -EINVAL
 * with *fault (may be NULL) saying why; -E2BIG past INT32_MAX bytes;
 * -ENOMEM.
 */
int omt_json_parse(const char *s, size_t len, int depth, int flags, json_object **out,
		   struct omt_json_fault *fault);
/* The same, but only an object, flags 0, and NULL for anything else. */
json_object *omt_json_parse_object(const char *s, size_t len, int depth);
/* A string member of at most max bytes, without NUL; *out is o's own. */
int omt_json_string(json_object *o, const char *key, size_t max, const char **out);
/* An integer member in lo..hi. */
int omt_json_int(json_object *o, const char *key, int64_t lo, int64_t hi, int64_t *out);
int omt_json_bool(json_object *o, const char *key, bool *out);
/* A number member (an integer too), finite. */
int omt_json_double(json_object *o, const char *key, double *out);
/* A member of type t (json_type_array, json_type_object). */
int omt_json_member(json_object *o, const char *key, json_type t, json_object **out);

#endif
