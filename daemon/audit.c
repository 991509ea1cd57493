// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The daemon's records in the audit log (policy/audit.h): every decision
 * on a verified request, every admitted job's outcome, and the requests
 * refused before they were verified, counted per client address and
 * reason and written once per REFUSALS_INTERVAL_S (one fsync'ed line per
 * request would let anyone on the internet keep the disk busy).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "../api/keys.h"
#include "../lib/log.h"
#include "internal.h"

#define REFUSALS_INTERVAL_S 10
#define REFUSALS_MAX 256		/* addresses and reasons in one interval; then "other" */

static struct refusals {
	pthread_mutex_t lock;
	time_t since;
	unsigned int n;
	struct refusal {
		char remote[16];
		char reason[48];
		char claimed_key[OMT_KEY_B64_LEN + 1];	/* the last one, "" when none was valid */
		bool verified;
		uint64_t count;
	} r[REFUSALS_MAX + 1];		/* the last one: everything beyond REFUSALS_MAX */
} refusals = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * The decision's log line: what the journal's OMERTA_JOB, OMERTA_CONSUMER
 * and OMERTA_REASON find. The reason may quote the request: printable only.
 */
static void log_decision(const char *b64, const char *network, int admit, const char *reason,
			 const char *job, const char *remote)
{
	struct omt_log_fields about = { .job = job, .consumer = b64[0] ? b64 : NULL };
	char shown[300];

	if (admit) {
		omt_log_with(OMT_LOG_INFO, &about, "job %s: admitted (consumer %.12s..., network %s)",
			     job, b64, network);
		return;
	}
	printable_copy(shown, sizeof(shown), reason);
	about.reason = shown;
	if (b64[0])
		omt_log_with(OMT_LOG_INFO, &about, "refused a job of consumer %.12s... from %s: %s",
			     b64, remote, shown);
	else
		omt_log_with(OMT_LOG_INFO, &about, "refused a job from %s: %s", remote, shown);
}

/* Thread-safe on its own (the audit log and the counter lock themselves). */
void audit_decision(const uint8_t *key, const char *network, const struct omt_job_request *r,
		    int admit, const char *reason, const char *job, const char *remote)
{
	json_object *o = json_object_new_object(), *res;
	char b64[45] = "";

	if (!admit)
		__atomic_fetch_add(&d.refused, 1, __ATOMIC_RELAXED);
	if (key)
		omt_key_b64(key, b64);
	json_object_object_add(o, "event", json_object_new_string("decision"));
	json_object_object_add(o, "consumer", key ? json_object_new_string(b64) : NULL);
	json_object_object_add(o, "network", network ? json_object_new_string(network) : NULL);
	json_object_object_add(o, "remote", json_object_new_string(remote));
	if (r) {
		json_object_object_add(o, "description", json_object_new_string(r->description));
		res = json_object_new_object();
		json_object_object_add(res, "cpus", json_object_new_int(r->cpus));
		json_object_object_add(res, "memory_mib", json_object_new_int(r->memory_mib));
		json_object_object_add(res, "timeout_s", json_object_new_int(r->timeout_s));
		json_object_object_add(o, "resources", res);
	}
	json_object_object_add(o, "decision", json_object_new_string(admit ? "admit" : "refuse"));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "job", job ? json_object_new_string(job) : NULL);
	if (omt_audit_write(d.audit, o))
		pr_err("audit log: %s", strerror(errno));
	json_object_put(o);
	log_decision(b64, network, admit, reason, job, remote);
}

/*
 * exec's result as it wrote it, with who and which job; without one (the
 * job never ran, or exec left nothing), the daemon's word on how it ended.
 * Counted for the metrics too. With d.lock held.
 */
void audit_outcome(const struct djob *j, const struct omt_exec_result *r)
{
	json_object *o = r ? omt_exec_result_json(r) : json_object_new_object();

	metrics_job_ended(j->outcome, r);
	if (!o) {
		pr_err("audit log: job %s: out of memory", j->id);
		return;
	}
	json_object_object_add(o, "event", json_object_new_string("outcome"));
	json_object_object_add(o, "job", json_object_new_string(j->id));
	json_object_object_add(o, "consumer", json_object_new_string(j->consumer_b64));
	json_object_object_add(o, "network", json_object_new_string(j->network));
	if (j->vm_id[0])	/* it started: on a warm VM, or booted for it */
		json_object_object_add(o, "start",
				       json_object_new_string(j->warm_start ? "warm" : "cold"));
	if (!r) {
		json_object_object_add(o, "outcome", json_object_new_string(j->outcome));
		json_object_object_add(o, "exit_status", json_object_new_int(j->exit_status));
	}
	if (omt_audit_write(d.audit, o))
		pr_err("audit log: %s", strerror(errno));
	json_object_put(o);
}

void audit_refusal(const char *claimed_key, bool verified, const char *remote,
		   const char *reason)
{
	struct refusal *e = NULL;
	uint8_t k[32];
	unsigned int i;

	__atomic_fetch_add(&d.refused, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&refusals.lock);
	for (i = 0; i < refusals.n && !e; i++)
		if (!strcmp(refusals.r[i].remote, remote) && !strcmp(refusals.r[i].reason, reason))
			e = &refusals.r[i];
	if (!e) {
		e = &refusals.r[refusals.n < REFUSALS_MAX ? refusals.n++ : REFUSALS_MAX];
		if (!e->count) {
			snprintf(e->remote, sizeof(e->remote), "%s",
				 e == &refusals.r[REFUSALS_MAX] ? "other" : remote);
			snprintf(e->reason, sizeof(e->reason), "%s",
				 e == &refusals.r[REFUSALS_MAX] ? "other" : reason);
		}
	}
	/* Only a well-formed key is repeated: the header is anyone's text. */
	if (claimed_key && !omt_key_from_b64(claimed_key, k))
		omt_key_b64(k, e->claimed_key);
	e->verified = verified;
	e->count++;
	pthread_mutex_unlock(&refusals.lock);
}

/* A refusals line's log line, for the journal's OMERTA_REASON and OMERTA_CONSUMER (claimed). */
static void log_refusals(const struct refusal *r)
{
	struct omt_log_fields about = { .reason = r->reason,
					.consumer = r->claimed_key[0] ? r->claimed_key : NULL };

	if (r->claimed_key[0])
		omt_log_with(OMT_LOG_INFO, &about, "refused %llu requests from %s claiming key "
			     "%.12s...: %s", (unsigned long long)r->count, r->remote, r->claimed_key,
			     r->reason);
	else
		omt_log_with(OMT_LOG_INFO, &about, "refused %llu requests from %s: %s",
			     (unsigned long long)r->count, r->remote, r->reason);
}

void audit_refusals_flush(void)
{
	struct refusal *taken;
	json_object *o;
	unsigned int i, n;
	time_t now = time(NULL);

	pthread_mutex_lock(&refusals.lock);
	if (now - refusals.since < REFUSALS_INTERVAL_S && !d.stopping) {
		pthread_mutex_unlock(&refusals.lock);
		return;
	}
	refusals.since = now;
	n = refusals.n + (refusals.r[REFUSALS_MAX].count ? 1 : 0);
	taken = n ? malloc(n * sizeof(*taken)) : NULL;
	if (taken) {
		memcpy(taken, refusals.r, refusals.n * sizeof(*taken));
		if (n > refusals.n)
			taken[n - 1] = refusals.r[REFUSALS_MAX];
	}
	memset(refusals.r, 0, sizeof(refusals.r));
	refusals.n = 0;
	pthread_mutex_unlock(&refusals.lock);
	/* Written outside the lock: the API thread goes on counting meanwhile. */
	for (i = 0; taken && i < n; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "event", json_object_new_string("refusals"));
		json_object_object_add(o, "claimed_key", taken[i].claimed_key[0] ?
				       json_object_new_string(taken[i].claimed_key) : NULL);
		json_object_object_add(o, "verified", json_object_new_boolean(taken[i].verified));
		json_object_object_add(o, "remote", json_object_new_string(taken[i].remote));
		json_object_object_add(o, "reason", json_object_new_string(taken[i].reason));
		json_object_object_add(o, "count", json_object_new_uint64(taken[i].count));
		if (omt_audit_write(d.audit, o))
			pr_err("audit log: %s", strerror(errno));
		json_object_put(o);
		log_refusals(&taken[i]);
	}
	if (n && !taken)
		pr_err("audit log: %u refusal counts lost: out of memory", n);
	free(taken);
}
