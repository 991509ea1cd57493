// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../lib/json.h"
#include "../lib/parse.h"
#include "job_spec.h"
#include "limits.h"

#define ENV_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

int omt_job_env_check(const char *s)
{
	const char *eq = strchr(s, '=');
	size_t n;

	if (!eq || eq == s || (*s >= '0' && *s <= '9'))
		return -EINVAL;
	n = strspn(s, ENV_NAME_CHARS);
	return s + n == eq && strlen(eq + 1) <= OMT_JOB_SPEC_MAX_ENV_VALUE ? 0 : -EINVAL;
}

static json_object *ipv4(const uint8_t ip[4])
{
	char s[16];

	snprintf(s, sizeof(s), "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
	return json_object_new_string(s);
}

int omt_job_spec_format(const struct omt_job_spec *s, char **json_out)
{
	json_object *o = json_object_new_object(), *eth = json_object_new_object(),
		    *a = json_object_new_array(), *env = NULL;
	char *const *p;

	json_object_object_add(eth, "address", ipv4(s->eth_ip));
	json_object_object_add(eth, "prefix", json_object_new_int(s->eth_prefix));
	json_object_object_add(eth, "gateway", ipv4(s->gateway));
	json_object_object_add(o, "eth0", eth);
	json_object_object_add(o, "firewall", json_object_new_boolean(s->firewall));
	json_object_object_add(o, "handshake_timeout", json_object_new_int(s->handshake_timeout));
	json_object_object_add(o, "image",
			       json_object_new_string(omt_image_name(omt_image_resolve(s->image))));
	json_object_object_add(o, "scratch_mib", json_object_new_int(s->scratch_mib));
	json_object_object_add(o, "output", json_object_new_boolean(s->output));
	for (p = s->argv; p && *p; p++)
		json_object_array_add(a, json_object_new_string(*p));
	json_object_object_add(o, "argv", a);
	for (p = s->env; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		char *name;

		if (!eq)
			continue;
		name = strndup(*p, eq - *p);
		if (!env)
			env = json_object_new_object();
		if (name)
			json_object_object_add(env, name, json_object_new_string(eq + 1));
		free(name);
	}
	if (env)
		json_object_object_add(o, "env", env);
	*json_out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return *json_out ? 0 : -ENOMEM;
}

static __attribute__((format(printf, 3, 4))) int fail(char *err, size_t errlen,
						     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_eth0(json_object *o, struct omt_job_spec *s)
{
	json_object *eth;
	const char *ip;
	int64_t prefix;

	if (omt_json_member(o, "eth0", json_type_object, &eth) ||
	    omt_json_string(eth, "address", 15, &ip) || omt_parse_ipv4(ip, s->eth_ip) ||
	    omt_json_string(eth, "gateway", 15, &ip) || omt_parse_ipv4(ip, s->gateway) ||
	    omt_json_int(eth, "prefix", 1, 32, &prefix))
		return -EINVAL;
	s->eth_prefix = prefix;
	return 0;
}

static int parse_argv(json_object *o, struct omt_job_spec *s, char *err, size_t errlen)
{
	json_object *a, *v;
	size_t i, n;

	if (omt_json_member(o, "argv", json_type_array, &a))
		return fail(err, errlen, "missing or bad eth0/argv");
	n = json_object_array_length(a);
	if (n == 0 || n > OMT_JOB_SPEC_MAX_ARGS)
		return fail(err, errlen, "argv has %zu elements", n);
	s->argv = calloc(n + 1, sizeof(*s->argv));
	if (!s->argv)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
			return fail(err, errlen, "argv[%zu] is not a string", i);
		if (!(s->argv[i] = strdup(json_object_get_string(v))))
			return -ENOMEM;
	}
	return 0;
}

static int parse_env(json_object *o, struct omt_job_spec *s, char *err, size_t errlen)
{
	json_object *env;
	size_t n = 0;
	int e = omt_json_member(o, "env", json_type_object, &env);

	if (e == -ENOENT)
		return 0;
	if (e || json_object_object_length(env) > OMT_JOB_SPEC_MAX_ENV)
		return fail(err, errlen, "env is not an object of at most %d strings",
			    OMT_JOB_SPEC_MAX_ENV);
	s->env = calloc(json_object_object_length(env) + 1, sizeof(*s->env));
	if (!s->env)
		return -ENOMEM;
	json_object_object_foreach(env, name, val) {
		if (!json_object_is_type(val, json_type_string))
			return fail(err, errlen, "env %.64s is not a string", name);
		if (asprintf(&s->env[n], "%s=%s", name, json_object_get_string(val)) < 0) {
			s->env[n] = NULL;
			return -ENOMEM;
		}
		if (omt_job_env_check(s->env[n++]))
			return fail(err, errlen, "env: bad name or value: %.64s", name);
	}
	return 0;
}

/* A member that may be absent: its default then. */
static int optional(int e)
{
	return e == -ENOENT ? 0 : e;
}

int omt_job_spec_parse(const char *json, size_t len, struct omt_job_spec *out, char *err,
		       size_t errlen)
{
	json_object *o;
	const char *image = "minimal";
	int64_t handshake = OMT_EXEC_DEFAULT_HANDSHAKE_TIMEOUT_S, scratch = 64;
	int e;

	*out = (struct omt_job_spec){ .firewall = true };
	if (len > OMT_JOB_SPEC_MAX_BYTES)
		return -E2BIG;
	o = omt_json_parse_object(json, len, 8);
	if (!o)
		return fail(err, errlen, "not one JSON object");
	if (parse_eth0(o, out))
		e = fail(err, errlen, "missing or bad eth0/argv");
	else if ((e = parse_argv(o, out, err, errlen)) || (e = parse_env(o, out, err, errlen)))
		;
	else if (optional(omt_json_bool(o, "firewall", &out->firewall)) ||
		 optional(omt_json_bool(o, "output", &out->output)))
		e = fail(err, errlen, "firewall and output must be true or false");
	else if (optional(omt_json_int(o, "handshake_timeout", 1, OMT_EXEC_MAX_HANDSHAKE_TIMEOUT_S,
				       &handshake)) ||
		 optional(omt_json_int(o, "scratch_mib", 1, OMT_EXEC_MAX_SCRATCH_MIB, &scratch)))
		e = fail(err, errlen, "handshake_timeout must be 1..%d, scratch_mib 1..%d",
			 OMT_EXEC_MAX_HANDSHAKE_TIMEOUT_S, OMT_EXEC_MAX_SCRATCH_MIB);
	else if (optional(omt_json_string(o, "image", 64, &image)) ||
		 omt_image_parse(image, &out->image))
		e = fail(err, errlen, "unknown image");
	json_object_put(o);
	out->handshake_timeout = handshake;
	out->scratch_mib = scratch;
	if (e)
		omt_job_spec_free(out);
	return e;
}

void omt_job_spec_free(struct omt_job_spec *s)
{
	char **p;

	for (p = s->argv; p && *p; p++)
		free(*p);
	free(s->argv);
	for (p = s->env; p && *p; p++)
		free(*p);
	free(s->env);
	*s = (struct omt_job_spec){ 0 };
}
