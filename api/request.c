// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* POST /v1/jobs: the request a consumer sends (job.h), parsed and formatted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/parse.h"
#include "job.h"
#include "json.h"
#include "keys.h"

static int uint_member(struct api_parser *p, json_object *o, const char *key, unsigned int lo,
		       unsigned int hi, unsigned int def, unsigned int *out)
{
	int64_t x;
	int err;

	if (!api_member(o, key, NULL)) {
		*out = def;
		return 0;
	}
	err = api_int_member(p, o, key, key, lo, hi, &x);
	if (!err)
		*out = x;
	return err;
}

static void format_ip(char buf[16], const uint8_t ip[4])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
}

static void format_cidr(char buf[20], const struct omt_cidr4 *c)
{
	snprintf(buf, 20, "%u.%u.%u.%u/%u", c->ip[0], c->ip[1], c->ip[2], c->ip[3], c->prefix);
}

static int parse_endpoint(struct api_parser *p, json_object *vpn, struct omt_job_vpn *out)
{
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = api_str_member(p, vpn, "endpoint", "vpn.endpoint", 64, &v, &s, &n);
	if (err)
		return err;
	if (omt_parse_endpoint(s, out->endpoint_ip, &out->endpoint_port))
		return api_fail(p, "vpn.endpoint must be a literal IPv4:PORT: %s", api_show(p, v));
	/* Which addresses it may be is the policy's to say (proto/endpoint.h). */
	return 0;
}

static int parse_vm_address(struct api_parser *p, json_object *vpn, struct omt_job_vpn *out)
{
	struct omt_cidr4 *c = &out->vm_address;
	uint32_t host;
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = api_str_member(p, vpn, "vm_address", "vpn.vm_address", 64, &v, &s, &n);
	if (err)
		return err;
	if (omt_parse_cidr4(s, c) || c->prefix < 8 || c->prefix > 30)
		return api_fail(p, "vpn.vm_address must be IPv4/PREFIX with a prefix of 8..30: %s",
				api_show(p, v));
	host = omt_ipv4_u32(c->ip) & ~omt_prefix_mask(c->prefix);
	if (host == 0)
		return api_fail(p, "vpn.vm_address is its subnet's network address: %s",
				api_show(p, v));
	if (host == ~omt_prefix_mask(c->prefix))
		return api_fail(p, "vpn.vm_address is its subnet's broadcast address: %s",
				api_show(p, v));
	return 0;
}

static int parse_allowed_ips(struct api_parser *p, json_object *vpn, struct omt_job_vpn *out)
{
	char name[32];
	json_object *a;
	size_t i, n;

	if (!api_member(vpn, "allowed_ips", &a))
		return api_fail(p, "vpn.allowed_ips is missing");
	if (!json_object_is_type(a, json_type_array))
		return api_fail(p, "vpn.allowed_ips must be an array of IPv4/PREFIX: %s",
				api_show_json(p, a));
	n = json_object_array_length(a);
	if (n < 1 || n > OMT_JOB_MAX_ALLOWED_IPS)
		return api_fail(p, "vpn.allowed_ips must have 1..%d entries: %zu",
				OMT_JOB_MAX_ALLOWED_IPS, n);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		struct omt_cidr4 *c = &out->allowed_ips[i];
		const char *s;
		size_t len;
		uint32_t net;
		int err;

		snprintf(name, sizeof(name), "vpn.allowed_ips[%zu]", i);
		err = api_str_value(p, v, name, 64, &s, &len);
		if (err)
			return err;
		if (omt_parse_cidr4(s, c))
			return api_fail(p, "%s is not an IPv4/PREFIX: %s", name, api_show(p, v));
		/* As wg does. */
		net = omt_ipv4_u32(c->ip) & omt_prefix_mask(c->prefix);
		c->ip[0] = net >> 24;
		c->ip[1] = net >> 16;
		c->ip[2] = net >> 8;
		c->ip[3] = net;
	}
	out->n_allowed_ips = n;
	return 0;
}

static int parse_consumer_address(struct api_parser *p, json_object *vpn, struct omt_job_vpn *out)
{
	uint32_t mask = omt_prefix_mask(out->vm_address.prefix), ip, vm;
	char subnet[20];
	struct omt_cidr4 net;
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = api_str_member(p, vpn, "consumer_address", "vpn.consumer_address", 64, &v, &s, &n);
	if (err)
		return err;
	if (omt_parse_ipv4(s, out->consumer_address))
		return api_fail(p, "vpn.consumer_address is not an IPv4 address: %s",
				api_show(p, v));
	ip = omt_ipv4_u32(out->consumer_address);
	vm = omt_ipv4_u32(out->vm_address.ip);
	if ((ip & mask) != (vm & mask)) {
		net.ip[0] = (vm & mask) >> 24;
		net.ip[1] = (vm & mask) >> 16;
		net.ip[2] = (vm & mask) >> 8;
		net.ip[3] = vm & mask;
		net.prefix = out->vm_address.prefix;
		format_cidr(subnet, &net);
		return api_fail(p, "vpn.consumer_address is outside vpn.vm_address's subnet %s: %s",
				subnet, api_show(p, v));
	}
	if (ip == vm)
		return api_fail(p, "vpn.consumer_address is vpn.vm_address: %s", api_show(p, v));
	if (!(ip & ~mask) || (ip & ~mask) == ~mask)
		return api_fail(p, "vpn.consumer_address is its subnet's %s address: %s",
				ip & ~mask ? "broadcast" : "network", api_show(p, v));
	return 0;
}

static int parse_vpn(struct api_parser *p, json_object *o, struct omt_job_vpn *out)
{
	static const char *const known[] = { "endpoint", "public_key", "vm_address",
					     "allowed_ips", "consumer_address", NULL };
	json_object *vpn, *v;
	const char *s;
	size_t n;
	int err;

	if (!api_member(o, "vpn", &vpn))
		return api_fail(p, "vpn is missing");
	if (!json_object_is_type(vpn, json_type_object))
		return api_fail(p, "vpn must be an object: %s", api_show_json(p, vpn));
	err = api_only_known(p, vpn, "vpn.", known);
	if (!err)
		err = parse_endpoint(p, vpn, out);
	if (!err)
		err = api_str_member(p, vpn, "public_key", "vpn.public_key", 64, &v, &s, &n);
	if (!err && omt_key_from_b64(s, out->public_key))
		err = api_fail(p, "vpn.public_key is not a base64 32-byte key: %s", api_show(p, v));
	if (!err)
		err = parse_vm_address(p, vpn, out);
	if (!err)
		err = parse_allowed_ips(p, vpn, out);
	if (!err)
		err = parse_consumer_address(p, vpn, out);
	return err;
}

static int parse_description(struct api_parser *p, json_object *o, struct omt_job_request *r)
{
	const char *s = "";
	json_object *v;
	size_t n = 0, i;
	int err;

	if (api_member(o, "description", &v)) {
		err = api_str_value(p, v, "description", OMT_JOB_MAX_DESCRIPTION, &s, &n);
		if (err)
			return err;
		/* It ends up in one log line. */
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return api_fail(p, "description contains a control character: %s",
						api_show(p, v));
	}
	r->description = strndup(s, n);
	return r->description ? 0 : -ENOMEM;
}

static int parse_command(struct api_parser *p, json_object *a, struct omt_job_request *r)
{
	char name[32];
	size_t i, n;

	if (!json_object_is_type(a, json_type_array))
		return api_fail(p, "command must be an array of strings: %s", api_show_json(p, a));
	n = json_object_array_length(a);
	if (n < 1 || n > OMT_JOB_MAX_ARGS)
		return api_fail(p, "command must have 1..%d arguments: %zu", OMT_JOB_MAX_ARGS, n);
	r->command = calloc(n + 1, sizeof(*r->command));
	if (!r->command)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		const char *s;
		size_t len;
		int err;

		snprintf(name, sizeof(name), "command[%zu]", i);
		err = api_str_value(p, v, name, OMT_JOB_MAX_ARG, &s, &len);
		if (err)
			return err;
		if (i == 0 && !len)
			return api_fail(p, "command[0] is empty");
		r->command[i] = strndup(s, len);
		if (!r->command[i])
			return -ENOMEM;
		r->n_command = i + 1;
	}
	return 0;
}

static int parse_script(struct api_parser *p, json_object *v, struct omt_job_request *r)
{
	const char *s;
	size_t n;
	int err;

	err = api_str_value(p, v, "script", OMT_JOB_MAX_SCRIPT, &s, &n);
	if (err)
		return err;
	if (!n)
		return api_fail(p, "script is empty");
	r->script = strndup(s, n);
	if (!r->script)
		return -ENOMEM;
	r->script_len = n;
	return 0;
}

/* "image" and "language"; a language other than sh needs the debian image. */
static int parse_image_language(struct api_parser *p, json_object *o, int has_script,
				struct omt_job_request *r)
{
	json_object *v;
	const char *s;
	size_t n;
	int err;

	if (api_member(o, "image", &v)) {
		err = api_str_value(p, v, "image", 64, &s, &n);
		if (err)
			return err;
		if (omt_image_parse(s, &r->image))
			return api_fail(p, "image must be 'minimal' or 'debian': %s",
					api_show(p, v));
	}
	if (!api_member(o, "language", &v))
		return 0;
	err = api_str_value(p, v, "language", 64, &s, &n);
	if (err)
		return err;
	if (omt_language_parse(s, &r->language))
		return api_fail(p, "language must be 'sh', 'bash' or 'python': %s", api_show(p, v));
	if (!has_script)
		return api_fail(p, "language is for a script, not a command: %s", api_show(p, v));
	if (!omt_image_has_language(r->image, r->language))
		return api_fail(p, "language %s needs image 'debian' (minimal has only sh)",
				api_show(p, v));
	return 0;
}

static int parse_input(struct api_parser *p, json_object *v, size_t i, size_t *total,
		       struct omt_job_request *r)
{
	static const char *const known[] = { "name", "data", NULL };
	struct omt_job_input *in = &r->inputs[i];
	char prefix[32], name[40];
	json_object *nv;
	const char *s;
	size_t n, k, left = OMT_JOB_MAX_INPUT_BYTES - *total;
	int err;

	snprintf(prefix, sizeof(prefix), "inputs[%zu].", i);
	if (!json_object_is_type(v, json_type_object))
		return api_fail(p, "inputs[%zu] must be an object {\"name\",\"data\"}: %s", i,
				api_show_json(p, v));
	err = api_only_known(p, v, prefix, known);
	if (err)
		return err;
	snprintf(name, sizeof(name), "inputs[%zu].name", i);
	err = api_str_member(p, v, "name", name, OMT_JOB_MAX_INPUT_NAME, &nv, &s, &n);
	if (err)
		return err;
	if (omt_job_input_name_check(s, n))
		return api_fail(p, "%s must be a file name (1..%d bytes of printable ASCII, "
				"no '/', not '.' or '..'): %s", name, OMT_JOB_MAX_INPUT_NAME,
				api_show(p, nv));
	for (k = 0; k < i; k++)
		if (!strcmp(r->inputs[k].name, s))
			return api_fail(p, "%s repeats inputs[%zu].name: %s", name, k,
					api_show(p, nv));
	snprintf(name, sizeof(name), "inputs[%zu].data", i);
	/* Bounded before anything is allocated for it. */
	err = api_b64_member(p, v, "data", name, OMT_JOB_MAX_INPUT_BYTES, left, &in->data,
			     &in->len);
	if (err == -E2BIG)
		return api_fail(p, "inputs hold more than %d bytes with inputs[%zu]: %s",
				OMT_JOB_MAX_INPUT_BYTES, i, api_show(p, nv));
	if (err)
		return err;
	in->name = strndup(s, n);
	if (!in->name)
		return -ENOMEM;
	*total += in->len;
	return 0;
}

static int parse_inputs(struct api_parser *p, json_object *o, struct omt_job_request *r)
{
	json_object *a;
	size_t i, n, total = 0;
	int err;

	if (!api_member(o, "inputs", &a))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return api_fail(p, "inputs must be an array of {\"name\",\"data\"}: %s",
				api_show_json(p, a));
	n = json_object_array_length(a);
	if (n > OMT_JOB_MAX_INPUTS)
		return api_fail(p, "inputs must have 0..%d entries: %zu", OMT_JOB_MAX_INPUTS, n);
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

static int parse_output_flag(struct api_parser *p, json_object *o, struct omt_job_request *r)
{
	json_object *v;

	if (!api_member(o, "output", &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return api_fail(p, "output must be true or false: %s", api_show_json(p, v));
	r->output = json_object_get_boolean(v);
	return 0;
}

static int parse_request(struct api_parser *p, json_object *o, struct omt_job_request *r)
{
	static const char *const known[] = { "description", "command", "script", "cpus",
					     "memory_mib", "timeout_s", "vpn", "image",
					     "language", "inputs", "output", NULL };
	json_object *cmd, *script;
	int has_cmd, has_script, err;

	err = api_only_known(p, o, "", known);
	if (err)
		return err;
	err = parse_description(p, o, r);
	if (err)
		return err;
	has_cmd = api_member(o, "command", &cmd);
	has_script = api_member(o, "script", &script);
	if (has_cmd && has_script)
		return api_fail(p, "give either command or script, not both");
	if (!has_cmd && !has_script)
		return api_fail(p, "command or script is missing");
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
	struct api_parser p = { .err = err, .errlen = errlen };
	json_object *o;
	int ret;

	memset(out, 0, sizeof(*out));
	o = api_parse(&p, json, len, OMT_JOB_MAX_BODY, &ret);
	if (!o)
		return ret;
	ret = parse_request(&p, o, out);
	json_object_put(o);
	if (ret == -ENOMEM)
		api_fail(&p, "out of memory");
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

static int format_vpn(json_object *o, const struct omt_job_vpn *v)
{
	char buf[32], key[OMT_KEY_B64_LEN + 1];
	json_object *vpn = json_object_new_object(), *a;
	unsigned int i;
	int err;

	err = api_add(o, "vpn", vpn);
	if (err)
		return err;
	snprintf(buf, sizeof(buf), "%u.%u.%u.%u:%u", v->endpoint_ip[0], v->endpoint_ip[1],
		 v->endpoint_ip[2], v->endpoint_ip[3], v->endpoint_port);
	err = api_add_str(vpn, "endpoint", buf);
	omt_key_b64(v->public_key, key);
	if (!err)
		err = api_add_str(vpn, "public_key", key);
	format_cidr(buf, &v->vm_address);
	if (!err)
		err = api_add_str(vpn, "vm_address", buf);
	a = json_object_new_array();
	if (!err)
		err = api_add(vpn, "allowed_ips", a);
	else
		json_object_put(a);
	for (i = 0; !err && i < v->n_allowed_ips && i < OMT_JOB_MAX_ALLOWED_IPS; i++) {
		format_cidr(buf, &v->allowed_ips[i]);
		err = api_append(a, json_object_new_string(buf));
	}
	format_ip(buf, v->consumer_address);
	if (!err)
		err = api_add_str(vpn, "consumer_address", buf);
	return err;
}

static int format_inputs(json_object *o, const struct omt_job_request *r)
{
	json_object *a = json_object_new_array(), *in;
	unsigned int i;
	size_t total = 0;
	char *b64;
	int err;

	err = api_add(o, "inputs", a);
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
		err = api_append(a, in);
		if (!err)
			err = api_add_str(in, "name", x->name);
		if (!err)
			err = api_add_str(in, "data", b64);
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
	err = api_add_str(o, "description", r->description ? r->description : "");
	if (!err && r->command) {
		a = json_object_new_array();
		err = api_add(o, "command", a);
		for (i = 0; !err && i < r->n_command; i++)
			err = r->command[i] ? api_append(a, json_object_new_string(r->command[i])) :
			      -EINVAL;
	} else if (!err) {
		err = api_add(o, "script", json_object_new_string_len(r->script, r->script_len));
	}
	if (!err)
		err = api_add_int(o, "cpus", r->cpus);
	if (!err)
		err = api_add_int(o, "memory_mib", r->memory_mib);
	if (!err)
		err = api_add_int(o, "timeout_s", r->timeout_s);
	if (!err)
		err = format_vpn(o, &r->vpn);
	if (!err && omt_image_name(r->image))
		err = api_add_str(o, "image", omt_image_name(r->image));
	if (!err && omt_language_name(r->language))
		err = api_add_str(o, "language", omt_language_name(r->language));
	if (!err && r->n_inputs)
		err = r->inputs ? format_inputs(o, r) : -EINVAL;
	if (!err && r->output)
		err = api_add(o, "output", json_object_new_boolean(1));
	return api_finish(o, err, OMT_JOB_MAX_BODY, json_out);
}
