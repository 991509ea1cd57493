// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta submit: an ephemeral WireGuard server of our own (kernel WireGuard
 * where the host has it, else wireguard-go), a signed job request naming
 * it, the VM's key added as its only peer once the provider answers, the
 * job's output streamed, its exit status ours; with --output, its files
 * fetched at the end and written under a directory of ours
 * (consumer/files.c). The tunnel goes on every way out, Ctrl-C included
 * (the job is cancelled first).
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../api/job.h"
#include "../api/keys.h"
#include "../lib/file.h"
#include "../lib/parse.h"
#include "../nl/rtnl.h"
#include "../vpn/wg.h"
#include "cli.h"
#include "http.h"
#include "providers.h"

#define POLL_US 200000
#define FILES_TRIES 30		/* the provider busy sending others' files: once a second */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: omerta submit --provider ADDRESS --description TEXT\n"
		"                     (--script FILE | -- COMMAND [ARG...])\n"
		"                     [--image minimal|debian] [--language sh|bash|python]\n"
		"                     [--input FILE]... [--output DIR]\n"
		"                     [--cpus N] [--memory MIB] [--timeout SEC] [--identity FILE]\n"
		"                     [--provider-key KEY] [--endpoint-ip IP]\n\n"
		"Runs a job on a provider. A WireGuard server of ours (kernel WireGuard, or\n"
		"wireguard-go) is the job's only way out; the job's VM dials into it.\n"
		"The workload finds our end of the tunnel in $OMERTA_CONSUMER_IP.\n"
		"Its output streams here; its exit status is ours.\n\n"
		"  --provider ADDRESS    the provider's API, IPv4:PORT, over TLS bound to its\n"
		"                        key; http://IPv4:PORT for plain HTTP (tests and\n"
		"                        trusted networks: the provider has tls = off)\n"
		"  --description TEXT    what the job does (required; the provider logs it)\n"
		"  --script FILE         run FILE in the VM with --language's interpreter\n"
		"  --image minimal|debian  the VM's userland (the provider's default: debian,\n"
		"                        Debian 12 with python3; minimal: busybox)\n"
		"  --language sh|bash|python  what --script is written in (default sh; bash\n"
		"                        and python need the debian image)\n"
		"  --input FILE          sent with the request; the workload reads it as\n"
		"                        /job/input/BASENAME (read-only). Repeatable: up to\n"
		"                        64 files, 8 MiB together, base names unique\n"
		"  --output DIR          when the job is done, write what it left in\n"
		"                        /job/output/ under DIR (an existing directory):\n"
		"                        nothing outside DIR, no symlink followed, nothing\n"
		"                        replaced; at most 64 MiB and 10000 entries\n"
		"  --cpus N, --memory MIB, --timeout SEC   resources (1, 256, 600)\n"
		"  --identity FILE       our key (default: the config directory's identity)\n"
		"  --provider-key KEY    the provider's key; without it, the key pinned in\n"
		"                        known_providers, or trusted on first use and pinned\n"
		"  --endpoint-ip IP      the address the VM reaches us at (default: ours\n"
		"                        towards the provider)\n\n"
		"Exit status: the job's (see 'omerta-loader exec': 240 rogue, 241 VPN setup,\n"
		"242 VPN lost, 243 timeout, 244 boot, 245 stopped for the provider's owner,\n"
		"246 the output files refused, by the provider's loader or here, or lost),\n"
		"1 refused or failed, 2 bad usage, 130/143 interrupted (the job is\n"
		"cancelled).\n");
}

static void say_refusal(const struct cli_resp *r)
{
	char why[400];

	cli_refusal_text(r, why, sizeof(why));
	fprintf(stderr, "omerta: refused by the provider (%s)\n", why);
}

struct session {
	struct cli_http http;
	struct omt_wg_dev wg;
	int wg_up;
	char job[OMT_JOB_ID_LEN + 1];
};

static void cancel(struct session *s)
{
	struct cli_resp r;
	char path[64], err[300];

	if (!s->job[0])
		return;
	snprintf(path, sizeof(path), "/v1/jobs/%s", s->job);
	if (cli_request(&s->http, "DELETE", path, NULL, &r, err, sizeof(err)) == 0)
		cli_resp_free(&r);
	else
		fprintf(stderr, "omerta: cancel job %s: %s\n", s->job, err);
}

/* Streams the job's output until it is done; returns its exit status, *st its state. */
static int follow(struct session *s, struct omt_job_status *st_out)
{
	struct omt_job_output *o = calloc(1, sizeof(*o));
	struct omt_job_status st;
	uint64_t next[2] = { 0, 0 };
	struct cli_resp r;
	char path[128], err[300];
	int ret = OMT_EXIT_FAIL;

	if (!o)
		return OMT_EXIT_FAIL;
	while (!interrupted) {
		snprintf(path, sizeof(path), "/v1/jobs/%s/output?stdout=%llu&stderr=%llu", s->job,
			 (unsigned long long)next[0], (unsigned long long)next[1]);
		if (cli_request(&s->http, "GET", path, NULL, &r, err, sizeof(err))) {
			fprintf(stderr, "omerta: %s\n", err);
			goto out;
		}
		if (r.status != 200 || omt_job_output_parse(r.body, r.len, o, err, sizeof(err))) {
			r.status != 200 ? say_refusal(&r) : (void)fprintf(stderr, "omerta: %s\n", err);
			cli_resp_free(&r);
			goto out;
		}
		cli_resp_free(&r);
		fwrite(o->stream[OMT_JOB_STDOUT].data, 1, o->stream[OMT_JOB_STDOUT].len, stdout);
		fflush(stdout);
		fwrite(o->stream[OMT_JOB_STDERR].data, 1, o->stream[OMT_JOB_STDERR].len, stderr);
		next[0] = o->stream[OMT_JOB_STDOUT].next;
		next[1] = o->stream[OMT_JOB_STDERR].next;
		if (o->done)
			break;
		if (!o->stream[0].len && !o->stream[1].len)
			usleep(POLL_US);
	}
	if (interrupted)
		goto out;
	snprintf(path, sizeof(path), "/v1/jobs/%s", s->job);
	if (cli_request(&s->http, "GET", path, NULL, &r, err, sizeof(err)) ||
	    r.status != 200 || omt_job_status_parse(r.body, r.len, &st, err, sizeof(err))) {
		fprintf(stderr, "omerta: job state: %s\n", err);
		cli_resp_free(&r);
		goto out;
	}
	cli_resp_free(&r);
	s->job[0] = '\0';	/* over: nothing to cancel */
	if (st.exit_status < 0) {
		fprintf(stderr, "omerta: job %s ended %s without running\n", st.job, st.outcome);
		goto out;
	}
	if (strcmp(st.outcome, "done"))
		fprintf(stderr, "omerta: job %s: %s (exit status %d)\n", st.job, st.outcome,
			st.exit_status);
	ret = st.exit_status;
	*st_out = st;
out:
	free(o);
	return ret;
}

/* --output: the job's files, written under dir. 0, or -1 having said why. */
static int fetch_files(struct session *s, const char *job, const char *dir)
{
	struct omt_job_files f;
	struct cli_resp r;
	char path[64], err[1200];
	uint64_t bytes = 0;
	size_t i;
	int tries, e;

	snprintf(path, sizeof(path), "/v1/jobs/%s/files", job);
	for (tries = 0;; tries++) {
		if (cli_request_max(&s->http, "GET", path, NULL, OMT_JOB_FILES_MAX_ANSWER, &r, err,
				    sizeof(err))) {
			fprintf(stderr, "omerta: the job's output files: %s\n", err);
			return -1;
		}
		if (r.status != 503 || tries + 1 == FILES_TRIES || interrupted)
			break;
		cli_resp_free(&r);
		sleep(1);
	}
	if (r.status != 200) {
		say_refusal(&r);
		cli_resp_free(&r);
		return -1;
	}
	e = omt_job_files_parse(r.body, r.len, &f, err, sizeof(err));
	cli_resp_free(&r);
	if (e) {
		fprintf(stderr, "omerta: the provider's output files: %s\n", err);
		return -1;
	}
	e = cli_write_files(dir, &f, err, sizeof(err));
	if (e) {
		fprintf(stderr, "omerta: output files: %s\n", err);
	} else {
		for (i = 0; i < f.n_files; i++)
			bytes += f.files[i].len;
		fprintf(stderr, "omerta: job %s: %zu files (%llu bytes) and %zu directories "
				"written under %s\n", job, f.n_files, (unsigned long long)bytes,
			f.n_dirs, dir);
	}
	/* The provider's loader refused the rest: what came is written, and this says why. */
	if (f.error[0]) {
		fprintf(stderr, "omerta: job %s: the provider refused some of its output: %s\n",
			job, f.error);
		e = -EPROTO;
	}
	omt_job_files_free(&f);
	return e ? -1 : 0;
}

/* --input FILE: read, named by its base name. */
static int add_input(struct omt_job_request *req, const char *file, size_t *total)
{
	const char *slash = strrchr(file, '/'), *base = slash ? slash + 1 : file;
	struct omt_job_input *in = &req->inputs[req->n_inputs];
	char err[600];
	unsigned int i;
	int e;

	if (omt_job_input_name_check(base, strlen(base))) {
		fprintf(stderr, "submit: --input '%s': its name must be 1..%d bytes of printable "
				"ASCII, not '.' or '..': '%s'\n", file, OMT_JOB_MAX_INPUT_NAME, base);
		return OMT_EXIT_USAGE;
	}
	for (i = 0; i < req->n_inputs; i++) {
		if (!strcmp(req->inputs[i].name, base)) {
			fprintf(stderr, "submit: --input '%s': another input is named '%s' too "
					"(the VM has one /job/input)\n", file, base);
			return OMT_EXIT_USAGE;
		}
	}
	e = omt_read_file(file, OMT_JOB_MAX_INPUT_BYTES - *total, (char **)&in->data, &in->len,
			  err, sizeof(err));
	if (e == -EFBIG) {
		fprintf(stderr, "submit: --input '%s': the inputs are over %d MiB together\n", file,
			OMT_JOB_MAX_INPUT_BYTES >> 20);
		return OMT_EXIT_FAIL;
	}
	if (e) {
		fprintf(stderr, "submit: --input %s\n", err);
		return OMT_EXIT_FAIL;
	}
	in->name = (char *)base;
	*total += in->len;
	req->n_inputs++;
	return 0;
}

/* What the command line asked for, beyond the request's own fields. */
struct args {
	const char *provider, *description, *script_path, *identity, *pkey, *endpoint_ip;
	const char *output_dir;
	const char *input_files[OMT_JOB_MAX_INPUTS];
	unsigned int n_input_files;
	uint8_t prov_ip[4];
	uint16_t prov_port;
	int plain;			/* --provider http://... */
};


/* The options into a and req: GO_ON, or the exit status (usage said why, or --help). */
static int parse_options(int argc, char **argv, struct args *a, struct omt_job_request *req)
{
	static const struct option opts[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "description", required_argument, NULL, 'd' },
		{ "script", required_argument, NULL, 's' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "identity", required_argument, NULL, 'i' },
		{ "provider-key", required_argument, NULL, 'k' },
		{ "endpoint-ip", required_argument, NULL, 'e' },
		{ "image", required_argument, NULL, 'I' },
		{ "language", required_argument, NULL, 'L' },
		{ "input", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct stat sb;
	int c, e;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->provider = optarg;
			break;
		case 'd':
			a->description = optarg;
			break;
		case 's':
			a->script_path = optarg;
			break;
		case 'c':
			if (cli_parse_uint("submit", "--cpus", optarg, 1, 64, &req->cpus))
				return OMT_EXIT_USAGE;
			break;
		case 'm':
			if (cli_parse_uint("submit", "--memory", optarg, 64, 65536, &req->memory_mib))
				return OMT_EXIT_USAGE;
			break;
		case 't':
			if (cli_parse_uint("submit", "--timeout", optarg, 1, 604800, &req->timeout_s))
				return OMT_EXIT_USAGE;
			break;
		case 'i':
			a->identity = optarg;
			break;
		case 'k':
			a->pkey = optarg;
			break;
		case 'e':
			a->endpoint_ip = optarg;
			break;
		case 'I':
			if (omt_image_parse(optarg, &req->image)) {
				fprintf(stderr, "submit: --image must be 'minimal' or 'debian': '%s'\n",
					optarg);
				return OMT_EXIT_USAGE;
			}
			break;
		case 'L':
			if (omt_language_parse(optarg, &req->language)) {
				fprintf(stderr, "submit: --language must be 'sh', 'bash' or 'python': "
						"'%s'\n", optarg);
				return OMT_EXIT_USAGE;
			}
			break;
		case 'n':
			if (a->n_input_files == OMT_JOB_MAX_INPUTS) {
				fprintf(stderr, "submit: at most %d --input\n", OMT_JOB_MAX_INPUTS);
				return OMT_EXIT_USAGE;
			}
			a->input_files[a->n_input_files++] = optarg;
			break;
		case 'o':
			e = stat(optarg, &sb) < 0 ? errno : 0;
			if (e || !S_ISDIR(sb.st_mode)) {
				fprintf(stderr, "submit: --output must be an existing directory: "
						"'%s': %s\n", optarg,
					e ? strerror(e) : "not a directory");
				return OMT_EXIT_USAGE;
			}
			a->output_dir = optarg;
			req->output = 1;
			break;
		case 'h':
			usage(stdout);
			return OMT_EXIT_OK;
		default:
			usage(stderr);
			return OMT_EXIT_USAGE;
		}
	}
	return GO_ON;
}

/* What the options say together; n_command: the words after them. 0 or OMT_EXIT_USAGE. */
static int check_options(struct args *a, const struct omt_job_request *req, int n_command)
{
	if (!a->provider ||
	    cli_provider_address(a->provider, a->prov_ip, &a->prov_port, &a->plain)) {
		fprintf(stderr, "submit: --provider must be [https://|http://]IPv4:PORT: '%s'\n",
			a->provider ? a->provider : "");
		return OMT_EXIT_USAGE;
	}
	if (!a->description) {
		fprintf(stderr, "submit: --description is required: say what the job does\n");
		return OMT_EXIT_USAGE;
	}
	if (!!a->script_path == (n_command > 0)) {
		fprintf(stderr, "submit: give either --script FILE or -- COMMAND [ARG...]\n");
		return OMT_EXIT_USAGE;
	}
	/* The provider checks the same; said here before any tunnel is made. */
	if (req->language && !a->script_path) {
		fprintf(stderr, "submit: --language is for --script\n");
		return OMT_EXIT_USAGE;
	}
	if (req->language && !omt_image_has_language(req->image, req->language)) {
		fprintf(stderr, "submit: --language %s needs --image debian (minimal has only sh)\n",
			omt_language_name(req->language));
		return OMT_EXIT_USAGE;
	}
	return 0;
}

/* The provider to talk to, its key or where it is pinned, and our identity. 0 or the exit status. */
static int load_keys(const struct args *a, struct cli_http *h)
{
	snprintf(h->hostport, sizeof(h->hostport), "%u.%u.%u.%u:%u", a->prov_ip[0], a->prov_ip[1],
		 a->prov_ip[2], a->prov_ip[3], a->prov_port);
	h->plain = a->plain;
	if (a->pkey) {
		if (omt_key_from_b64(a->pkey, h->provider)) {
			fprintf(stderr, "submit: --provider-key is not a base64 32-byte key: '%s'\n",
				a->pkey);
			return OMT_EXIT_USAGE;
		}
		h->have_provider = 1;
	}
	return cli_load_identity("submit", a->identity, h);
}

/*
 * The request's workload: the inputs, and the script or the command (the
 * words in command). 0 or the exit status, having said why; what was read
 * is req's, freed by the caller either way.
 */
static int add_workload(const struct args *a, struct omt_job_request *req, char **command,
			int n_command)
{
	size_t input_bytes = 0;
	char err[600];
	unsigned int i;
	int e;

	req->description = (char *)a->description;
	for (i = 0; i < a->n_input_files; i++)
		if ((e = add_input(req, a->input_files[i], &input_bytes)))
			return e;
	if (a->script_path) {
		if (omt_read_file(a->script_path, OMT_JOB_MAX_SCRIPT, &req->script, &req->script_len,
				  err, sizeof(err))) {
			fprintf(stderr, "submit: --script %s\n", err);
			return OMT_EXIT_FAIL;
		}
		if (!req->script_len) {
			fprintf(stderr, "submit: --script %s: empty\n", a->script_path);
			return OMT_EXIT_FAIL;
		}
	} else {
		req->command = command;
		req->n_command = n_command;
	}
	return 0;
}

/*
 * Where the VM finds us (--endpoint-ip, or our address towards the
 * provider) and the tunnel's addresses: a free 10.77.X.0/24, us .1, the VM
 * .2. 0, or -1 having said why.
 */
static int plan_addresses(const struct args *a, struct omt_job_request *req)
{
	uint8_t x = 0;

	if (a->endpoint_ip ? omt_parse_ipv4(a->endpoint_ip, req->vpn.endpoint_ip) :
			     cli_local_ip_towards(a->prov_ip, a->prov_port, req->vpn.endpoint_ip)) {
		fprintf(stderr, "submit: %s: '%s'\n",
			a->endpoint_ip ? "--endpoint-ip is not an IPv4 address" :
					 "no route to the provider",
			a->endpoint_ip ? a->endpoint_ip : a->provider);
		return -1;
	}
	if (cli_pick_subnet(&x)) {
		fprintf(stderr, "submit: no free 10.77.X.0/24 for the tunnel\n");
		return -1;
	}
	memcpy(req->vpn.vm_address.ip, (uint8_t[4]){ 10, 77, x, 2 }, 4);
	req->vpn.vm_address.prefix = 24;
	memcpy(req->vpn.allowed_ips[0].ip, (uint8_t[4]){ 10, 77, x, 0 }, 4);
	req->vpn.allowed_ips[0].prefix = 24;
	req->vpn.n_allowed_ips = 1;
	memcpy(req->vpn.consumer_address, (uint8_t[4]){ 10, 77, x, 1 }, 4);
	return 0;
}

/*
 * Our end: a fresh key (the private one into wc and server_priv, the
 * public one into the request), our address, the link up, and a port of
 * our choosing to listen on into the request. 0, or -1 having said why.
 */
static int tunnel_setup(struct session *s, const char *ifname, struct omt_job_request *req,
			uint8_t server_priv[32], struct omt_wgconf *wc)
{
	unsigned int ifindex;
	uint16_t port;
	int e;

	omt_wg_keypair(server_priv, req->vpn.public_key);
	memcpy(wc->private_key, server_priv, 32);
	wc->address.prefix = 24;
	ifindex = if_nametoindex(ifname);
	if ((e = omt_rtnl_addr_add4(ifindex, req->vpn.consumer_address, 24)) ||
	    (e = omt_rtnl_link_up(ifindex)) || (e = omt_wg_listen(&s->wg, server_priv, &port))) {
		fprintf(stderr, "submit: set up %s: %s\n", ifname, strerror(-e));
		return -1;
	}
	req->vpn.endpoint_port = port;
	return 0;
}

/* POST /v1/jobs: 0 with s->job and *acc the provider's answer, or -1 having said why. */
static int send_request(struct session *s, const struct omt_job_request *req,
			const char *ifname, struct omt_job_accept *acc)
{
	struct cli_resp r;
	char err[600], *body = NULL;
	int e;

	if ((e = omt_job_request_format(req, &body))) {
		if (e == -E2BIG)
			fprintf(stderr, "submit: the request is over %d MiB (the script and the "
					"inputs, in base64)\n", OMT_JOB_MAX_BODY >> 20);
		else
			fprintf(stderr, "submit: the request: %s\n", strerror(-e));
		return -1;
	}
	e = cli_request(&s->http, "POST", "/v1/jobs", body, &r, err, sizeof(err));
	free(body);
	if (e) {
		fprintf(stderr, "omerta: %s\n", err);
		return -1;
	}
	if (r.status != 201) {
		say_refusal(&r);
		cli_resp_free(&r);
		return -1;
	}
	e = omt_job_accept_parse(r.body, r.len, acc, err, sizeof(err));
	cli_resp_free(&r);
	if (e) {
		fprintf(stderr, "omerta: the provider's answer: %s\n", err);
		return -1;
	}
	memcpy(s->job, acc->job, sizeof(s->job));
	fprintf(stderr, "omerta: job %s accepted; tunnel %s on %u.%u.%u.%u:%u\n", s->job, ifname,
		req->vpn.endpoint_ip[0], req->vpn.endpoint_ip[1], req->vpn.endpoint_ip[2],
		req->vpn.endpoint_ip[3], req->vpn.endpoint_port);
	return 0;
}

/* The VM, and only it, may talk to us: its key, its address. 0, or -1 having said why. */
static int admit_vm(struct session *s, const char *ifname, const struct omt_job_request *req,
		    const struct omt_job_accept *acc, struct omt_wgconf *wc)
{
	int e;

	wc->listen_port = req->vpn.endpoint_port;
	memcpy(wc->peer_public_key, acc->vm_public_key, 32);
	memcpy(wc->allowed_ips[0].ip, req->vpn.vm_address.ip, 4);
	wc->allowed_ips[0].prefix = 32;
	wc->n_allowed_ips = 1;
	/* Keepalives both ways: the provider takes silence for a lost VPN. */
	wc->persistent_keepalive = 5;
	if ((e = omt_wg_apply(&s->wg, wc))) {
		fprintf(stderr, "submit: configure %s: %s\n", ifname, strerror(-e));
		return -1;
	}
	return 0;
}

int submit_main(int argc, char **argv)
{
	struct args a = {};
	struct omt_job_input inputs[OMT_JOB_MAX_INPUTS] = {};
	struct omt_job_request req = { .cpus = 1, .memory_mib = 256, .timeout_s = 600,
				       .inputs = inputs };
	struct omt_job_status st = { .exit_status = -1 };
	struct session s = {};
	struct omt_job_accept acc;
	struct omt_wgconf wc = {};
	uint8_t server_priv[32] = { 0 };
	char ifname[16];
	unsigned int i;
	int ret;

	ret = parse_options(argc, argv, &a, &req);
	if (ret != GO_ON)
		return ret;
	ret = check_options(&a, &req, argc - optind);
	if (!ret)
		ret = load_keys(&a, &s.http);
	if (ret)
		return ret;

	ret = add_workload(&a, &req, argv + optind, argc - optind);
	if (ret)
		goto out_script;
	ret = OMT_EXIT_FAIL;
	if (plan_addresses(&a, &req))
		goto out_script;

	/* The tunnel, before anything is sent. */
	cli_catch_signals(on_signal);
	if (cli_tunnel_create("submit", "omtc", ifname, &s.wg))
		goto out_script;
	s.wg_up = 1;
	if (tunnel_setup(&s, ifname, &req, server_priv, &wc) ||
	    send_request(&s, &req, ifname, &acc) || admit_vm(&s, ifname, &req, &acc, &wc))
		goto out;
	ret = follow(&s, &st);
	if (a.output_dir && st.exit_status >= 0 && !interrupted) {
		if (strcmp(st.outcome, "done"))
			fprintf(stderr, "omerta: job %s ended %s: no output files\n", st.job,
				st.outcome);
		else if (fetch_files(&s, st.job, a.output_dir))
			ret = OMT_EXIT_OUTPUT;
	}
out:
	/* Interrupted, or failed after the provider took the job: don't leave it running. */
	if (s.job[0])
		cancel(&s);
	if (interrupted)
		ret = 128 + interrupted;
	sodium_memzero(server_priv, sizeof(server_priv));
	sodium_memzero(&wc, sizeof(wc));
	if (s.wg_up)
		omt_wg_down(&s.wg);
out_script:
	free(req.script);
	for (i = 0; i < req.n_inputs; i++)
		free(inputs[i].data);
	sodium_memzero(s.http.sk, sizeof(s.http.sk));
	return ret;
}
