/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The JSON layer under the job messages (job.h), internal to api/: a
 * bounded parse of one object, member getters that refuse what is out of
 * bounds with one line of printable ASCII naming the field and its value,
 * and the helpers that build a message with json-c.
 */
#ifndef OMERTA_API_JSON_H
#define OMERTA_API_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "../lib/text.h"

#define API_SHOWN_MAX 64

/* Where a parse puts its error; a value is shown in it once per message. */
struct api_parser {
	char *err;			/* may be NULL */
	size_t errlen;
	char shown[OMT_QUOTE_SIZE(API_SHOWN_MAX)];
};

/* Writes the error; returns -EINVAL. */
int api_fail(struct api_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A string value, in quotes: 'abc'. */
const char *api_show(struct api_parser *p, json_object *v);
/* Any value, as its JSON text: 0, "4", [1,2]. */
const char *api_show_json(struct api_parser *p, json_object *v);

/*
 * One JSON object of len bytes, at most max; NULL with *ret set (-E2BIG,
 * -EINVAL or -ENOMEM) and the error written. Release it with json_object_put.
 */
json_object *api_parse(struct api_parser *p, const char *json, size_t len,
			    size_t max, int *ret);
/*
 * The answers' envelope: parses len bytes (at most max) as one object and
 * hands it to fn. 0 (err emptied) or fn's error, or parse's.
 */
int api_parse_answer(const char *json, size_t len, size_t max, char *err, size_t errlen,
			  int (*fn)(struct api_parser *p, json_object *o, void *out),
			  void *out);

/* Refuses a member not named in known (NULL-terminated): "unknown field 'PREFIXKEY'". */
int api_only_known(struct api_parser *p, json_object *o, const char *prefix,
			const char *const *known);

/* 1 and *v (NULL for null; v may be NULL) if present, 0 if absent. */
static inline int api_member(json_object *o, const char *key, json_object **v)
{
	return json_object_object_get_ex(o, key, v);
}

/* An integer lo..hi; name is what errors call it ("vpn.endpoint", "files[2].mode"). */
int api_int_member(struct api_parser *p, json_object *o, const char *key,
			const char *name, int64_t lo, int64_t hi, int64_t *out);
/* A string without NUL bytes, of at most max bytes. */
int api_str_value(struct api_parser *p, json_object *v, const char *name, size_t max,
		       const char **s, size_t *len);
/* The same of a member that must be there; *v is the member. */
int api_str_member(struct api_parser *p, json_object *o, const char *key,
			const char *name, size_t max, json_object **v, const char **s,
			size_t *len);

/*
 * A base64 member that must be there, of at most max bytes in all (which
 * bounds its length), decoded into a fresh allocation of at most left
 * bytes (never NULL on success; free() it). -E2BIG over left, without an
 * error written: the caller says whose bytes are too many.
 */
int api_b64_member(struct api_parser *p, json_object *o, const char *key, const char *name,
		   size_t max, size_t left, uint8_t **data, size_t *len);

/* 1 if the len bytes of s are all printable ASCII (0x20..0x7e), else 0. */
int api_printable(const char *s, size_t len);

/* Adds v under key (or to the array a); NULL v is -ENOMEM, never a JSON null. */
int api_add(json_object *o, const char *key, json_object *v);
int api_append(json_object *a, json_object *v);
int api_add_str(json_object *o, const char *key, const char *s);
int api_add_int(json_object *o, const char *key, int64_t x);
/*
 * Unless err, puts o's text (at most max bytes, else -E2BIG) in *json_out;
 * releases o either way. 0 or -errno.
 */
int api_finish(json_object *o, int err, size_t max, char **json_out);

#endif
