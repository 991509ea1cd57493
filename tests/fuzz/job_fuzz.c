// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The job API's bodies: the request the provider takes from consumers and
 * the answers the consumer takes from providers. Every input goes to all
 * five parsers. What parses must be within bounds and survive format ->
 * parse unchanged; what does not must say why in one printable line.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/job.h"
#include "../../proto/endpoint.h"

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static void check_err(int ret, const char *err, size_t size)
{
	size_t i;

	check(ret == -EINVAL || ret == -E2BIG);
	for (i = 0; err[i]; i++)
		check(i < size - 1 && err[i] >= 0x20 && err[i] <= 0x7e);
	check(i > 0);
}

static uint32_t ip_u32(const uint8_t ip[4])
{
	return (uint32_t)ip[0] << 24 | ip[1] << 16 | ip[2] << 8 | ip[3];
}

static uint32_t mask(unsigned int prefix)
{
	return prefix ? ~(uint32_t)0 << (32 - prefix) : 0;
}

static void check_request(const struct omt_job_request *r)
{
	const struct omt_job_vpn *v = &r->vpn;
	unsigned int i, k;
	size_t total;

	check(r->description && strlen(r->description) <= OMT_JOB_MAX_DESCRIPTION);
	check(!r->command != !r->script);
	if (r->command) {
		check(r->n_command >= 1 && r->n_command <= OMT_JOB_MAX_ARGS);
		check(!r->command[r->n_command] && r->command[0][0]);
		for (i = 0; i < r->n_command; i++)
			check(strlen(r->command[i]) <= OMT_JOB_MAX_ARG);
	} else {
		check(r->script_len >= 1 && r->script_len <= OMT_JOB_MAX_SCRIPT);
		check(strlen(r->script) == r->script_len);
	}
	check(r->cpus >= OMT_JOB_MIN_CPUS && r->cpus <= OMT_JOB_MAX_CPUS);
	check(r->memory_mib >= OMT_JOB_MIN_MEMORY_MIB && r->memory_mib <= OMT_JOB_MAX_MEMORY_MIB);
	check(r->timeout_s >= OMT_JOB_MIN_TIMEOUT_S && r->timeout_s <= OMT_JOB_MAX_TIMEOUT_S);
	check(v->endpoint_port);
	/* Any address parses; the endpoint rules refuse these whatever the policy. */
	{
		static const struct omt_host_addrs none;
		char why[128];
		int e = omt_endpoint_check_host(v->endpoint_ip, &none, why, sizeof(why));

		check(e == 0 || e == -EPERM);
		check(e || (v->endpoint_ip[0] && v->endpoint_ip[0] != 127 &&
			    v->endpoint_ip[0] < 224));
		if (e)
			check_err(-EINVAL, why, sizeof(why));
	}
	check(v->vm_address.prefix >= 8 && v->vm_address.prefix <= 30);
	check(v->n_allowed_ips >= 1 && v->n_allowed_ips <= OMT_JOB_MAX_ALLOWED_IPS);
	for (i = 0; i < v->n_allowed_ips; i++)
		check(v->allowed_ips[i].prefix <= 32 &&
		      !(ip_u32(v->allowed_ips[i].ip) & ~mask(v->allowed_ips[i].prefix)));
	check((ip_u32(v->consumer_address) & mask(v->vm_address.prefix)) ==
	      (ip_u32(v->vm_address.ip) & mask(v->vm_address.prefix)));
	check(ip_u32(v->consumer_address) != ip_u32(v->vm_address.ip));
	check((unsigned int)r->image < OMT_JOB__IMAGE_COUNT);
	check((unsigned int)r->language < OMT_JOB__LANGUAGE_COUNT);
	check(!r->language || r->script);
	check(r->language <= OMT_JOB_LANGUAGE_SH || r->image != OMT_JOB_IMAGE_MINIMAL);
	check(r->output == 0 || r->output == 1);
	check(r->n_inputs <= OMT_JOB_MAX_INPUTS && !r->n_inputs == !r->inputs);
	for (i = 0, total = 0; i < r->n_inputs; i++) {
		const char *name = r->inputs[i].name;

		check(!omt_job_input_name_check(name, strlen(name)));
		check(r->inputs[i].data);
		total += r->inputs[i].len;
		for (k = 0; k < i; k++)
			check(strcmp(r->inputs[k].name, name));
	}
	check(total <= OMT_JOB_MAX_INPUT_BYTES);
}

static void same_request(const struct omt_job_request *a, const struct omt_job_request *b)
{
	unsigned int i;

	check(!strcmp(a->description, b->description));
	check(a->n_command == b->n_command && !a->script == !b->script);
	for (i = 0; i < a->n_command; i++)
		check(!strcmp(a->command[i], b->command[i]));
	check(a->script_len == b->script_len);
	check(!a->script || !memcmp(a->script, b->script, a->script_len));
	check(a->cpus == b->cpus && a->memory_mib == b->memory_mib && a->timeout_s == b->timeout_s);
	check(!memcmp(&a->vpn.endpoint_ip, &b->vpn.endpoint_ip, 4) &&
	      a->vpn.endpoint_port == b->vpn.endpoint_port &&
	      !memcmp(a->vpn.public_key, b->vpn.public_key, 32) &&
	      !memcmp(&a->vpn.vm_address, &b->vpn.vm_address, sizeof(struct omt_cidr4)) &&
	      a->vpn.n_allowed_ips == b->vpn.n_allowed_ips &&
	      !memcmp(a->vpn.allowed_ips, b->vpn.allowed_ips,
		      a->vpn.n_allowed_ips * sizeof(struct omt_cidr4)) &&
	      !memcmp(a->vpn.consumer_address, b->vpn.consumer_address, 4));
	check(a->image == b->image && a->language == b->language && a->output == b->output);
	check(a->n_inputs == b->n_inputs);
	for (i = 0; i < a->n_inputs; i++)
		check(!strcmp(a->inputs[i].name, b->inputs[i].name) &&
		      a->inputs[i].len == b->inputs[i].len &&
		      !memcmp(a->inputs[i].data, b->inputs[i].data, a->inputs[i].len));
}

static void fuzz_request(const char *data, size_t size)
{
	struct omt_job_request r, back;
	char err[512], *json, *again;
	int ret;

	ret = omt_job_request_parse(data, size, &r, err, sizeof(err));
	if (ret) {
		check_err(ret, err, sizeof(err));
		return;
	}
	check(!err[0]);
	check_request(&r);
	/* Escaping may make it longer than the body it came from. */
	ret = omt_job_request_format(&r, &json);
	check(ret == 0 || ret == -E2BIG);
	if (!ret) {
		check(omt_job_request_parse(json, strlen(json), &back, err, sizeof(err)) == 0);
		same_request(&r, &back);
		check(omt_job_request_format(&back, &again) == 0 && !strcmp(json, again));
		omt_job_request_free(&back);
		free(json);
		free(again);
	}
	omt_job_request_free(&r);
}

static void fuzz_accept(const char *data, size_t size)
{
	struct omt_job_accept a, back;
	char err[512], *json;
	int ret;

	ret = omt_job_accept_parse(data, size, &a, err, sizeof(err));
	if (ret) {
		check_err(ret, err, sizeof(err));
		return;
	}
	check(omt_job_accept_format(&a, &json) == 0);
	check(omt_job_accept_parse(json, strlen(json), &back, err, sizeof(err)) == 0);
	check(!memcmp(&a, &back, sizeof(a)));
	free(json);
}

static void fuzz_status(const char *data, size_t size)
{
	struct omt_job_status s, back;
	char err[512], *json;
	int ret;

	ret = omt_job_status_parse(data, size, &s, err, sizeof(err));
	if (ret) {
		check_err(ret, err, sizeof(err));
		return;
	}
	check(s.exit_status >= -1 && s.exit_status <= 255);
	check(omt_job_status_format(&s, &json) == 0);
	check(omt_job_status_parse(json, strlen(json), &back, err, sizeof(err)) == 0);
	check(!memcmp(&s, &back, sizeof(s)));
	free(json);
}

static void fuzz_output(const char *data, size_t size)
{
	static struct omt_job_output o, back;
	char err[512], *json;
	int ret, i;

	ret = omt_job_output_parse(data, size, &o, err, sizeof(err));
	if (ret) {
		check_err(ret, err, sizeof(err));
		return;
	}
	check(omt_job_output_format(&o, &json) == 0);
	check(omt_job_output_parse(json, strlen(json), &back, err, sizeof(err)) == 0);
	for (i = 0; i < 2; i++) {
		check(o.stream[i].len <= OMT_JOB_CHUNK_MAX && o.stream[i].next >= o.stream[i].len);
		check(back.stream[i].len == o.stream[i].len && back.stream[i].next == o.stream[i].next);
		check(!memcmp(back.stream[i].data, o.stream[i].data, o.stream[i].len));
	}
	check(back.done == o.done);
	free(json);
}

static void check_files(const struct omt_job_files *f)
{
	size_t i, total = 0;

	check(f->n_files + f->n_dirs <= OMT_JOB_FILES_MAX_ENTRIES);
	for (i = 0; i < f->n_dirs; i++)
		check(!omt_job_file_path_check(f->dirs[i], strlen(f->dirs[i])));
	for (i = 0; i < f->n_files; i++) {
		check(!omt_job_file_path_check(f->files[i].path, strlen(f->files[i].path)));
		check(f->files[i].mode <= 0777 && f->files[i].data);
		total += f->files[i].len;
	}
	check(total <= OMT_JOB_FILES_MAX_BYTES);
	check(strlen(f->error) <= OMT_JOB_FILES_MAX_ERROR);
	for (i = 0; f->error[i]; i++)
		check(f->error[i] >= 0x20 && f->error[i] <= 0x7e);
}

static void fuzz_files(const char *data, size_t size)
{
	struct omt_job_files f, back;
	char err[512], *json, *again;
	size_t i;
	int ret;

	ret = omt_job_files_parse(data, size, &f, err, sizeof(err));
	if (ret) {
		check_err(ret, err, sizeof(err));
		check(!f.files && !f.dirs);
		return;
	}
	check_files(&f);
	check(omt_job_files_format(&f, &json) == 0);
	check(omt_job_files_parse(json, strlen(json), &back, err, sizeof(err)) == 0);
	check(back.n_files == f.n_files && back.n_dirs == f.n_dirs && !strcmp(back.error, f.error));
	for (i = 0; i < f.n_dirs; i++)
		check(!strcmp(back.dirs[i], f.dirs[i]));
	for (i = 0; i < f.n_files; i++)
		check(!strcmp(back.files[i].path, f.files[i].path) &&
		      back.files[i].mode == f.files[i].mode && back.files[i].len == f.files[i].len &&
		      !memcmp(back.files[i].data, f.files[i].data, f.files[i].len));
	check(omt_job_files_format(&back, &again) == 0 && !strcmp(json, again));
	free(json);
	free(again);
	omt_job_files_free(&back);
	omt_job_files_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	fuzz_request(s, size);
	fuzz_accept(s, size);
	fuzz_status(s, size);
	fuzz_output(s, size);
	fuzz_files(s, size);
	return 0;
}
