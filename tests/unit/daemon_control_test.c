// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * daemon/control.c: checkpoints and restores for the API, each in a thread
 * of its own. The job's exec is stood in for by omt_control_request,
 * wrapped (the Makefile links this test with --wrap): each call waits
 * until the test lets one go, then answers what the test says. So the
 * tests hold checkpoints "under way" as long as they like: the bounds
 * (one per job, MAX_CONTROLS in all), the answer written into the job,
 * and a job dropped, or its id taken by another, before the answer comes.
 */
#include <errno.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../daemon/internal.h"

/* What the stand-in answers, and (under seen) how many calls it has had. */
static sem_t go;
static int answer_r;
static const char *answer_text;
static pthread_mutex_t seen = PTHREAD_MUTEX_INITIALIZER;
static unsigned int calls;
static char last_job[OMT_JOB_ID_LEN + 1], last_cmd[32];

int __wrap_omt_control_request(const char *job, const char *cmd, int timeout_ms, char *reply,
			       size_t len);
int __wrap_omt_control_request(const char *job, const char *cmd, int timeout_ms, char *reply,
			       size_t len)
{
	(void)timeout_ms;
	pthread_mutex_lock(&seen);
	calls++;
	snprintf(last_job, sizeof(last_job), "%s", job);
	snprintf(last_cmd, sizeof(last_cmd), "%s", cmd);
	pthread_mutex_unlock(&seen);
	while (sem_wait(&go) < 0 && errno == EINTR)
		;
	snprintf(reply, len, "%s", answer_text);
	return answer_r;
}

static struct djob *add_job(const char *id, enum jstate state)
{
	struct djob *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->state = state;
	j->qkey.seq = ++d.seq;
	j->out.fd = j->err.fd = -1;
	pthread_mutex_lock(&d.lock);
	j->next = d.jobs;
	d.jobs = j;
	pthread_mutex_unlock(&d.lock);
	return j;
}

static void drop_all(void)
{
	struct djob *j;

	pthread_mutex_lock(&d.lock);
	while ((j = d.jobs)) {
		d.jobs = j->next;
		free(j);
	}
	d.stopping = 0;
	pthread_mutex_unlock(&d.lock);
}

/* control_start as the API thread calls it: under d.lock. */
static unsigned int start(struct djob *j, const char *action, const char **why)
{
	unsigned int status;

	pthread_mutex_lock(&d.lock);
	status = control_start(j, action, why);
	pthread_mutex_unlock(&d.lock);
	return status;
}

static unsigned int controls(void)
{
	unsigned int n;

	pthread_mutex_lock(&d.lock);
	n = d.controls;
	pthread_mutex_unlock(&d.lock);
	return n;
}

static unsigned int calls_seen(void)
{
	unsigned int n;

	pthread_mutex_lock(&seen);
	n = calls;
	pthread_mutex_unlock(&seen);
	return n;
}

/* Until n calls have reached the stand-in (each thread makes one). */
static void wait_calls(unsigned int n)
{
	int i;

	for (i = 0; i < 5000 && calls_seen() < n; i++)
		usleep(1000);
	assert_int_equal(calls_seen(), n);
}

static void let_go(unsigned int n, int r, const char *text)
{
	answer_r = r;
	answer_text = text;
	while (n--)
		sem_post(&go);
}

static int setup(void **state)
{
	(void)state;
	pthread_mutex_lock(&seen);
	calls = 0;
	pthread_mutex_unlock(&seen);
	return sem_init(&go, 0, 0);
}

static int teardown(void **state)
{
	(void)state;
	/* A test that failed half way leaves threads waiting: let them all go. */
	let_go(MAX_CONTROLS, 0, "the test is over");
	controls_wait();
	drop_all();
	return sem_destroy(&go);
}

/* Started at once, "running" meanwhile; exec's answer lands in the job, printable. */
static void test_answer_written(void **state)
{
	struct djob *j = add_job("0a1b2c3d", J_RUNNING);
	const char *why = NULL;

	(void)state;
	assert_int_equal(start(j, "checkpoint", &why), 0);
	pthread_mutex_lock(&d.lock);
	assert_int_equal(j->control.state, OMT_JOB_CONTROL_RUNNING);
	assert_string_equal(j->control.action, "checkpoint");
	assert_string_equal(j->control.message, "");
	pthread_mutex_unlock(&d.lock);
	wait_calls(1);
	pthread_mutex_lock(&seen);
	assert_string_equal(last_job, "0a1b2c3d");
	assert_string_equal(last_cmd, "checkpoint");
	pthread_mutex_unlock(&seen);
	/* Under way for as long as exec takes: the lock is free meanwhile. */
	usleep(20000);
	assert_int_equal(controls(), 1);
	pthread_mutex_lock(&d.lock);
	assert_int_equal(j->control.state, OMT_JOB_CONTROL_RUNNING);
	pthread_mutex_unlock(&d.lock);

	let_go(1, 1, "checkpointed to \x1b[31mx");
	controls_wait();
	assert_int_equal(controls(), 0);
	assert_int_equal(j->control.state, OMT_JOB_CONTROL_DONE);
	assert_string_equal(j->control.message, "checkpointed to ?[31mx");

	/* A refusal, then a job that can't be reached: both "failed"; the next replaces the last. */
	assert_int_equal(start(j, "checkpoint", &why), 0);
	let_go(1, 0, "already checkpointed");
	controls_wait();
	assert_int_equal(j->control.state, OMT_JOB_CONTROL_FAILED);
	assert_string_equal(j->control.message, "already checkpointed");
	assert_int_equal(start(j, "restore", &why), 0);
	assert_string_equal(j->control.action, "restore");
	assert_string_equal(j->control.message, "");
	let_go(1, -ETIMEDOUT, "job '0a1b2c3d' did not answer 'restore': Connection timed out");
	controls_wait();
	assert_int_equal(j->control.state, OMT_JOB_CONTROL_FAILED);
	assert_string_equal(j->control.message,
			    "job '0a1b2c3d' did not answer 'restore': Connection timed out");
}

/* One per job, MAX_CONTROLS in all, none for a job that does not run or a daemon that stops. */
static void test_bounds(void **state)
{
	struct djob *j[MAX_CONTROLS + 1], *queued = add_job("00000009", J_QUEUED), *fresh;
	const char *why = NULL;
	char id[OMT_JOB_ID_LEN + 1];
	unsigned int i;

	(void)state;
	for (i = 0; i <= MAX_CONTROLS; i++) {
		snprintf(id, sizeof(id), "0000000%u", i);
		j[i] = add_job(id, J_RUNNING);
	}
	assert_int_equal(start(queued, "checkpoint", &why), MHD_HTTP_CONFLICT);
	assert_string_equal(why, "the job is not running");
	for (i = 0; i < MAX_CONTROLS; i++)
		assert_int_equal(start(j[i], i % 2 ? "restore" : "checkpoint", &why), 0);
	wait_calls(MAX_CONTROLS);
	assert_int_equal(start(j[0], "restore", &why), MHD_HTTP_CONFLICT);
	assert_string_equal(why, "a checkpoint or restore of this job is under way: wait for it to end");
	assert_int_equal(start(j[MAX_CONTROLS], "checkpoint", &why), MHD_HTTP_SERVICE_UNAVAILABLE);
	assert_string_equal(why, "busy with other checkpoints and restores: try again");
	assert_int_equal(j[MAX_CONTROLS]->control.state, OMT_JOB_CONTROL_NONE);
	assert_int_equal(controls(), MAX_CONTROLS);

	/* One ends: room for one more. */
	let_go(1, 1, "done");
	for (i = 0; i < 5000 && controls() == MAX_CONTROLS; i++)
		usleep(1000);
	assert_int_equal(controls(), MAX_CONTROLS - 1);
	assert_int_equal(start(j[MAX_CONTROLS], "checkpoint", &why), 0);
	assert_int_equal(controls(), MAX_CONTROLS);

	fresh = add_job("0000000f", J_RUNNING);
	pthread_mutex_lock(&d.lock);
	d.stopping = 1;
	pthread_mutex_unlock(&d.lock);
	assert_int_equal(start(fresh, "checkpoint", &why), MHD_HTTP_SERVICE_UNAVAILABLE);
	assert_string_equal(why, "the provider is shutting down");
	assert_int_equal(fresh->control.state, OMT_JOB_CONTROL_NONE);
	let_go(MAX_CONTROLS, 1, "done");
	controls_wait();
	assert_int_equal(controls(), 0);
	assert_int_equal(calls_seen(), MAX_CONTROLS + 1);
}

/*
 * The job ends and is dropped before exec answers, and a new job takes its
 * id: the answer goes nowhere (the thread kept no pointer to the old one),
 * the count still comes down, the new job's status is its own.
 */
static void test_job_dropped(void **state)
{
	struct djob *j = add_job("0a1b2c3d", J_RUNNING), *again;
	const char *why = NULL;

	(void)state;
	assert_int_equal(start(j, "checkpoint", &why), 0);
	wait_calls(1);
	pthread_mutex_lock(&d.lock);
	j->state = J_DONE;
	d.jobs = j->next;
	memset(j, 0x5a, sizeof(*j));
	free(j);
	pthread_mutex_unlock(&d.lock);
	again = add_job("0a1b2c3d", J_RUNNING);
	let_go(1, 1, "checkpointed");
	controls_wait();
	assert_int_equal(controls(), 0);
	assert_int_equal(again->control.state, OMT_JOB_CONTROL_NONE);
	assert_string_equal(again->control.message, "");

	/* No job at all by then: nothing to write, nothing left running. */
	assert_int_equal(start(again, "restore", &why), 0);
	wait_calls(2);
	drop_all();
	let_go(1, 0, "no running job");
	controls_wait();
	assert_int_equal(controls(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answer_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_dropped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
