// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The API's paths (api/job.h has their messages), each answered once the
 * request is authenticated (auth.c):
 *   POST   /v1/jobs                              submit
 *   GET    /v1/jobs/ID                           state
 *   DELETE /v1/jobs/ID                           cancel
 *   GET    /v1/jobs/ID/output?stdout=N&stderr=M  output from those offsets
 *   GET    /v1/jobs/ID/files                     its /job/output, once done
 *   POST   /v1/jobs/ID/checkpoint, /restore      started (control.c), 202 at once
 * Someone else's job does not exist, as far as a key can tell.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "../host/vmnet.h"
#include "../lib/log.h"
#include "internal.h"

#define OUTPUT_CHUNK (64 * 1024)	/* per stream and response */
#define MAX_FILES_SENDING 2		/* files answers (up to 128 MiB each) queued at once */

/*
 * The policy's decision on req from k's consumer, whose endpoint may be
 * none of host's addresses, in *dec: 0 to admit it, or the HTTP status of
 * a refusal, audited, with *why (in reason, or in *dec). With d.lock held.
 */
static unsigned int decide(const struct call *k, const struct omt_job_request *req,
			   const struct omt_host_addrs *host, struct omt_decision *dec,
			   char reason[200], const char **why)
{
	struct omt_job_ask ask = { .consumer_key = k->key, .description = req->description,
				   .cpus = req->cpus, .memory_mib = req->memory_mib,
				   .timeout_s = req->timeout_s, .host = host };

	if (omt_description_check(req->description, d.policy.max_description, reason, 200)) {
		audit_decision(k->key, NULL, req, 0, reason, NULL, k->remote);
		*why = reason;
		return MHD_HTTP_BAD_REQUEST;
	}
	memcpy(ask.endpoint_ip, req->vpn.endpoint_ip, 4);
	omt_policy_decide(&d.policy, &ask, jobs_of(k->key), dec);
	if (dec->admit && !d.stopping)
		return 0;
	*why = d.stopping ? "the provider is shutting down" : dec->reason;
	audit_decision(k->key, dec->consumer ? dec->network : NULL, req, 0, *why, NULL, k->remote);
	return d.stopping ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_FORBIDDEN;
}

/*
 * Whether req's storage needs fit the budgets (finished jobs' files
 * dropped to make room): 0, or 507 (audited) with the reason in reason.
 * With d.lock held.
 */
static unsigned int fit_storage(const struct call *k, const struct omt_job_request *req,
				const struct omt_decision *dec, struct omt_storage_need *need,
				char reason[300])
{
	if (!job_storage_fit(dec, k->key, req, need, reason, 300))
		return 0;
	audit_decision(k->key, dec->network, req, 0, reason, NULL, k->remote);
	return MHD_HTTP_INSUFFICIENT_STORAGE;
}

/* POST /v1/jobs: decided, its files written, audited, queued; 201 with the VM's public key. */
static enum MHD_Result route_submit(struct call *k)
{
	struct omt_job_accept acc = { .state = OMT_JOB_QUEUED };
	struct omt_storage_need need;
	struct omt_job_request req;
	struct omt_host_addrs host;
	struct omt_decision dec;
	char err[300], reason[300], *body = NULL;
	const char *why;
	unsigned int status;
	struct djob *j;

	if (omt_job_request_parse(k->body, k->len, &req, err, sizeof(err))) {
		audit_decision(k->key, NULL, NULL, 0, err, NULL, k->remote);
		return http_error(k->c, MHD_HTTP_BAD_REQUEST, err, k->digest);
	}
	/* As they are now, not under the lock: exec checks again before the VM starts. */
	if (omt_vmnet_host_addrs(&host, err, sizeof(err))) {
		pr_err("%s", err);
		audit_decision(k->key, NULL, &req, 0, err, NULL, k->remote);
		omt_job_request_free(&req);
		return http_error(k->c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read this host's "
				  "addresses", k->digest);
	}
	pthread_mutex_lock(&d.lock);
	status = decide(k, &req, &host, &dec, reason, &why);
	omt_host_addrs_free(&host);
	if (!status && (status = fit_storage(k, &req, &dec, &need, reason)))
		why = reason;
	j = status ? NULL : job_new(k->key, &dec, &req, &need);
	if (!j) {
		pthread_mutex_unlock(&d.lock);
		omt_job_request_free(&req);
		if (status)
			return http_error(k->c, status, why, k->digest);
		return http_error(k->c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of resources", k->digest);
	}
	if (job_write_files(j, acc.vm_public_key)) {
		pthread_mutex_unlock(&d.lock);
		free_job(j);
		return http_error(k->c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot write the job's files",
				  k->digest);
	}
	/* On disk before the job can start: a crash can't lose the admission. */
	audit_decision(k->key, j->network, &j->req, 1, "admitted", j->id, k->remote);
	job_queue(j);
	memcpy(acc.job, j->id, sizeof(acc.job));
	pthread_mutex_unlock(&d.lock);
	eventfd_write(d.wake, 1);
	omt_job_accept_format(&acc, &body);
	return http_reply(k->c, MHD_HTTP_CREATED, body, k->digest);
}

static char *status_body(const struct djob *j)
{
	static const enum omt_job_state states[] = { OMT_JOB_QUEUED, OMT_JOB_RUNNING, OMT_JOB_DONE,
						     OMT_JOB_CANCELLED };
	struct omt_job_status st = { .state = states[j->state], .exit_status = -1 };
	char *body = NULL;

	memcpy(st.job, j->id, sizeof(st.job));
	st.control = j->control;
	if (j->state == J_DONE || j->state == J_CANCELLED) {
		snprintf(st.outcome, sizeof(st.outcome), "%s", j->outcome);
		st.exit_status = j->exit_status < 0 ? -1 : j->exit_status & 0xff;
	}
	omt_job_status_format(&st, &body);
	return body;
}

/* GET /v1/jobs/ID. With d.lock held. */
static enum MHD_Result route_status(struct call *k)
{
	return http_reply(k->c, MHD_HTTP_OK, status_body(k->job), k->digest);
}

/* DELETE /v1/jobs/ID. With d.lock held. */
static enum MHD_Result route_cancel(struct call *k)
{
	cancel_job(k->job);
	write_state();
	return http_reply(k->c, MHD_HTTP_OK, status_body(k->job), k->digest);
}

/* GET /v1/jobs/ID/output: at most OUTPUT_CHUNK of each stream from its offset. With d.lock held. */
static enum MHD_Result route_output(struct call *k)
{
	const char *so = MHD_lookup_connection_value(k->c, MHD_GET_ARGUMENT_KIND, "stdout");
	const char *se = MHD_lookup_connection_value(k->c, MHD_GET_ARGUMENT_KIND, "stderr");
	const struct djob *j = k->job;
	uint64_t u1 = 0, u2 = 0;
	size_t o1, o2, n1, n2;
	struct omt_job_output *o;
	char *body = NULL;

	if ((so && omt_job_offset_parse(so, &u1)) || (se && omt_job_offset_parse(se, &u2)))
		return http_error(k->c, MHD_HTTP_BAD_REQUEST,
				  "stdout and stderr offsets are decimal numbers", k->digest);
	if (j->streams_dropped)
		return http_error(k->c, MHD_HTTP_GONE, "the job's output was dropped to make room "
				  "for newer jobs' output", k->digest);
	o1 = u1;
	o2 = u2;
	if (o1 > j->out.len)
		o1 = j->out.len;
	if (o2 > j->err.len)
		o2 = j->err.len;
	n1 = j->out.len - o1 > OUTPUT_CHUNK ? OUTPUT_CHUNK : j->out.len - o1;
	n2 = j->err.len - o2 > OUTPUT_CHUNK ? OUTPUT_CHUNK : j->err.len - o2;
	o = calloc(1, sizeof(*o));
	if (!o)
		return MHD_NO;
	o->done = (j->state == J_DONE || j->state == J_CANCELLED) && o1 + n1 == j->out.len &&
		  o2 + n2 == j->err.len;
	o->stream[OMT_JOB_STDOUT].len = n1;
	o->stream[OMT_JOB_STDOUT].next = o1 + n1;
	if (n1)
		memcpy(o->stream[OMT_JOB_STDOUT].data, j->out.data + o1, n1);
	o->stream[OMT_JOB_STDERR].len = n2;
	o->stream[OMT_JOB_STDERR].next = o2 + n2;
	if (n2)
		memcpy(o->stream[OMT_JOB_STDERR].data, j->err.data + o2, n2);
	omt_job_output_format(o, &body);
	free(o);
	return http_reply(k->c, MHD_HTTP_OK, body, k->digest);
}

/*
 * POST /v1/jobs/ID/checkpoint and /restore: started in a control thread
 * (control.c), answered at once: 202 and the status, its control
 * "running". GET /v1/jobs/ID tells how it went. With d.lock held.
 */
static enum MHD_Result route_control(struct call *k)
{
	unsigned int status;
	const char *why;

	status = control_start(k->job, k->what + 1, &why);
	if (status)
		return http_error(k->c, status, why, k->digest);
	return http_reply(k->c, MHD_HTTP_ACCEPTED, status_body(k->job), k->digest);
}

static unsigned int files_sending;	/* files answers queued and not sent yet */

static void files_sent(void *body)
{
	free(body);
	__atomic_fetch_sub(&files_sending, 1, __ATOMIC_RELAXED);
}

/* Why GET .../files can't be answered for j (NULL: it can), and with which status. */
static const char *files_refusal(const struct djob *j, unsigned int *status)
{
	*status = MHD_HTTP_NOT_FOUND;
	if (!j)
		return "no such job";
	if (!j->req.output)
		return "the job asked for no output files";
	*status = MHD_HTTP_CONFLICT;
	if (j->state == J_CANCELLED)
		return "the job was cancelled: it left no output files";
	if (j->state != J_DONE)
		return "the job has not ended: its output files come when it has";
	*status = MHD_HTTP_GONE;
	if (j->files_dropped)
		return "the job's output files were dropped to make room for newer jobs";
	return NULL;
}

/*
 * GET /v1/jobs/ID/files (files.c). Not under d.lock: reading up to 64 MiB
 * must not stall the jobs. The job can't be dropped meanwhile: that
 * happens on a submit, in this same thread.
 */
static enum MHD_Result route_files(struct call *k)
{
	char dir[300], output_error[OMT_JOB_FILES_MAX_ERROR + 1], err[FILES_ERR_LEN];
	char *body = NULL;
	unsigned int status;
	const struct djob *j;
	const char *why;

	pthread_mutex_lock(&d.lock);
	j = own_job(k->id, k->key);
	why = files_refusal(j, &status);
	if (!why) {
		snprintf(dir, sizeof(dir), "%s", j->out_dir);
		memcpy(output_error, j->output_error, sizeof(output_error));
	}
	pthread_mutex_unlock(&d.lock);
	if (!why && __atomic_load_n(&files_sending, __ATOMIC_RELAXED) >= MAX_FILES_SENDING) {
		why = "busy sending other output files: try again";
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	if (why)
		return http_error(k->c, status, why, k->digest);
	if (files_answer(dir, output_error, &body, &status, err)) {
		omt_log_with(OMT_LOG_WARN, &(struct omt_log_fields){ .job = k->id },
			     "job %s: output files not sent: %s", k->id, err);
		return http_error(k->c, status, err, k->digest);
	}
	__atomic_fetch_add(&files_sending, 1, __ATOMIC_RELAXED);
	return http_reply_then(k->c, MHD_HTTP_OK, body, k->digest, files_sent);
}

/*
 * What follows /v1/jobs/ID, and the method. A method a path does not take
 * is 405; on the paths looked up first (each of its rows says the same),
 * only once the job is known to be the caller's: else 404, like any job
 * of someone else's.
 */
static const struct route {
	const char *what;
	const char *method;
	bool looked_up;			/* answered with k->job found, under d.lock */
	enum MHD_Result (*answer)(struct call *k);
} routes[] = {
	{ "", "GET", true, route_status },
	{ "", "DELETE", true, route_cancel },
	{ "/output", "GET", true, route_output },
	{ "/files", "GET", false, route_files },
	{ "/checkpoint", "POST", true, route_control },
	{ "/restore", "POST", true, route_control },
};

enum MHD_Result route_call(struct call *k, const char *url)
{
	const struct route *r, *path = NULL, *found = NULL;
	enum MHD_Result ret;

	if (strcmp(url, "/v1/jobs") == 0 && strcmp(k->method, "POST") == 0)
		return route_submit(k);
	if (strncmp(url, "/v1/jobs/", 9) || strlen(url + 9) < OMT_JOB_ID_LEN)
		return http_error(k->c, MHD_HTTP_NOT_FOUND, "no such path", k->digest);
	snprintf(k->id, sizeof(k->id), "%.8s", url + 9);
	k->what = url + 9 + OMT_JOB_ID_LEN;
	for (r = routes; !found && r < routes + sizeof(routes) / sizeof(routes[0]); r++) {
		if (strcmp(r->what, k->what))
			continue;
		path = r;
		if (strcmp(r->method, k->method) == 0)
			found = r;
	}
	if (!path)
		return http_error(k->c, MHD_HTTP_NOT_FOUND, "no such path", k->digest);
	if (!path->looked_up && found)
		return found->answer(k);
	if (!path->looked_up)
		return http_error(k->c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed here",
				  k->digest);
	pthread_mutex_lock(&d.lock);
	k->job = own_job(k->id, k->key);
	if (!k->job)
		ret = http_error(k->c, MHD_HTTP_NOT_FOUND, "no such job", k->digest);
	else if (!found)
		ret = http_error(k->c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed here",
				 k->digest);
	else
		ret = found->answer(k);
	pthread_mutex_unlock(&d.lock);
	return ret;
}
