// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta swarm: Work Queue workers ("pilots") as ordinary Omerta jobs, on
 * the providers of a list, dialling back to the consumer's manager through
 * one WireGuard interface of ours (a peer and an address per pilot).
 *
 * The main thread makes the interface, the nftables table that keeps the
 * manager's port off every other interface, and the password; runs the
 * manager command; and, at the end, stops the pilots and undoes the rest.
 * Each pilot slot is a thread that keeps one pilot going: it picks a
 * provider (the fewest pilots, none in back-off), submits, follows the job
 * to its end and starts over. struct swarm's lock guards the providers'
 * counts and back-off; each provider's http_lock makes its requests one at
 * a time, so that its key is pinned once.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "../api/job.h"
#include "../api/keys.h"
#include "../lib/clock.h"
#include "../lib/file.h"
#include "../lib/text.h"
#include "../lib/utf8.h"
#include "../nl/nft.h"
#include "../nl/rtnl.h"
#include "../vpn/wg.h"
#include "cli.h"
#include "http.h"
#include "providers.h"

#define MAX_WORKERS 250			/* pilots' addresses: 10.77.X.2 .. .251 */
#define DEFAULT_PORT 9123
#define PASSWORD_INPUT "swarm-password"	/* the pilot's /job/input/ name */
#define PASSWORD_MAX 4096
/* --description, after the pilots' own words (at most 96 bytes) */
#define DESCRIPTION_MAX (OMT_JOB_MAX_DESCRIPTION - 96)
#define POLL_MS 1000			/* a pilot's job state, asked this often */
#define LOST_MS 60000			/* its provider silent this long: the pilot is lost */
#define LONG_RUN_MS 60000		/* a pilot that ran this long ended well enough */
#define BACKOFF_MAX_MS 60000
#define MANAGER_GRACE_MS 2000		/* to end on the signal it got too */
#define MANAGER_TERM_MS 5000		/* to end on our SIGTERM, before SIGKILL */

static atomic_int interrupted;

static void on_signal(int sig)
{
	atomic_store(&interrupted, sig);
}

struct provider {
	struct cli_provider where;
	struct cli_http http;
	pthread_mutex_t http_lock;
	/* under swarm.lock: */
	unsigned int live;		/* pilots submitted and not ended */
	unsigned int failures;		/* in a row */
	uint64_t not_before_ms;		/* back-off, omt_mono_ms() */
};

struct swarm {
	/* set before the pilots start, read-only after */
	struct provider *providers;
	size_t n_providers;
	unsigned int workers, cpus, memory_mib, timeout_s;
	uint16_t port;
	char *description, *script;
	char *password;
	size_t password_len;
	struct omt_wg_dev wg;
	char ifname[16];
	uint8_t subnet;			/* 10.77.subnet.0/24, us .1 */
	uint16_t wg_port;
	uint8_t wg_public[32];
	/* the pilots */
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* back-off over, or stopping */
	size_t next;			/* where the search for a provider starts */
	atomic_int stopping;
};

struct pilot {
	struct swarm *s;
	unsigned int slot;
	pthread_t thread;
	struct provider *p;
	char job[OMT_JOB_ID_LEN + 1];
	uint8_t vm_key[32];
	int peer;			/* vm_key is a peer of ours */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: omerta swarm --providers FILE --workers N [--cpus N] [--memory MIB]\n"
		"                    [--timeout SEC] [--description TEXT] [--port PORT]\n"
		"                    [--password-file FILE] [--identity FILE]\n"
		"                    [-- MANAGER-COMMAND [ARG...]]\n\n"
		"Keeps N Work Queue workers (pilots) running as Omerta jobs on the providers\n"
		"of FILE, each dialling the manager on PORT at our end of one WireGuard\n"
		"interface made for the swarm; a pilot that ends is replaced (with back-off\n"
		"per provider). The manager's port is reachable through that interface only.\n"
		"With MANAGER-COMMAND (a Work Queue manager: a program on its API, or\n"
		"'makeflow -T wq'), runs it with OMERTA_SWARM_PORT, OMERTA_SWARM_PASSWORD_FILE\n"
		"and OMERTA_SWARM_ADDRESS (our tunnel address) in its environment and ends\n"
		"when it ends; without, runs until interrupted. Every pilot is cancelled and\n"
		"everything undone at the end.\n\n"
		"  --providers FILE      one provider a line: IPv4:PORT [PROVIDER-KEY]\n"
		"                        ('#' comments); a key given is required, else the\n"
		"                        one in known_providers, or trusted on first use\n"
		"  --workers N           pilots to keep running (1-%d)\n"
		"  --cpus N, --memory MIB, --timeout SEC   each pilot's, as for 'omerta\n"
		"                        submit' (1, 256, 600); the worker leaves before the\n"
		"                        timeout\n"
		"  --description TEXT    added to the pilots' description (the providers log it)\n"
		"  --port PORT           the manager's port (default %d)\n"
		"  --password-file FILE  the workers' password (Work Queue's); default: a new\n"
		"                        random one. It reaches the pilots as an input file\n"
		"  --identity FILE       our key (default: the config directory's identity)\n\n"
		"Lines on stderr: 'omerta: swarm: IP:PORT job ID STATE[: REASON]', STATE one\n"
		"of queued, running, ended, refused, unreachable, lost, cancelled.\n\n"
		"Exit status: the manager's (128+N when a signal ended it), 1 failed, 2 bad\n"
		"usage, 130/143 interrupted.\n",
		MAX_WORKERS, DEFAULT_PORT);
}

/* The one line per change of a pilot. */
static void say(const struct pilot *pl, const char *state, const char *why)
{
	fprintf(stderr, "omerta: swarm: %s job %s %s%s%s\n", pl->p->where.hostport,
		pl->job[0] ? pl->job : "-", state, why ? ": " : "", why ? why : "");
}

static int stopping(struct swarm *s)
{
	return atomic_load(&s->stopping) || atomic_load(&interrupted);
}

/* Sleeps ms, or less when the swarm stops. */
static void nap(struct swarm *s, unsigned int ms)
{
	for (; ms && !stopping(s); ms -= ms < 100 ? ms : 100)
		usleep(100000);
}

/*
 * The provider with the fewest pilots, not in back-off nor being tried
 * after a failure, counted in; NULL once stopping.
 */
static struct provider *choose(struct swarm *s)
{
	struct provider *best = NULL;
	uint64_t now, soonest;
	struct timespec ts;
	size_t i, j;

	pthread_mutex_lock(&s->lock);
	while (!best && !stopping(s)) {
		now = omt_mono_ms();
		soonest = now + 1000;
		for (i = 0; i < s->n_providers; i++) {
			struct provider *p = &s->providers[(s->next + i) % s->n_providers];

			if (p->not_before_ms > now) {
				soonest = p->not_before_ms < soonest ? p->not_before_ms : soonest;
				continue;
			}
			/* After a failure, one try at a time until a pilot runs there. */
			if (p->failures && p->live)
				continue;
			if (!best || p->live < best->live)
				best = p;
		}
		if (best)
			break;
		/* The condition uses CLOCK_MONOTONIC (pilots_start). */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (soonest - now) / 1000;
		ts.tv_nsec += (soonest - now) % 1000 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->wake, &s->lock, &ts);
	}
	if (best) {
		best->live++;
		j = best - s->providers;
		s->next = (j + 1) % s->n_providers;
	}
	pthread_mutex_unlock(&s->lock);
	return best;
}

/* A pilot of p's runs: p works again, whatever failed there before. */
static void pilot_running(struct swarm *s, struct provider *p)
{
	pthread_mutex_lock(&s->lock);
	p->failures = 0;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* A pilot of p's is over: ran_ms it ran (0: never). Back-off unless it ran long. */
static void ended(struct swarm *s, struct provider *p, uint64_t ran_ms)
{
	uint64_t delay;

	pthread_mutex_lock(&s->lock);
	p->live--;
	if (ran_ms >= LONG_RUN_MS) {
		p->failures = 0;
		p->not_before_ms = 0;
	} else {
		p->failures++;
		delay = 1000ull << (p->failures < 7 ? p->failures - 1 : 6);
		p->not_before_ms = omt_mono_ms() + (delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS);
	}
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static int request(struct provider *p, const char *method, const char *path, const char *body,
		   struct cli_resp *r, char *err, size_t errlen)
{
	int e;

	pthread_mutex_lock(&p->http_lock);
	e = cli_request(&p->http, method, path, body, r, err, errlen);
	pthread_mutex_unlock(&p->http_lock);
	return e;
}

static int cancel(struct pilot *pl, char *err, size_t errlen)
{
	int e;

	pthread_mutex_lock(&pl->p->http_lock);
	e = cli_job_cancel(&pl->p->http, pl->job, err, errlen);
	pthread_mutex_unlock(&pl->p->http_lock);
	return e;
}

/* The pilot's request to p: the script, the password as an input, our tunnel. */
static int pilot_request(struct pilot *pl, char **body, char *err, size_t errlen)
{
	struct swarm *s = pl->s;
	struct omt_job_input in = { .name = PASSWORD_INPUT, .data = (uint8_t *)s->password,
				    .len = s->password_len };
	struct omt_job_request req = {
		.description = s->description, .script = s->script, .script_len = strlen(s->script),
		.cpus = s->cpus, .memory_mib = s->memory_mib, .timeout_s = s->timeout_s,
		.image = OMT_JOB_IMAGE_DEBIAN, .language = OMT_JOB_LANGUAGE_SH, .inputs = &in, .n_inputs = 1,
	};
	struct omt_job_vpn *v = &req.vpn;
	int e;

	if ((e = cli_local_ip_towards(pl->p->where.ip, pl->p->where.port, v->endpoint_ip))) {
		snprintf(err, errlen, "no route: %s", strerror(-e));
		return e;
	}
	v->endpoint_port = s->wg_port;
	memcpy(v->public_key, s->wg_public, 32);
	memcpy(v->vm_address.ip, (uint8_t[4]){ 10, 77, s->subnet, 2 + pl->slot }, 4);
	v->vm_address.prefix = 24;
	memcpy(v->consumer_address, (uint8_t[4]){ 10, 77, s->subnet, 1 }, 4);
	/* The VM routes to us alone, not to the other pilots. */
	memcpy(v->allowed_ips[0].ip, v->consumer_address, 4);
	v->allowed_ips[0].prefix = 32;
	v->n_allowed_ips = 1;
	if ((e = omt_job_request_format(&req, body)))
		snprintf(err, errlen, "the request: %s", strerror(-e));
	return e;
}

/* Submits a pilot to pl->p: 0 with pl->job and its VM our peer, or -1 having said why. */
static int submit(struct pilot *pl)
{
	struct omt_job_accept acc;
	struct cli_resp r;
	char err[600], *body = NULL;
	int e;

	pl->job[0] = '\0';
	if (pilot_request(pl, &body, err, sizeof(err))) {
		say(pl, "unreachable", err);
		return -1;
	}
	e = request(pl->p, "POST", "/v1/jobs", body, &r, err, sizeof(err));
	free(body);
	if (e) {
		say(pl, "unreachable", err);
		return -1;
	}
	if (r.status != 201) {
		cli_refusal_text(&r, err, sizeof(err));
		cli_resp_free(&r);
		say(pl, "refused", err);
		return -1;
	}
	e = omt_job_accept_parse(r.body, r.len, &acc, err, sizeof(err));
	cli_resp_free(&r);
	if (e) {
		say(pl, "refused", err);
		return -1;
	}
	memcpy(pl->job, acc.job, sizeof(pl->job));
	memcpy(pl->vm_key, acc.vm_public_key, 32);
	/* Keepalives both ways: the provider takes silence for a lost VPN. */
	e = omt_wg_peer_add(&pl->s->wg, pl->vm_key,
			    (uint8_t[4]){ 10, 77, pl->s->subnet, 2 + pl->slot }, 5);
	if (e) {
		snprintf(err, sizeof(err), "add its peer to %s: %s", pl->s->ifname, strerror(-e));
		say(pl, "cancelled", err);
		cancel(pl, err, sizeof(err));
		return -1;
	}
	pl->peer = 1;
	say(pl, "queued", NULL);
	return 0;
}

/* The job's state, into *st: 0, or -1 with err set. */
static int job_state(struct pilot *pl, struct omt_job_status *st, char *err, size_t errlen)
{
	struct cli_resp r;
	char path[64];
	int e;

	snprintf(path, sizeof(path), "/v1/jobs/%s", pl->job);
	if (request(pl->p, "GET", path, NULL, &r, err, errlen))
		return -1;
	if (r.status != 200) {
		cli_refusal_text(&r, err, errlen);
		e = -1;
	} else {
		e = omt_job_status_parse(r.body, r.len, st, err, errlen) ? -1 : 0;
	}
	cli_resp_free(&r);
	return e;
}

/*
 * The last line the pilot wrote on stderr (the worker says there why it
 * left), quoted, into out; "" when there is none or it can't be had.
 */
static void last_words(struct pilot *pl, char *out, size_t size)
{
	struct omt_job_output *o = calloc(1, sizeof(*o));
	const uint8_t *d, *start;
	struct cli_resp r;
	char path[96], err[300], q[OMT_QUOTE_SIZE(200)];
	size_t len;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/v1/jobs/%s/output?stdout=0&stderr=0", pl->job);
	if (!o || request(pl->p, "GET", path, NULL, &r, err, sizeof(err))) {
		free(o);
		return;
	}
	if (r.status == 200 && !omt_job_output_parse(r.body, r.len, o, err, sizeof(err))) {
		d = o->stream[OMT_JOB_STDERR].data;
		len = o->stream[OMT_JOB_STDERR].len;
		while (len && (d[len - 1] == '\n' || d[len - 1] == '\r'))
			len--;
		for (start = d + len; start > d && start[-1] != '\n'; start--)
			;
		if (len)
			snprintf(out, size, "; its last words: %s",
				 omt_quote_mem(q, (const char *)start, d + len - start, 200, 1));
	}
	cli_resp_free(&r);
	free(o);
}

/* Follows the pilot's job until it ends or the swarm stops; how long it ran (ms). */
static uint64_t follow(struct pilot *pl)
{
	struct omt_job_status st;
	uint64_t started = 0, heard = omt_mono_ms();
	char err[600], why[1400], words[OMT_QUOTE_SIZE(200) + 20];

	while (!stopping(pl->s)) {
		nap(pl->s, POLL_MS);
		if (stopping(pl->s))
			break;
		if (job_state(pl, &st, err, sizeof(err))) {
			if (omt_mono_ms() - heard < LOST_MS)
				continue;
			say(pl, "lost", err);
			cancel(pl, err, sizeof(err));
			pl->job[0] = '\0';
			break;
		}
		heard = omt_mono_ms();
		if (st.state == OMT_JOB_RUNNING && !started) {
			started = heard;
			say(pl, "running", NULL);
			pilot_running(pl->s, pl->p);
		}
		if (st.state >= OMT_JOB_DONE) {
			last_words(pl, words, sizeof(words));
			if (st.exit_status >= 0)
				snprintf(why, sizeof(why), "%s (exit status %d)%s", st.outcome,
					 st.exit_status, words);
			else
				snprintf(why, sizeof(why), "%s%s", st.outcome[0] ? st.outcome : "over",
					 words);
			say(pl, "ended", why);
			pl->job[0] = '\0';
			break;
		}
	}
	if (pl->job[0])
		say(pl, "cancelled", cancel(pl, err, sizeof(err)) ? err : NULL);
	return started ? omt_mono_ms() - started : 0;
}

static void *pilot_loop(void *arg)
{
	struct pilot *pl = arg;
	uint64_t ran;

	while ((pl->p = choose(pl->s))) {
		ran = 0;
		if (!submit(pl))
			ran = follow(pl);
		if (pl->peer) {
			omt_wg_peer_remove(&pl->s->wg, pl->vm_key);
			pl->peer = 0;
		}
		sodium_memzero(pl->vm_key, sizeof(pl->vm_key));
		pl->job[0] = '\0';
		ended(pl->s, pl->p, ran);
	}
	return NULL;
}

/* The pilot's script: a Work Queue worker for our manager, with the VM's resources. */
static char *pilot_script(const struct swarm *s)
{
	/* It leaves before the job's timeout, so the manager hears of it. */
	unsigned int wall = s->timeout_s > 120 ? s->timeout_s - 60 : s->timeout_s / 2;
	char *out = NULL;

	if (wall < 1)
		wall = 1;
	if (asprintf(&out,
		     "# An Omerta swarm pilot: a Work Queue worker for the manager at our\n"
		     "# consumer's end of this job's tunnel; no catalog server is ever asked.\n"
		     "mem=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)\n"
		     "# Work Queue checks the disk it is promised against its own measure.\n"
		     "disk=$(df -Pm /tmp | awk 'NR == 2 { print int($4 * 0.9) }')\n"
		     "exec work_queue_worker --password /job/input/" PASSWORD_INPUT " \\\n"
		     "\t--cores \"$(nproc)\" --memory \"$mem\" --disk \"$disk\" --workdir /tmp \\\n"
		     "\t--single-shot --max-backoff 5 --connect-timeout 300 --wall-time %u \\\n"
		     "\t\"$OMERTA_CONSUMER_IP\" %u\n", wall, s->port) < 0)
		return NULL;
	return out;
}

struct opts {
	const char *providers, *description, *password_file, *identity;
	unsigned int workers, cpus, memory_mib, timeout_s, port;
};

/* The options into o: GO_ON, or the exit status (usage said why, or --help). */
#define GO_ON -1
static int parse_options(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "providers", required_argument, NULL, 'P' },
		{ "workers", required_argument, NULL, 'w' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "description", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "password-file", required_argument, NULL, 'W' },
		{ "identity", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char q[OMT_QUOTE_SIZE(60)];
	const char *p;
	int c, e = 0;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1 && !e) {
		switch (c) {
		case 'P':
			o->providers = optarg;
			break;
		case 'd':
			o->description = optarg;
			break;
		case 'W':
			o->password_file = optarg;
			break;
		case 'i':
			o->identity = optarg;
			break;
		case 'w':
			e = cli_parse_uint("swarm", "--workers", optarg, 1, MAX_WORKERS, &o->workers);
			break;
		case 'c':
			e = cli_parse_uint("swarm", "--cpus", optarg, 1, 64, &o->cpus);
			break;
		case 'm':
			e = cli_parse_uint("swarm", "--memory", optarg, 64, 65536, &o->memory_mib);
			break;
		case 't':
			e = cli_parse_uint("swarm", "--timeout", optarg, 1, 604800, &o->timeout_s);
			break;
		case 'p':
			e = cli_parse_uint("swarm", "--port", optarg, 1, 65535, &o->port);
			break;
		case 'h':
			usage(stdout);
			return OMT_EXIT_OK;
		default:
			usage(stderr);
			return OMT_EXIT_USAGE;
		}
	}
	if (e)
		return OMT_EXIT_USAGE;
	if (!o->providers || !o->workers) {
		fprintf(stderr, "swarm: %s is required\n", o->providers ? "--workers" : "--providers");
		return OMT_EXIT_USAGE;
	}
	/* What the providers would refuse, said once here rather than by each of them. */
	for (p = o->description; p && *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "swarm: --description contains a control character: %s\n",
				omt_quote(q, o->description, 60));
			return OMT_EXIT_USAGE;
		}
	}
	if (o->description && strlen(o->description) > DESCRIPTION_MAX) {
		fprintf(stderr, "swarm: --description is over %d bytes\n", DESCRIPTION_MAX);
		return OMT_EXIT_USAGE;
	}
	if (o->description && !omt_utf8_valid(o->description, strlen(o->description))) {
		fprintf(stderr, "swarm: --description is not UTF-8: %s\n",
			omt_quote(q, o->description, 60));
		return OMT_EXIT_USAGE;
	}
	return GO_ON;
}

/* The providers file into s, each with our identity. 0 or the exit status, having said why. */
static int load_providers(struct swarm *s, const struct opts *o)
{
	struct cli_provider list[CLI_PROVIDERS_MAX];
	struct cli_http me = {};
	char err[700], *buf;
	size_t len, i, n;
	int e;

	if ((e = omt_read_file(o->providers, CLI_PROVIDERS_MAX_FILE, &buf, &len, err, sizeof(err)))) {
		fprintf(stderr, "swarm: --providers %s\n", err);
		return e == -ENOENT || e == -EFBIG ? OMT_EXIT_USAGE : OMT_EXIT_FAIL;
	}
	e = cli_providers_parse(buf, len, list, &n, err, sizeof(err));
	free(buf);
	if (e || !n) {
		fprintf(stderr, "swarm: --providers %s: %s\n", o->providers, e ? err : "no provider in it");
		return OMT_EXIT_USAGE;
	}
	if ((e = cli_load_identity("swarm", o->identity, &me)))
		return e;
	s->providers = calloc(n, sizeof(*s->providers));
	if (!s->providers)
		return OMT_EXIT_FAIL;
	for (i = 0; i < n; i++) {
		struct provider *p = &s->providers[i];

		p->where = list[i];
		p->http = me;
		snprintf(p->http.hostport, sizeof(p->http.hostport), "%s", p->where.hostport);
		memcpy(p->http.provider, p->where.key, 32);
		p->http.have_provider = p->where.has_key;
		pthread_mutex_init(&p->http_lock, NULL);
	}
	s->n_providers = n;
	sodium_memzero(&me, sizeof(me));
	return 0;
}

/* Nothing listens on the manager's TCP port yet: 0, or -1 having said why. */
static int port_free(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, e = 0;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		e = errno;
	close(fd);
	if (e)
		fprintf(stderr, "swarm: --port %u: %s\n", port, strerror(e));
	return e ? -1 : 0;
}

/* Our end: the interface, its address .1, a fresh key, a port. 0, or -1 having said why. */
static int tunnel_up(struct swarm *s)
{
	uint8_t priv[32], me[4];
	unsigned int ifindex;
	int e;

	if (cli_pick_subnet(&s->subnet)) {
		fprintf(stderr, "swarm: no free 10.77.X.0/24 for the tunnel\n");
		return -1;
	}
	if (cli_tunnel_create("swarm", "omts", s->ifname, &s->wg))
		return -1;
	memcpy(me, (uint8_t[4]){ 10, 77, s->subnet, 1 }, 4);
	omt_wg_keypair(priv, s->wg_public);
	ifindex = if_nametoindex(s->ifname);
	e = omt_rtnl_addr_add4(ifindex, me, 24);
	if (!e)
		e = omt_rtnl_link_up(ifindex);
	if (!e)
		e = omt_wg_listen(&s->wg, priv, &s->wg_port);
	sodium_memzero(priv, sizeof(priv));
	if (e)
		fprintf(stderr, "swarm: set up %s: %s\n", s->ifname, strerror(-e));
	return e ? -1 : 0;
}

/* The nftables table that keeps the manager's port to our interface: its name. */
static void table_name(const struct swarm *s, char out[64])
{
	snprintf(out, 64, "omerta_swarm_%s", s->ifname + 4);
}

/*
 * The workers' password: the file given, or new random text in a private
 * directory (*tmpdir, removed at the end), whose path goes into path.
 * 0, or an exit status having said why.
 */
static int password_setup(struct swarm *s, const char *given, char *tmpdir, char path[PATH_MAX])
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	uint8_t r[32];
	char err[700];
	int e, fd;

	if (given) {
		e = omt_read_file(given, PASSWORD_MAX, &s->password, &s->password_len, err, sizeof(err));
		if (e || !s->password_len || !realpath(given, path)) {
			fprintf(stderr, "swarm: --password-file %s\n", e ? err : "is empty");
			return OMT_EXIT_USAGE;
		}
		return 0;
	}
	s->password = malloc(2 * sizeof(r) + 1);
	if (!s->password || getrandom(r, sizeof(r), 0) != sizeof(r))
		return OMT_EXIT_FAIL;
	sodium_bin2hex(s->password, 2 * sizeof(r) + 1, r, sizeof(r));
	s->password_len = 2 * sizeof(r);
	snprintf(tmpdir, PATH_MAX, "%s/omerta-swarm.XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "swarm: a directory in %s: %s\n", base, strerror(errno));
		tmpdir[0] = '\0';
		return OMT_EXIT_FAIL;
	}
	snprintf(path, PATH_MAX, "%s/password", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	e = fd < 0 ? -errno : omt_write_all(fd, s->password, s->password_len);
	if (fd >= 0 && close(fd) < 0 && !e)
		e = -errno;
	if (e) {
		fprintf(stderr, "swarm: %s: %s\n", path, strerror(-e));
		return OMT_EXIT_FAIL;
	}
	return 0;
}

/*
 * The manager: argv with the swarm's variables in its environment, our
 * signals back to their defaults. Its pid, or -1 having said why (exec's
 * error comes back through a close-on-exec pipe).
 */
static pid_t manager_start(const struct swarm *s, char **argv, const char *password_path)
{
	char port[8], addr[16];
	int pfd[2], e = 0;
	sigset_t none;
	pid_t pid;

	snprintf(port, sizeof(port), "%u", s->port);
	snprintf(addr, sizeof(addr), "10.77.%u.1", s->subnet);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setenv("OMERTA_SWARM_PORT", port, 1);
		setenv("OMERTA_SWARM_PASSWORD_FILE", password_path, 1);
		setenv("OMERTA_SWARM_ADDRESS", addr, 1);
		execvp(argv[0], argv);
		e = errno;
		if (write(pfd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	if (pid > 0 && read(pfd[0], &e, sizeof(e)) == sizeof(e)) {
		fprintf(stderr, "swarm: cannot run '%s': %s\n", argv[0], strerror(e));
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(pfd[0]);
	return pid;
}

/* Waits for the manager (or, pid -1, a signal): the exit status to end with. */
static int manager_wait(pid_t pid)
{
	uint64_t since = 0;
	int st, sig;

	for (;;) {
		if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid)
			break;
		sig = atomic_load(&interrupted);
		if (sig && pid < 0)
			return 128 + sig;
		if (sig && !since)
			since = omt_mono_ms();
		/* It got the terminal's Ctrl-C too, most likely; else it gets ours. */
		if (since && omt_mono_ms() - since > MANAGER_GRACE_MS)
			kill(pid, SIGTERM);
		if (since && omt_mono_ms() - since > MANAGER_GRACE_MS + MANAGER_TERM_MS)
			kill(pid, SIGKILL);
		usleep(100000);
	}
	if (atomic_load(&interrupted))
		return 128 + atomic_load(&interrupted);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* Every pilot cancelled (each thread does its own) and its thread gone. */
static void pilots_stop(struct swarm *s, struct pilot *pl)
{
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, 1);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < s->workers; i++)
		if (pl[i].s)
			pthread_join(pl[i].thread, NULL);
	free(pl);
}

/* N pilot threads, our signals blocked in them (the main thread takes them); NULL having said why. */
static struct pilot *pilots_start(struct swarm *s)
{
	struct pilot *pl = calloc(s->workers, sizeof(*pl));
	pthread_condattr_t ca;
	sigset_t block, old;
	unsigned int i;
	int e = 0;

	if (!pl) {
		fprintf(stderr, "swarm: out of memory\n");
		return NULL;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->lock, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < s->workers && !e; i++) {
		pl[i].s = s;
		pl[i].slot = i;
		if ((e = pthread_create(&pl[i].thread, NULL, pilot_loop, &pl[i])))
			pl[i].s = NULL;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		fprintf(stderr, "swarm: a thread for pilot %u: %s\n", i, strerror(e));
		pilots_stop(s, pl);
		return NULL;
	}
	return pl;
}

/* What was set up: each undo is safe when its step never ran. */
static void teardown(struct swarm *s, int table, const char *tmpdir, const char *password_path)
{
	char name[64];
	size_t i;

	if (table) {
		table_name(s, name);
		omt_nft_del_table(NFPROTO_INET, name);
	}
	omt_wg_down(&s->wg);
	if (tmpdir[0]) {
		unlink(password_path);
		rmdir(tmpdir);
	}
	if (s->password)
		sodium_memzero(s->password, s->password_len);
	free(s->password);
	free(s->script);
	free(s->description);
	for (i = 0; i < s->n_providers; i++)
		sodium_memzero(&s->providers[i].http, sizeof(s->providers[i].http));
	free(s->providers);
}

/* The interface, the table, the pilots' script and description. 0, or -1 having said why. */
static int setup(struct swarm *s, const struct opts *o, int *table)
{
	char name[64];
	int e;

	if (port_free(s->port) || tunnel_up(s))
		return -1;
	table_name(s, name);
	if ((e = omt_nft_add_tunnel_port_only(name, s->ifname, s->port))) {
		fprintf(stderr, "swarm: nftables table %s: %s\n", name, strerror(-e));
		return -1;
	}
	*table = 1;
	s->script = pilot_script(s);
	if (asprintf(&s->description, "omerta swarm pilot: a Work Queue worker for the manager "
		     "at 10.77.%u.1:%u%s%s", s->subnet, s->port, o->description ? ": " : "",
		     o->description ? o->description : "") < 0)
		s->description = NULL;
	if (!s->script || !s->description) {
		fprintf(stderr, "swarm: out of memory\n");
		return -1;
	}
	return 0;
}

int swarm_main(int argc, char **argv)
{
	struct opts o = { .cpus = 1, .memory_mib = 256, .timeout_s = 600, .port = DEFAULT_PORT };
	struct swarm s = {};
	char tmpdir[PATH_MAX] = "", password_path[PATH_MAX] = "";
	struct pilot *pl;
	int ret, table = 0;
	pid_t manager = -1;

	ret = parse_options(argc, argv, &o);
	if (ret != GO_ON)
		return ret;
	s.workers = o.workers;
	s.cpus = o.cpus;
	s.memory_mib = o.memory_mib;
	s.timeout_s = o.timeout_s;
	s.port = o.port;
	cli_catch_signals(on_signal);
	ret = load_providers(&s, &o);
	if (!ret)
		ret = password_setup(&s, o.password_file, tmpdir, password_path);
	if (ret)
		goto out;
	ret = OMT_EXIT_FAIL;
	if (setup(&s, &o, &table))
		goto out;
	fprintf(stderr, "omerta: swarm: tunnel %s, manager at 10.77.%u.1:%u, password file %s, "
			"%u pilots on %zu providers\n", s.ifname, s.subnet, s.port, password_path,
		s.workers, s.n_providers);
	if (optind < argc && (manager = manager_start(&s, argv + optind, password_path)) < 0)
		goto out;
	pl = pilots_start(&s);
	if (pl) {
		ret = manager_wait(manager);
		pilots_stop(&s, pl);
	} else if (manager > 0) {
		kill(manager, SIGTERM);
		manager_wait(manager);
	}
out:
	teardown(&s, table, tmpdir, password_path);
	return ret;
}
