// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * POST /v1/jobs/ID/checkpoint and /restore, done off the API thread: each
 * in a thread of its own (detached, at most MAX_CONTROLS at once), which
 * asks the job's exec over its control socket (host/control.h) without
 * d.lock, then takes d.lock to write exec's answer into the job's control
 * record, which GET /v1/jobs/ID shows. The thread holds no pointer to the
 * job: it finds it again by id and seq, so a job dropped meanwhile (it
 * ended, and 256 others after it) is simply not found.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/control.h"
#include "../lib/log.h"
#include "internal.h"

/* As `omerta-loader checkpoint`: a big VM's checkpoint takes a while under TCG. */
#define CONTROL_TIMEOUT_MS 120000

/* What a control thread is given: which job (by value), and what to ask of it. */
struct control_call {
	char id[OMT_JOB_ID_LEN + 1];
	uint64_t seq;			/* its qkey.seq: a dropped job's id may come back, a seq never */
	char action[OMT_JOB_MAX_OUTCOME + 1];
	char consumer[45];		/* for the log lines */
};

static void *control_thread(void *arg)
{
	struct control_call *cc = arg;
	struct omt_log_fields about = { .job = cc->id, .consumer = cc->consumer };
	char said[OMT_CONTROL_MAX_LINE];
	struct djob *j;
	int r;

	r = omt_control_request(cc->id, cc->action, CONTROL_TIMEOUT_MS, said, sizeof(said));
	if (r == 1)
		omt_log_with(OMT_LOG_INFO, &about, "job %s: %s for its consumer: %s", cc->id,
			     cc->action, said);
	else
		omt_log_with(OMT_LOG_WARN, &about, "job %s: %s for its consumer failed: %s", cc->id,
			     cc->action, said);
	pthread_mutex_lock(&d.lock);
	j = find_job(cc->id);
	if (j && j->qkey.seq == cc->seq) {
		j->control.state = r == 1 ? OMT_JOB_CONTROL_DONE : OMT_JOB_CONTROL_FAILED;
		/* exec's answer goes to the consumer: printable, and as long as the API allows. */
		printable_copy(j->control.message, sizeof(j->control.message), said);
	}
	d.controls--;
	pthread_cond_broadcast(&d.controls_idle);
	pthread_mutex_unlock(&d.lock);
	free(cc);
	return NULL;
}

unsigned int control_start(struct djob *j, const char *action, const char **why)
{
	struct control_call *cc;
	pthread_attr_t attr;
	pthread_t t;
	int e;

	*why = "the job is not running";
	if (j->state != J_RUNNING)
		return MHD_HTTP_CONFLICT;
	*why = "a checkpoint or restore of this job is under way: wait for it to end";
	if (j->control.state == OMT_JOB_CONTROL_RUNNING)
		return MHD_HTTP_CONFLICT;
	*why = "the provider is shutting down";
	if (d.stopping)
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	*why = "busy with other checkpoints and restores: try again";
	if (d.controls >= MAX_CONTROLS)
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	*why = "out of resources: try again";
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	memcpy(cc->id, j->id, sizeof(cc->id));
	cc->seq = j->qkey.seq;
	memcpy(cc->consumer, j->consumer_b64, sizeof(cc->consumer));
	snprintf(cc->action, sizeof(cc->action), "%s", action);
	/* It inherits this thread's mask: every signal blocked (run.c's signalfd takes them). */
	e = pthread_attr_init(&attr);
	if (!e) {
		e = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (!e)
			e = pthread_create(&t, &attr, control_thread, cc);
		pthread_attr_destroy(&attr);
	}
	if (e) {
		job_log(OMT_LOG_ERR, j, "%s: no thread for it: %s", action, strerror(e));
		free(cc);
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	/* The thread writes its answer under d.lock, held here: this comes first. */
	d.controls++;
	j->control = (struct omt_job_control){ .state = OMT_JOB_CONTROL_RUNNING };
	snprintf(j->control.action, sizeof(j->control.action), "%s", action);
	job_log(OMT_LOG_INFO, j, "%s asked by its consumer", action);
	return 0;
}

void controls_wait(void)
{
	pthread_mutex_lock(&d.lock);
	while (d.controls)
		pthread_cond_wait(&d.controls_idle, &d.lock);
	pthread_mutex_unlock(&d.lock);
}
