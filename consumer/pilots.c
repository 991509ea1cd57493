// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* omerta swarm's pilot threads: consumer/swarm.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/clock.h"
#include "../lib/text.h"
#include "cli.h"
#include "swarm.h"

#define POLL_MS 1000			/* a pilot's job state, asked this often */
#define LOST_MS 60000			/* its provider silent this long: the pilot is lost */
#define LONG_RUN_MS 60000		/* a pilot that ran this long ended well enough */
#define BACKOFF_MAX_MS 60000

/* The one line per change of a pilot. */
static void say(const struct pilot *pl, const char *state, const char *why)
{
	fprintf(stderr, "omerta: swarm: %s job %s %s%s%s\n", pl->p->where.hostport,
		pl->job[0] ? pl->job : "-", state, why ? ": " : "", why ? why : "");
}

static int stopping(struct swarm *s)
{
	return atomic_load(&s->stopping) || atomic_load(&swarm_signal);
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

/*
 * The pilot's script: a Work Queue worker for our manager, with the VM's
 * resources, named for its tunnel address ip. NULL when out of memory.
 */
static char *pilot_script(const struct swarm *s, const uint8_t ip[4])
{
	/* It leaves before the job's timeout, so the manager hears of it. */
	unsigned int wall = s->timeout_s > 120 ? s->timeout_s - 60 : s->timeout_s / 2;
	char *out = NULL;

	if (asprintf(&out,
		     "# An Omerta swarm pilot: a Work Queue worker for the manager at our\n"
		     "# consumer's end of this job's tunnel; no catalog server is ever asked.\n"
		     "# A name the worker can resolve (it reports it to the manager).\n"
		     "name=omerta-pilot-%u-%u-%u-%u\n"
		     "hostname \"$name\" && printf '127.0.1.1\\t%%s\\n' \"$name\" >>/etc/hosts\n"
		     "mem=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)\n"
		     "# Work Queue checks the disk it is promised against its own measure.\n"
		     "disk=$(df -Pm /tmp | awk 'NR == 2 { print int($4 * 0.9) }')\n"
		     "exec work_queue_worker --password /job/input/" PASSWORD_INPUT " \\\n"
		     "\t--cores \"$(nproc)\" --memory \"$mem\" --disk \"$disk\" --workdir /tmp \\\n"
		     "\t--single-shot --max-backoff 5 --connect-timeout 300 --wall-time %u \\\n"
		     "\t\"$OMERTA_CONSUMER_IP\" %u\n", ip[0], ip[1], ip[2], ip[3], wall ? wall : 1,
		     s->port) < 0)
		return NULL;
	return out;
}

/* The pilot's request to p: the script, the password as an input, our tunnel. */
static int pilot_request(struct pilot *pl, char **body, char *err, size_t errlen)
{
	struct swarm *s = pl->s;
	struct omt_job_input in = { .name = PASSWORD_INPUT, .data = (uint8_t *)s->password,
				    .len = s->password_len };
	struct omt_job_request req = {
		.description = s->description, .cpus = s->cpus, .memory_mib = s->memory_mib,
		.timeout_s = s->timeout_s, .image = OMT_JOB_IMAGE_DEBIAN,
		.language = OMT_JOB_LANGUAGE_SH, .inputs = &in, .n_inputs = 1,
	};
	struct omt_job_vpn *v = &req.vpn;
	int e;

	if (s->has_endpoint_ip)
		memcpy(v->endpoint_ip, s->endpoint_ip, 4);
	else if ((e = cli_local_ip_towards(pl->p->where.ip, pl->p->where.port, v->endpoint_ip))) {
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
	req.script = pilot_script(s, v->vm_address.ip);
	if (!req.script) {
		snprintf(err, errlen, "the request: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	req.script_len = strlen(req.script);
	if ((e = omt_job_request_format(&req, body)))
		snprintf(err, errlen, "the request: %s", strerror(-e));
	free(req.script);
	return e;
}

/*
 * GET (its state) or DELETE (cancel it) the pilot's job: 0 with *st its
 * state in the answer, or -1 with err set.
 */
static int job_call(struct pilot *pl, const char *method, struct omt_job_status *st, char *err,
		    size_t errlen)
{
	struct cli_resp r;
	char path[64];
	int e;

	snprintf(path, sizeof(path), "/v1/jobs/%s", pl->job);
	if (request(pl->p, method, path, NULL, &r, err, errlen))
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

/* Submits a pilot to pl->p: 0 with pl->job and its VM our peer, or -1 having said why. */
static int submit(struct pilot *pl)
{
	struct omt_job_status st;
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
		job_call(pl, "DELETE", &st, err, sizeof(err));
		return -1;
	}
	pl->peer = 1;
	say(pl, "queued", NULL);
	return 0;
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

/* "ended: OUTCOME (exit status N); its last words: '...'" */
static void say_ended(struct pilot *pl, const struct omt_job_status *st)
{
	char why[1400], words[OMT_QUOTE_SIZE(200) + 20];

	last_words(pl, words, sizeof(words));
	if (st->exit_status >= 0)
		snprintf(why, sizeof(why), "%s (exit status %d)%s", st->outcome, st->exit_status,
			 words);
	else
		snprintf(why, sizeof(why), "%s%s", st->outcome[0] ? st->outcome : "over", words);
	say(pl, "ended", why);
}

/*
 * The swarm stops: the pilot's job cancelled, or said to have ended when
 * it had (its worker leaves with the manager).
 */
static void cancel(struct pilot *pl)
{
	struct omt_job_status st;
	char err[600], why[700];

	if (job_call(pl, "DELETE", &st, err, sizeof(err))) {
		snprintf(why, sizeof(why), "can't cancel it: %s", err);
		say(pl, "lost", why);
	} else if (st.state >= OMT_JOB_DONE && strcmp(st.outcome, "cancelled")) {
		say_ended(pl, &st);
	} else {
		say(pl, "cancelled", NULL);
	}
}

/* Follows the pilot's job until it ends or the swarm stops; how long it ran (ms). */
static uint64_t follow(struct pilot *pl)
{
	struct omt_job_status st;
	uint64_t started = 0, heard = omt_mono_ms();
	char err[600];

	while (!stopping(pl->s)) {
		nap(pl->s, POLL_MS);
		if (stopping(pl->s))
			break;
		if (job_call(pl, "GET", &st, err, sizeof(err))) {
			if (omt_mono_ms() - heard < LOST_MS)
				continue;
			say(pl, "lost", err);
			job_call(pl, "DELETE", &st, err, sizeof(err));
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
			say_ended(pl, &st);
			pl->job[0] = '\0';
			break;
		}
	}
	if (pl->job[0])
		cancel(pl);
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

void pilots_stop(struct swarm *s, struct pilot *pl)
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
struct pilot *pilots_start(struct swarm *s)
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
