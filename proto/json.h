/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading the JSON the processes hand each other (proto/job_spec.h,
 * proto/exec_result.h): one bounded object, and its members by type. A
 * member of the wrong type, out of range or too long is -EINVAL; a missing
 * one (or null) -ENOENT, which a caller may take as "the default".
 */
#ifndef OMERTA_PROTO_JSON_H
#define OMERTA_PROTO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/*
 * The whole of s's len bytes (no NUL in them, nothing after the object) as
 * one JSON object at most depth deep, or NULL.
 */
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
