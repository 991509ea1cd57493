// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "../lib/parse.h"
#include "../proto/guest_msg.h"
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

static const char *const image_names[] = {
	[OMT_JOB_IMAGE_DEFAULT] = NULL,
	[OMT_JOB_IMAGE_MINIMAL] = "minimal",
	[OMT_JOB_IMAGE_DEBIAN] = "debian",
};
_Static_assert(sizeof(image_names) / sizeof(image_names[0]) == OMT_JOB__IMAGE_COUNT,
	       "every image needs a name");

static const char *const language_names[] = {
	[OMT_JOB_LANGUAGE_DEFAULT] = NULL,
	[OMT_JOB_LANGUAGE_SH] = "sh",
	[OMT_JOB_LANGUAGE_BASH] = "bash",
	[OMT_JOB_LANGUAGE_PYTHON] = "python",
};
_Static_assert(sizeof(language_names) / sizeof(language_names[0]) == OMT_JOB__LANGUAGE_COUNT,
	       "every language needs a name");

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

/* What well-formed padded base64 of n characters holds (0 for any other n). */
static size_t b64_decoded_len(const char *s, size_t n)
{
	if (!n || n % 4)
		return 0;
	return n / 4 * 3 - (s[n - 1] == '=') - (s[n - 2] == '=');
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

/* Upper bound of what n characters of base64 decode to. */
static size_t b64_max_decoded(size_t n)
{
	return (n + 3) / 4 * 3;
}

static int name_index(const char *s, const char *const *names, int count)
{
	int i;

	for (i = 0; i < count; i++)
		if (names[i] && !strcmp(s, names[i]))
			return i;
	return -EINVAL;
}

/* "image" and "language"; a language other than sh needs the debian image. */
static int parse_image_language(struct parser *p, json_object *o, int has_script,
				struct omt_job_request *r)
{
	json_object *v;
	const char *s;
	size_t n;
	int i, err;

	if (member(o, "image", &v)) {
		err = str_value(p, v, "image", 64, &s, &n);
		if (err)
			return err;
		i = name_index(s, image_names, OMT_JOB__IMAGE_COUNT);
		if (i < 0)
			return fail(p, "image must be 'minimal' or 'debian': %s", show(p, v));
		r->image = i;
	}
	if (!member(o, "language", &v))
		return 0;
	err = str_value(p, v, "language", 64, &s, &n);
	if (err)
		return err;
	i = name_index(s, language_names, OMT_JOB__LANGUAGE_COUNT);
	if (i < 0)
		return fail(p, "language must be 'sh', 'bash' or 'python': %s", show(p, v));
	if (!has_script)
		return fail(p, "language is for a script, not a command: %s", show(p, v));
	r->language = i;
	if (i != OMT_JOB_LANGUAGE_SH && r->image == OMT_JOB_IMAGE_MINIMAL)
		return fail(p, "language %s needs image 'debian' (minimal has only sh)", show(p, v));
	return 0;
}

int omt_job_input_name_check(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > OMT_JOB_MAX_INPUT_NAME || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '/')
			return -EINVAL;
	return 0;
}

static int parse_input(struct parser *p, json_object *v, size_t i, size_t *total,
		       struct omt_job_request *r)
{
	static const char *const known[] = { "name", "data", NULL };
	struct omt_job_input *in = &r->inputs[i];
	char prefix[32], name[40];
	json_object *nv, *dv;
	const char *s, *d;
	size_t n, dn, k, left = OMT_JOB_MAX_INPUT_BYTES - *total;
	int err;

	snprintf(prefix, sizeof(prefix), "inputs[%zu].", i);
	if (!json_object_is_type(v, json_type_object))
		return fail(p, "inputs[%zu] must be an object {\"name\",\"data\"}: %s", i,
			    show_json(p, v));
	err = only_known(p, v, prefix, known);
	if (err)
		return err;
	snprintf(name, sizeof(name), "inputs[%zu].name", i);
	err = str_member(p, v, "name", name, OMT_JOB_MAX_INPUT_NAME, &nv, &s, &n);
	if (err)
		return err;
	if (omt_job_input_name_check(s, n))
		return fail(p, "%s must be a file name (1..%d bytes of printable ASCII, no '/', "
			    "not '.' or '..'): %s", name, OMT_JOB_MAX_INPUT_NAME, show(p, nv));
	for (k = 0; k < i; k++)
		if (!strcmp(r->inputs[k].name, s))
			return fail(p, "%s repeats inputs[%zu].name: %s", name, k, show(p, nv));
	snprintf(name, sizeof(name), "inputs[%zu].data", i);
	err = str_member(p, v, "data", name,
			 sodium_base64_ENCODED_LEN(OMT_JOB_MAX_INPUT_BYTES,
						   sodium_base64_VARIANT_ORIGINAL) - 1,
			 &dv, &d, &dn);
	if (err)
		return err;
	/* Checked before anything is allocated for it. */
	if (b64_decoded_len(d, dn) > left)
		return fail(p, "inputs hold more than %d bytes with inputs[%zu]: %s",
			    OMT_JOB_MAX_INPUT_BYTES, i, show(p, nv));
	in->name = dup_str(s, n);
	in->data = malloc(b64_max_decoded(dn) + 1);
	if (!in->name || !in->data)
		return -ENOMEM;
	if (sodium_base642bin(in->data, b64_max_decoded(dn) + 1, d, dn, NULL, &in->len, NULL,
			      sodium_base64_VARIANT_ORIGINAL))
		return fail(p, "%s is not base64: %s", name, show(p, dv));
	if (in->len > left)
		return fail(p, "inputs hold more than %d bytes with inputs[%zu]: %s",
			    OMT_JOB_MAX_INPUT_BYTES, i, show(p, nv));
	*total += in->len;
	return 0;
}

static int parse_inputs(struct parser *p, json_object *o, struct omt_job_request *r)
{
	json_object *a;
	size_t i, n, total = 0;
	int err;

	if (!member(o, "inputs", &a))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return fail(p, "inputs must be an array of {\"name\",\"data\"}: %s",
			    show_json(p, a));
	n = json_object_array_length(a);
	if (n > OMT_JOB_MAX_INPUTS)
		return fail(p, "inputs must have 0..%d entries: %zu", OMT_JOB_MAX_INPUTS, n);
	if (!n)
		return 0;
	r->inputs = calloc(n, sizeof(*r->inputs));
	if (!r->inputs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		/* Counted first: free() sees every entry that may hold something. */
		r->n_inputs = i + 1;
		err = parse_input(p, json_object_array_get_idx(a, i), i, &total, r);
		if (err)
			return err;
	}
	return 0;
}

static int parse_output_flag(struct parser *p, json_object *o, struct omt_job_request *r)
{
	json_object *v;

	if (!member(o, "output", &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(p, "output must be true or false: %s", show_json(p, v));
	r->output = json_object_get_boolean(v);
	return 0;
}

static int parse_request(struct parser *p, json_object *o, struct omt_job_request *r)
{
	static const char *const known[] = { "description", "command", "script", "cpus",
					     "memory_mib", "timeout_s", "vpn", "image",
					     "language", "inputs", "output", NULL };
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
	if (!err)
		err = parse_image_language(p, o, has_script, r);
	if (!err)
		err = parse_inputs(p, o, r);
	if (!err)
		err = parse_output_flag(p, o, r);
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
	for (i = 0; r->inputs && i < r->n_inputs; i++) {
		free(r->inputs[i].name);
		free(r->inputs[i].data);
	}
	free(r->inputs);
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

static int format_inputs(json_object *o, const struct omt_job_request *r)
{
	json_object *a = json_object_new_array(), *in;
	unsigned int i;
	size_t total = 0;
	char *b64;
	int err;

	err = add(o, "inputs", a);
	for (i = 0; !err && i < r->n_inputs; i++) {
		const struct omt_job_input *x = &r->inputs[i];

		if (!x->name || (!x->data && x->len))
			return -EINVAL;
		/* Bounded before base64 makes it a third larger. */
		total += x->len;
		if (x->len > OMT_JOB_MAX_BODY || total > OMT_JOB_MAX_BODY)
			return -E2BIG;
		b64 = malloc(sodium_base64_ENCODED_LEN(x->len, sodium_base64_VARIANT_ORIGINAL));
		in = json_object_new_object();
		if (!b64 || !in) {
			free(b64);
			json_object_put(in);
			return -ENOMEM;
		}
		sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(x->len,
								 sodium_base64_VARIANT_ORIGINAL),
				  x->data ? x->data : (const uint8_t *)"", x->len,
				  sodium_base64_VARIANT_ORIGINAL);
		err = append(a, in);
		if (!err)
			err = add_str(in, "name", x->name);
		if (!err)
			err = add_str(in, "data", b64);
		free(b64);
	}
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
	if (!err && omt_job_image_name(r->image))
		err = add_str(o, "image", omt_job_image_name(r->image));
	if (!err && omt_job_language_name(r->language))
		err = add_str(o, "language", omt_job_language_name(r->language));
	if (!err && r->n_inputs)
		err = r->inputs ? format_inputs(o, r) : -EINVAL;
	if (!err && r->output)
		err = add(o, "output", json_object_new_boolean(1));
	return finish(o, err, OMT_JOB_MAX_BODY, json_out);
}

const char *omt_job_state_name(enum omt_job_state s)
{
	return (unsigned int)s < OMT_JOB__STATE_COUNT ? state_names[s] : "unknown";
}

const char *omt_job_image_name(enum omt_job_image i)
{
	return (unsigned int)i < OMT_JOB__IMAGE_COUNT ? image_names[i] : NULL;
}

const char *omt_job_language_name(enum omt_job_language l)
{
	return (unsigned int)l < OMT_JOB__LANGUAGE_COUNT ? language_names[l] : NULL;
}

int omt_job_image_parse(const char *s, enum omt_job_image *out)
{
	int i = name_index(s, image_names, OMT_JOB__IMAGE_COUNT);

	if (i < 0)
		return i;
	*out = i;
	return 0;
}

int omt_job_language_parse(const char *s, enum omt_job_language *out)
{
	int i = name_index(s, language_names, OMT_JOB__LANGUAGE_COUNT);

	if (i < 0)
		return i;
	*out = i;
	return 0;
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
static int parse_answer(const char *json, size_t len, size_t max, char *err, size_t errlen,
			int (*fn)(struct parser *p, json_object *o, void *out), void *out)
{
	struct parser p = { .err = err, .errlen = errlen };
	json_object *o;
	int ret;

	o = parse_json(&p, json, len, max, &ret);
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
	ret = parse_answer(json, len, OMT_JOB_MAX_ANSWER, err, errlen, accept_fields, out);
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
	ret = parse_answer(json, len, OMT_JOB_MAX_ANSWER, err, errlen, status_fields, out);
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
	ret = parse_answer(json, len, OMT_JOB_MAX_ANSWER, err, errlen, output_fields, out);
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

/* RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t c, min;

	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1, c &= 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, c &= 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, c &= 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int omt_job_file_path_check(const char *s, size_t len)
{
	int e = omt_msg_check_path(s, len);

	if (e)
		return e;
	return utf8_valid((const unsigned char *)s, len) ? 0 : -EINVAL;
}

static int printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

static int path_value(struct parser *p, json_object *v, const char *name, char **out)
{
	const char *s;
	size_t n;
	int err;

	err = str_value(p, v, name, OMT_MSG_MAX_PATH, &s, &n);
	if (err)
		return err;
	if (omt_job_file_path_check(s, n))
		return fail(p, "%s is not a relative path without empty, '.' or '..' parts: %s",
			    name, show(p, v));
	*out = dup_str(s, n);
	return *out ? 0 : -ENOMEM;
}

static int file_entry(struct parser *p, json_object *v, size_t i, size_t *total,
		      struct omt_job_file *f)
{
	char name[40];
	json_object *pv, *dv;
	const char *d;
	size_t dn, left = OMT_JOB_FILES_MAX_BYTES - *total;
	int64_t mode;
	int err;

	if (!json_object_is_type(v, json_type_object))
		return fail(p, "files[%zu] must be an object {\"path\",\"mode\",\"data\"}: %s", i,
			    show_json(p, v));
	snprintf(name, sizeof(name), "files[%zu].path", i);
	if (!member(v, "path", &pv))
		return fail(p, "%s is missing", name);
	err = path_value(p, pv, name, &f->path);
	if (err)
		return err;
	snprintf(name, sizeof(name), "files[%zu].mode", i);
	err = int_member(p, v, "mode", name, 0, 0777, &mode);
	if (err)
		return err;
	f->mode = mode;
	snprintf(name, sizeof(name), "files[%zu].data", i);
	err = str_member(p, v, "data", name,
			 sodium_base64_ENCODED_LEN(OMT_JOB_FILES_MAX_BYTES,
						   sodium_base64_VARIANT_ORIGINAL) - 1,
			 &dv, &d, &dn);
	if (err)
		return err;
	if (b64_decoded_len(d, dn) > left)
		return fail(p, "files hold more than %d bytes with files[%zu]: %s",
			    OMT_JOB_FILES_MAX_BYTES, i, show(p, pv));
	f->data = malloc(b64_max_decoded(dn) + 1);
	if (!f->data)
		return -ENOMEM;
	if (sodium_base642bin(f->data, b64_max_decoded(dn) + 1, d, dn, NULL, &f->len, NULL,
			      sodium_base64_VARIANT_ORIGINAL))
		return fail(p, "%s is not base64: %s", name, show(p, dv));
	if (f->len > left)
		return fail(p, "files hold more than %d bytes with files[%zu]: %s",
			    OMT_JOB_FILES_MAX_BYTES, i, show(p, pv));
	*total += f->len;
	return 0;
}

static int files_fields(struct parser *p, json_object *o, void *out)
{
	struct omt_job_files *f = out;
	json_object *files, *dirs, *v;
	char name[32];
	const char *s;
	size_t i, nf, nd, n, total = 0;
	int err;

	if (!member(o, "files", &files))
		return fail(p, "files is missing");
	if (!json_object_is_type(files, json_type_array))
		return fail(p, "files must be an array: %s", show_json(p, files));
	if (!member(o, "dirs", &dirs))
		return fail(p, "dirs is missing");
	if (!json_object_is_type(dirs, json_type_array))
		return fail(p, "dirs must be an array: %s", show_json(p, dirs));
	nf = json_object_array_length(files);
	nd = json_object_array_length(dirs);
	if (nf + nd > OMT_JOB_FILES_MAX_ENTRIES)
		return fail(p, "files and dirs hold more than %d entries: %zu",
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
	if (!member(o, "error", &v))
		return 0;
	err = str_value(p, v, "error", OMT_JOB_FILES_MAX_ERROR, &s, &n);
	if (err)
		return err;
	if (!n || !printable(s, n))
		return fail(p, "error must be 1..%d characters of printable ASCII: %s",
			    OMT_JOB_FILES_MAX_ERROR, show(p, v));
	memcpy(f->error, s, n + 1);
	return 0;
}

int omt_job_files_parse(const char *json, size_t len, struct omt_job_files *out, char *err,
			size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_answer(json, len, OMT_JOB_FILES_MAX_ANSWER, err, errlen, files_fields, out);
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
	    !memchr(f->error, '\0', sizeof(f->error)) || !printable(f->error, strlen(f->error)))
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
