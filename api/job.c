// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "../vpn/endpoint.h"
#include "job.h"
#include "keys.h"

#define SHOWN_MAX 64
#define JSON_DEPTH 8
#define CHUNK_B64_LEN (sodium_base64_ENCODED_LEN(OMT_JOB_CHUNK_MAX, \
						 sodium_base64_VARIANT_ORIGINAL) - 1)

static const char *const state_names[] = {
	[OMT_JOB_QUEUED] = "queued",
	[OMT_JOB_RUNNING] = "running",
	[OMT_JOB_DONE] = "done",
	[OMT_JOB_FAILED] = "failed",
	[OMT_JOB_CANCELLED] = "cancelled",
};
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == OMT_JOB__STATE_COUNT,
	       "every state needs a name");

static const char *const stream_names[2] = { "stdout", "stderr" };
static const char *const stream_next_names[2] = { "stdout_next", "stderr_next" };

struct parser {
	char *err;
	size_t errlen;
	char shown[SHOWN_MAX * 4 + 8];
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *p, const char *fmt, ...)
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
 * Up to SHOWN_MAX bytes of s, anything but printable ASCII escaped: the
 * message goes to logs, terminals and the consumer. One per message.
 */
static const char *escape(struct parser *p, const char *s, size_t len, int quoted)
{
	static const char hex[] = "0123456789abcdef";
	char *o = p->shown;
	size_t i;

	if (quoted)
		*o++ = '\'';
	for (i = 0; i < len && i < SHOWN_MAX; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			*o++ = c;
		} else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	if (i < len) {
		memcpy(o, "...", 3);
		o += 3;
	}
	if (quoted)
		*o++ = '\'';
	*o = '\0';
	return p->shown;
}

/* A string value, in quotes. */
static const char *show(struct parser *p, json_object *v)
{
	return escape(p, json_object_get_string(v), json_object_get_string_len(v), 1);
}

/* Any value, as its JSON text: 0, "4", [1,2]. */
static const char *show_json(struct parser *p, json_object *v)
{
	const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);

	return escape(p, s ? s : "?", s ? strlen(s) : 1, 0);
}

static json_object *parse_json(struct parser *p, const char *json, size_t len, size_t max,
			       int *ret)
{
	struct json_tokener *tok;
	enum json_tokener_error e;
	json_object *o;
	size_t end;

	*ret = -E2BIG;
	if (len > max) {
		fail(p, "the body is larger than %zu bytes: %zu", max, len);
		return NULL;
	}
	*ret = -EINVAL;
	if (memchr(json, '\0', len)) {
		fail(p, "the body contains a NUL byte");
		return NULL;
	}
	*ret = -ENOMEM;
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok) {
		fail(p, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, json, len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	*ret = -EINVAL;
	if (!o || e != json_tokener_success || end != len) {
		if (o && e == json_tokener_success)
			fail(p, "not JSON: something after the object at byte %zu", end);
		else if (e == json_tokener_continue || e == json_tokener_success)
			fail(p, "not JSON: it ends early");
		else
			fail(p, "not JSON: %s at byte %zu", json_tokener_error_desc(e), end);
		json_object_put(o);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		fail(p, "not a JSON object: %s", show_json(p, o));
		json_object_put(o);
		return NULL;
	}
	*ret = 0;
	return o;
}

/* Requests are refused with an unknown field: a typo must not become a default. */
static int only_known(struct parser *p, json_object *o, const char *prefix,
		      const char *const *known)
{
	json_object_object_foreach(o, key, val) {
		size_t i;

		(void)val;
		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (!known[i])
			return fail(p, "unknown field '%s%s'", prefix,
				    escape(p, key, strlen(key), 0));
	}
	return 0;
}

/* 1 and *v (NULL for null) if present, 0 if absent. */
static int member(json_object *o, const char *key, json_object **v)
{
	return json_object_object_get_ex(o, key, v);
}

static int int_member(struct parser *p, json_object *o, const char *key, const char *name,
		      int64_t lo, int64_t hi, int64_t *out)
{
	json_object *v;
	int64_t x;

	if (!member(o, key, &v))
		return fail(p, "%s is missing", name);
	if (!json_object_is_type(v, json_type_int))
		return fail(p, "%s must be %" PRId64 "..%" PRId64 ": %s", name, lo, hi,
			    show_json(p, v));
	/* json-c saturates: past INT64_MAX, and past UINT64_MAX, it reads INT64_MAX. */
	x = json_object_get_int64(v);
	if (x < lo || x > hi || (x == INT64_MAX && json_object_get_uint64(v) > INT64_MAX))
		return fail(p, "%s must be %" PRId64 "..%" PRId64 ": %s", name, lo, hi,
			    show_json(p, v));
	*out = x;
	return 0;
}

static int uint_member(struct parser *p, json_object *o, const char *key, unsigned int lo,
		       unsigned int hi, unsigned int def, unsigned int *out)
{
	int64_t x;
	int err;

	if (!member(o, key, NULL)) {
		*out = def;
		return 0;
	}
	err = int_member(p, o, key, key, lo, hi, &x);
	if (!err)
		*out = x;
	return err;
}

/* A string without NUL bytes, of at most max bytes. */
static int str_value(struct parser *p, json_object *v, const char *name, size_t max,
		     const char **s, size_t *len)
{
	if (!json_object_is_type(v, json_type_string))
		return fail(p, "%s must be a string: %s", name, show_json(p, v));
	*s = json_object_get_string(v);
	*len = json_object_get_string_len(v);
	if (*len > max)
		return fail(p, "%s is longer than %zu bytes: %s", name, max, show(p, v));
	if (memchr(*s, '\0', *len))
		return fail(p, "%s contains a NUL byte: %s", name, show(p, v));
	return 0;
}

static int str_member(struct parser *p, json_object *o, const char *key, const char *name,
		      size_t max, json_object **v, const char **s, size_t *len)
{
	if (!member(o, key, v))
		return fail(p, "%s is missing", name);
	return str_value(p, *v, name, max, s, len);
}

/* "a.b.c.d/N", the prefix required. */
static int parse_cidr(const char *s, struct omt_cidr4 *c)
{
	const char *slash = strchr(s, '/');
	uint64_t prefix;
	char ip[16];

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, slash - s);
	ip[slash - s] = '\0';
	if (omt_parse_ipv4(ip, c->ip) || omt_parse_decimal(slash + 1, 32, &prefix))
		return -EINVAL;
	c->prefix = prefix;
	return 0;
}

static uint32_t ip_u32(const uint8_t ip[4])
{
	return (uint32_t)ip[0] << 24 | ip[1] << 16 | ip[2] << 8 | ip[3];
}

static uint32_t prefix_mask(unsigned int prefix)
{
	return prefix ? ~(uint32_t)0 << (32 - prefix) : 0;
}

static void format_ip(char buf[16], const uint8_t ip[4])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
}

static void format_cidr(char buf[20], const struct omt_cidr4 *c)
{
	snprintf(buf, 20, "%u.%u.%u.%u/%u", c->ip[0], c->ip[1], c->ip[2], c->ip[3], c->prefix);
}

static int parse_endpoint(struct parser *p, json_object *vpn, struct omt_job_vpn *out)
{
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = str_member(p, vpn, "endpoint", "vpn.endpoint", 64, &v, &s, &n);
	if (err)
		return err;
	if (omt_parse_endpoint(s, out->endpoint_ip, &out->endpoint_port))
		return fail(p, "vpn.endpoint must be a literal IPv4:PORT: %s", show(p, v));
	/* None of these can be a consumer's server: 0/8, loopback, multicast and up. */
	if (out->endpoint_ip[0] == 0 || out->endpoint_ip[0] == 127 || out->endpoint_ip[0] >= 224)
		return fail(p, "vpn.endpoint is not a unicast address: %s", show(p, v));
	return 0;
}

static int parse_vm_address(struct parser *p, json_object *vpn, struct omt_job_vpn *out)
{
	struct omt_cidr4 *c = &out->vm_address;
	uint32_t host;
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = str_member(p, vpn, "vm_address", "vpn.vm_address", 64, &v, &s, &n);
	if (err)
		return err;
	if (parse_cidr(s, c) || c->prefix < 8 || c->prefix > 30)
		return fail(p, "vpn.vm_address must be IPv4/PREFIX with a prefix of 8..30: %s",
			    show(p, v));
	host = ip_u32(c->ip) & ~prefix_mask(c->prefix);
	if (host == 0)
		return fail(p, "vpn.vm_address is its subnet's network address: %s", show(p, v));
	if (host == ~prefix_mask(c->prefix))
		return fail(p, "vpn.vm_address is its subnet's broadcast address: %s",
			    show(p, v));
	return 0;
}

static int parse_allowed_ips(struct parser *p, json_object *vpn, struct omt_job_vpn *out)
{
	char name[32];
	json_object *a;
	size_t i, n;

	if (!member(vpn, "allowed_ips", &a))
		return fail(p, "vpn.allowed_ips is missing");
	if (!json_object_is_type(a, json_type_array))
		return fail(p, "vpn.allowed_ips must be an array of IPv4/PREFIX: %s",
			    show_json(p, a));
	n = json_object_array_length(a);
	if (n < 1 || n > OMT_JOB_MAX_ALLOWED_IPS)
		return fail(p, "vpn.allowed_ips must have 1..%d entries: %zu",
			    OMT_JOB_MAX_ALLOWED_IPS, n);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		struct omt_cidr4 *c = &out->allowed_ips[i];
		const char *s;
		size_t len;
		uint32_t net;
		int err;

		snprintf(name, sizeof(name), "vpn.allowed_ips[%zu]", i);
		err = str_value(p, v, name, 64, &s, &len);
		if (err)
			return err;
		if (parse_cidr(s, c))
			return fail(p, "%s is not an IPv4/PREFIX: %s", name, show(p, v));
		/* As wg does. */
		net = ip_u32(c->ip) & prefix_mask(c->prefix);
		c->ip[0] = net >> 24;
		c->ip[1] = net >> 16;
		c->ip[2] = net >> 8;
		c->ip[3] = net;
	}
	out->n_allowed_ips = n;
	return 0;
}

static int parse_consumer_address(struct parser *p, json_object *vpn, struct omt_job_vpn *out)
{
	uint32_t mask = prefix_mask(out->vm_address.prefix), ip, vm;
	char subnet[20];
	struct omt_cidr4 net;
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = str_member(p, vpn, "consumer_address", "vpn.consumer_address", 64, &v, &s, &n);
	if (err)
		return err;
	if (omt_parse_ipv4(s, out->consumer_address))
		return fail(p, "vpn.consumer_address is not an IPv4 address: %s", show(p, v));
	ip = ip_u32(out->consumer_address);
	vm = ip_u32(out->vm_address.ip);
	if ((ip & mask) != (vm & mask)) {
		net.ip[0] = (vm & mask) >> 24;
		net.ip[1] = (vm & mask) >> 16;
		net.ip[2] = (vm & mask) >> 8;
		net.ip[3] = vm & mask;
		net.prefix = out->vm_address.prefix;
		format_cidr(subnet, &net);
		return fail(p, "vpn.consumer_address is outside vpn.vm_address's subnet %s: %s",
			    subnet, show(p, v));
	}
	if (ip == vm)
		return fail(p, "vpn.consumer_address is vpn.vm_address: %s", show(p, v));
	if (!(ip & ~mask) || (ip & ~mask) == ~mask)
		return fail(p, "vpn.consumer_address is its subnet's %s address: %s",
			    ip & ~mask ? "broadcast" : "network", show(p, v));
	return 0;
}

static int parse_vpn(struct parser *p, json_object *o, struct omt_job_vpn *out)
{
	static const char *const known[] = { "endpoint", "public_key", "vm_address",
					     "allowed_ips", "consumer_address", NULL };
	json_object *vpn, *v;
	const char *s;
	size_t n;
	int err;

	if (!member(o, "vpn", &vpn))
		return fail(p, "vpn is missing");
	if (!json_object_is_type(vpn, json_type_object))
		return fail(p, "vpn must be an object: %s", show_json(p, vpn));
	err = only_known(p, vpn, "vpn.", known);
	if (!err)
		err = parse_endpoint(p, vpn, out);
	if (!err)
		err = str_member(p, vpn, "public_key", "vpn.public_key", 64, &v, &s, &n);
	if (!err && omt_key_from_b64(s, out->public_key))
		err = fail(p, "vpn.public_key is not a base64 32-byte key: %s", show(p, v));
	if (!err)
		err = parse_vm_address(p, vpn, out);
	if (!err)
		err = parse_allowed_ips(p, vpn, out);
	if (!err)
		err = parse_consumer_address(p, vpn, out);
	return err;
}

static char *dup_str(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static int parse_description(struct parser *p, json_object *o, struct omt_job_request *r)
{
	const char *s = "";
	json_object *v;
	size_t n = 0, i;
	int err;

	if (member(o, "description", &v)) {
		err = str_value(p, v, "description", OMT_JOB_MAX_DESCRIPTION, &s, &n);
		if (err)
			return err;
		/* It ends up in one log line. */
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return fail(p, "description contains a control character: %s",
					    show(p, v));
	}
	r->description = dup_str(s, n);
	return r->description ? 0 : -ENOMEM;
}

static int parse_command(struct parser *p, json_object *a, struct omt_job_request *r)
{
	char name[32];
	size_t i, n;

	if (!json_object_is_type(a, json_type_array))
		return fail(p, "command must be an array of strings: %s", show_json(p, a));
	n = json_object_array_length(a);
	if (n < 1 || n > OMT_JOB_MAX_ARGS)
		return fail(p, "command must have 1..%d arguments: %zu", OMT_JOB_MAX_ARGS, n);
	r->command = calloc(n + 1, sizeof(*r->command));
	if (!r->command)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		const char *s;
		size_t len;
		int err;

		snprintf(name, sizeof(name), "command[%zu]", i);
		err = str_value(p, v, name, OMT_JOB_MAX_ARG, &s, &len);
		if (err)
			return err;
		if (i == 0 && !len)
			return fail(p, "command[0] is empty");
		r->command[i] = dup_str(s, len);
		if (!r->command[i])
			return -ENOMEM;
		r->n_command = i + 1;
	}
	return 0;
}

static int parse_script(struct parser *p, json_object *v, struct omt_job_request *r)
{
	const char *s;
	size_t n;
	int err;

	err = str_value(p, v, "script", OMT_JOB_MAX_SCRIPT, &s, &n);
	if (err)
		return err;
	if (!n)
		return fail(p, "script is empty");
	r->script = dup_str(s, n);
	if (!r->script)
		return -ENOMEM;
	r->script_len = n;
	return 0;
}

static int parse_request(struct parser *p, json_object *o, struct omt_job_request *r)
{
	static const char *const known[] = { "description", "command", "script", "cpus",
					     "memory_mib", "timeout_s", "vpn", NULL };
	json_object *cmd, *script;
	int has_cmd, has_script, err;

	err = only_known(p, o, "", known);
	if (err)
		return err;
	err = parse_description(p, o, r);
	if (err)
		return err;
	has_cmd = member(o, "command", &cmd);
	has_script = member(o, "script", &script);
	if (has_cmd && has_script)
		return fail(p, "give either command or script, not both");
	if (!has_cmd && !has_script)
		return fail(p, "command or script is missing");
	err = has_cmd ? parse_command(p, cmd, r) : parse_script(p, script, r);
	if (!err)
		err = uint_member(p, o, "cpus", OMT_JOB_MIN_CPUS, OMT_JOB_MAX_CPUS,
				  OMT_JOB_DEFAULT_CPUS, &r->cpus);
	if (!err)
		err = uint_member(p, o, "memory_mib", OMT_JOB_MIN_MEMORY_MIB,
				  OMT_JOB_MAX_MEMORY_MIB, OMT_JOB_DEFAULT_MEMORY_MIB,
				  &r->memory_mib);
	if (!err)
		err = uint_member(p, o, "timeout_s", OMT_JOB_MIN_TIMEOUT_S, OMT_JOB_MAX_TIMEOUT_S,
				  OMT_JOB_DEFAULT_TIMEOUT_S, &r->timeout_s);
	if (!err)
		err = parse_vpn(p, o, &r->vpn);
	return err;
}

int omt_job_request_parse(const char *json, size_t len, struct omt_job_request *out,
			  char *err, size_t errlen)
{
	struct parser p = { .err = err, .errlen = errlen };
	json_object *o;
	int ret;

	memset(out, 0, sizeof(*out));
	o = parse_json(&p, json, len, OMT_JOB_MAX_BODY, &ret);
	if (!o)
		return ret;
	ret = parse_request(&p, o, out);
	json_object_put(o);
	if (ret == -ENOMEM)
		fail(&p, "out of memory");
	if (ret)
		omt_job_request_free(out);
	else if (err && errlen)
		err[0] = '\0';
	return ret;
}

void omt_job_request_free(struct omt_job_request *r)
{
	unsigned int i;

	free(r->description);
	if (r->command)
		for (i = 0; r->command[i]; i++)
			free(r->command[i]);
	free(r->command);
	free(r->script);
	memset(r, 0, sizeof(*r));
}

/* json-c takes NULL values as JSON null: an allocation failure must not become one. */
static int add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int append(json_object *a, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_str(json_object *o, const char *key, const char *s)
{
	return add(o, key, json_object_new_string(s));
}

static int add_int(json_object *o, const char *key, int64_t x)
{
	return add(o, key, json_object_new_int64(x));
}

/* Puts o in *json_out and releases o. */
static int finish(json_object *o, int err, size_t max, char **json_out)
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

static int format_vpn(json_object *o, const struct omt_job_vpn *v)
{
	char buf[32], key[OMT_KEY_B64_LEN + 1];
	json_object *vpn = json_object_new_object(), *a;
	unsigned int i;
	int err;

	err = add(o, "vpn", vpn);
	if (err)
		return err;
	snprintf(buf, sizeof(buf), "%u.%u.%u.%u:%u", v->endpoint_ip[0], v->endpoint_ip[1],
		 v->endpoint_ip[2], v->endpoint_ip[3], v->endpoint_port);
	err = add_str(vpn, "endpoint", buf);
	omt_key_b64(v->public_key, key);
	if (!err)
		err = add_str(vpn, "public_key", key);
	format_cidr(buf, &v->vm_address);
	if (!err)
		err = add_str(vpn, "vm_address", buf);
	a = json_object_new_array();
	if (!err)
		err = add(vpn, "allowed_ips", a);
	else
		json_object_put(a);
	for (i = 0; !err && i < v->n_allowed_ips && i < OMT_JOB_MAX_ALLOWED_IPS; i++) {
		format_cidr(buf, &v->allowed_ips[i]);
		err = append(a, json_object_new_string(buf));
	}
	format_ip(buf, v->consumer_address);
	if (!err)
		err = add_str(vpn, "consumer_address", buf);
	return err;
}

int omt_job_request_format(const struct omt_job_request *r, char **json_out)
{
	json_object *o, *a;
	unsigned int i;
	int err;

	*json_out = NULL;
	if (!r->command == !r->script)
		return -EINVAL;
	if (r->script && r->script_len > OMT_JOB_MAX_BODY)
		return -E2BIG;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	err = add_str(o, "description", r->description ? r->description : "");
	if (!err && r->command) {
		a = json_object_new_array();
		err = add(o, "command", a);
		for (i = 0; !err && i < r->n_command; i++)
			err = r->command[i] ? append(a, json_object_new_string(r->command[i])) :
			      -EINVAL;
	} else if (!err) {
		err = add(o, "script", json_object_new_string_len(r->script, r->script_len));
	}
	if (!err)
		err = add_int(o, "cpus", r->cpus);
	if (!err)
		err = add_int(o, "memory_mib", r->memory_mib);
	if (!err)
		err = add_int(o, "timeout_s", r->timeout_s);
	if (!err)
		err = format_vpn(o, &r->vpn);
	return finish(o, err, OMT_JOB_MAX_BODY, json_out);
}

const char *omt_job_state_name(enum omt_job_state s)
{
	return (unsigned int)s < OMT_JOB__STATE_COUNT ? state_names[s] : "unknown";
}

int omt_job_id_check(const char *s)
{
	size_t i;

	for (i = 0; i < OMT_JOB_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -EINVAL;
	return s[i] ? -EINVAL : 0;
}

int omt_job_offset_parse(const char *s, uint64_t *out)
{
	return omt_parse_decimal(s, INT64_MAX, out);
}

static int outcome_check(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i == OMT_JOB_MAX_OUTCOME ||
		    !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return -EINVAL;
	return i ? 0 : -EINVAL;
}

static int job_member(struct parser *p, json_object *o, char job[OMT_JOB_ID_LEN + 1])
{
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = str_member(p, o, "job", "job", 64, &v, &s, &n);
	if (err)
		return err;
	if (omt_job_id_check(s))
		return fail(p, "job is not %d lowercase hex digits: %s", OMT_JOB_ID_LEN, show(p, v));
	memcpy(job, s, OMT_JOB_ID_LEN + 1);
	return 0;
}

static int state_member(struct parser *p, json_object *o, enum omt_job_state *state)
{
	const char *s;
	json_object *v;
	size_t n;
	int i, err;

	err = str_member(p, o, "state", "state", 64, &v, &s, &n);
	if (err)
		return err;
	for (i = 0; i < OMT_JOB__STATE_COUNT; i++) {
		if (!strcmp(s, state_names[i])) {
			*state = i;
			return 0;
		}
	}
	return fail(p, "state is not one of queued, running, done, failed, cancelled: %s",
		    show(p, v));
}

/* The answers share the envelope: bounded body, one object. */
static int parse_answer(const char *json, size_t len, char *err, size_t errlen,
			int (*fn)(struct parser *p, json_object *o, void *out), void *out)
{
	struct parser p = { .err = err, .errlen = errlen };
	json_object *o;
	int ret;

	o = parse_json(&p, json, len, OMT_JOB_MAX_ANSWER, &ret);
	if (!o)
		return ret;
	ret = fn(&p, o, out);
	json_object_put(o);
	if (!ret && err && errlen)
		err[0] = '\0';
	return ret;
}

static int accept_fields(struct parser *p, json_object *o, void *out)
{
	struct omt_job_accept *a = out;
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = job_member(p, o, a->job);
	if (!err)
		err = str_member(p, o, "vm_public_key", "vm_public_key", 64, &v, &s, &n);
	if (!err && omt_key_from_b64(s, a->vm_public_key))
		err = fail(p, "vm_public_key is not a base64 32-byte key: %s", show(p, v));
	if (!err)
		err = state_member(p, o, &a->state);
	return err;
}

int omt_job_accept_parse(const char *json, size_t len, struct omt_job_accept *out,
			 char *err, size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_answer(json, len, err, errlen, accept_fields, out);
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

int omt_job_accept_format(const struct omt_job_accept *a, char **json_out)
{
	char key[OMT_KEY_B64_LEN + 1];
	json_object *o;
	int err;

	*json_out = NULL;
	if (!memchr(a->job, '\0', sizeof(a->job)) || omt_job_id_check(a->job) ||
	    (unsigned int)a->state >= OMT_JOB__STATE_COUNT)
		return -EINVAL;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	omt_key_b64(a->vm_public_key, key);
	err = add_str(o, "job", a->job);
	if (!err)
		err = add_str(o, "vm_public_key", key);
	if (!err)
		err = add_str(o, "state", state_names[a->state]);
	return finish(o, err, OMT_JOB_MAX_ANSWER, json_out);
}

static int status_fields(struct parser *p, json_object *o, void *out)
{
	struct omt_job_status *st = out;
	const char *s;
	json_object *v;
	int64_t x;
	size_t n;
	int err;

	err = job_member(p, o, st->job);
	if (!err)
		err = state_member(p, o, &st->state);
	if (!err && member(o, "outcome", &v)) {
		err = str_value(p, v, "outcome", 64, &s, &n);
		if (!err && outcome_check(s))
			err = fail(p, "outcome is not 1..%d of [a-z0-9_]: %s", OMT_JOB_MAX_OUTCOME,
				   show(p, v));
		if (!err)
			memcpy(st->outcome, s, n + 1);
	}
	st->exit_status = -1;
	if (!err && member(o, "exit_status", NULL)) {
		err = int_member(p, o, "exit_status", "exit_status", 0, 255, &x);
		if (!err)
			st->exit_status = x;
	}
	return err;
}

int omt_job_status_parse(const char *json, size_t len, struct omt_job_status *out,
			 char *err, size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_answer(json, len, err, errlen, status_fields, out);
	if (ret) {
		memset(out, 0, sizeof(*out));
		out->exit_status = -1;
	}
	return ret;
}

int omt_job_status_format(const struct omt_job_status *s, char **json_out)
{
	json_object *o;
	int err;

	*json_out = NULL;
	if (!memchr(s->job, '\0', sizeof(s->job)) || omt_job_id_check(s->job) ||
	    (unsigned int)s->state >= OMT_JOB__STATE_COUNT ||
	    !memchr(s->outcome, '\0', sizeof(s->outcome)) ||
	    (s->outcome[0] && outcome_check(s->outcome)) ||
	    s->exit_status < -1 || s->exit_status > 255)
		return -EINVAL;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	err = add_str(o, "job", s->job);
	if (!err)
		err = add_str(o, "state", state_names[s->state]);
	if (!err && s->outcome[0])
		err = add_str(o, "outcome", s->outcome);
	if (!err && s->exit_status >= 0)
		err = add_int(o, "exit_status", s->exit_status);
	return finish(o, err, OMT_JOB_MAX_ANSWER, json_out);
}

/* What well-formed padded base64 of n characters holds (0 for any other n). */
static size_t b64_decoded_len(const char *s, size_t n)
{
	if (!n || n % 4)
		return 0;
	return n / 4 * 3 - (s[n - 1] == '=') - (s[n - 2] == '=');
}

static int output_fields(struct parser *p, json_object *o, void *out)
{
	struct omt_job_output *put = out;
	json_object *v;
	int i, err = 0;

	for (i = 0; i < 2 && !err; i++) {
		const char *name = stream_names[i], *s;
		int64_t next;
		size_t n;

		err = str_member(p, o, name, name, CHUNK_B64_LEN, &v, &s, &n);
		if (err)
			return err;
		if (b64_decoded_len(s, n) > OMT_JOB_CHUNK_MAX)
			return fail(p, "%s holds more than %d bytes: %s", name, OMT_JOB_CHUNK_MAX,
				    show(p, v));
		if (sodium_base642bin(put->stream[i].data, OMT_JOB_CHUNK_MAX, s, n, NULL,
				      &put->stream[i].len, NULL, sodium_base64_VARIANT_ORIGINAL))
			return fail(p, "%s is not base64: %s", name, show(p, v));
		err = int_member(p, o, stream_next_names[i], stream_next_names[i], 0, INT64_MAX,
				 &next);
		if (!err && (uint64_t)next < put->stream[i].len)
			err = fail(p, "%s is less than the %zu bytes of %s: %" PRId64,
				   stream_next_names[i], put->stream[i].len, name, next);
		put->stream[i].next = next;
	}
	if (err)
		return err;
	if (!member(o, "done", &v))
		return fail(p, "done is missing");
	if (!json_object_is_type(v, json_type_boolean))
		return fail(p, "done must be true or false: %s", show_json(p, v));
	put->done = json_object_get_boolean(v);
	return 0;
}

int omt_job_output_parse(const char *json, size_t len, struct omt_job_output *out,
			 char *err, size_t errlen)
{
	int ret, i;

	for (i = 0; i < 2; i++)
		out->stream[i].next = out->stream[i].len = 0;
	out->done = 0;
	ret = parse_answer(json, len, err, errlen, output_fields, out);
	if (ret) {
		for (i = 0; i < 2; i++)
			out->stream[i].next = out->stream[i].len = 0;
		out->done = 0;
	}
	return ret;
}

int omt_job_output_format(const struct omt_job_output *o, char **json_out)
{
	char *b64 = NULL;
	json_object *j;
	int i, err = 0;

	*json_out = NULL;
	for (i = 0; i < 2; i++)
		if (o->stream[i].len > OMT_JOB_CHUNK_MAX || o->stream[i].next > INT64_MAX ||
		    o->stream[i].next < o->stream[i].len)
			return -EINVAL;
	j = json_object_new_object();
	b64 = malloc(CHUNK_B64_LEN + 1);
	if (!j || !b64) {
		json_object_put(j);
		free(b64);
		return -ENOMEM;
	}
	for (i = 0; i < 2 && !err; i++) {
		sodium_bin2base64(b64, CHUNK_B64_LEN + 1, o->stream[i].data, o->stream[i].len,
				  sodium_base64_VARIANT_ORIGINAL);
		err = add_str(j, stream_names[i], b64);
	}
	for (i = 0; i < 2 && !err; i++)
		err = add_int(j, stream_next_names[i], o->stream[i].next);
	if (!err)
		err = add(j, "done", json_object_new_boolean(o->done));
	free(b64);
	return finish(j, err, OMT_JOB_MAX_ANSWER, json_out);
}
