// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The job table (d.jobs) and its queue: admitted jobs wait ordered by
 * network priority, consumer priority and arrival, and at most max_vms run
 * at once. Finished jobs are kept, KEEP_FINISHED of them, for their
 * consumers to collect. Everything here runs with d.lock held.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../api/keys.h"
#include "../host/vmuid.h"
#include "../lib/log.h"
#include "../lib/tree.h"
#include "internal.h"

#define KEEP_FINISHED 256

void remove_path(const char *path)
{
	int e = omt_tree_remove(path);

	if (e && e != -ENOENT)
		pr_err("remove %s: %s", path, strerror(-e));
}

struct djob *find_job(const char *id)
{
	struct djob *j;

	for (j = d.jobs; j; j = j->next)
		if (strcmp(j->id, id) == 0)
			return j;
	return NULL;
}

struct djob *own_job(const char *id, const uint8_t key[32])
{
	struct djob *j = find_job(id);

	return j && !memcmp(j->consumer, key, 32) ? j : NULL;
}

unsigned int jobs_of(const uint8_t key[32])
{
	struct djob *j;
	unsigned int n = 0;

	for (j = d.jobs; j; j = j->next)
		if ((j->state == J_QUEUED || j->state == J_RUNNING) && !memcmp(j->consumer, key, 32))
			n++;
	return n;
}

struct djob *job_new(const uint8_t key[32], const struct omt_decision *dec,
		     struct omt_job_request *req)
{
	struct djob *j = calloc(1, sizeof(*j));
	int tries = 0;

	if (!j)
		return NULL;
	/* Ids are random: one already in use would share its files. */
	while (!omt_jobdir_new_id(j->id) && find_job(j->id) && ++tries < 8)
		;
	if (tries == 8 || find_job(j->id)) {
		free(j);
		return NULL;
	}
	j->req = *req;
	memcpy(j->consumer, key, 32);
	omt_key_b64(key, j->consumer_b64);
	snprintf(j->network, sizeof(j->network), "%s", dec->network);
	j->owner_priority = dec->owner_priority;
	j->qkey = (struct omt_queue_key){ dec->network_priority, dec->consumer_priority, ++d.seq };
	snprintf(j->consumer_ip, sizeof(j->consumer_ip), "%u.%u.%u.%u", req->vpn.consumer_address[0],
		 req->vpn.consumer_address[1], req->vpn.consumer_address[2],
		 req->vpn.consumer_address[3]);
	snprintf(j->conf_path, sizeof(j->conf_path), "%s/%s.conf", DAEMON_DIR, j->id);
	snprintf(j->script_path, sizeof(j->script_path), "%s/%s.sh", DAEMON_DIR, j->id);
	snprintf(j->result_path, sizeof(j->result_path), "%s/%s.result", DAEMON_DIR, j->id);
	if (j->req.n_inputs)
		snprintf(j->in_dir, sizeof(j->in_dir), "%s/%s.in", DAEMON_DIR, j->id);
	if (j->req.output)
		snprintf(j->out_dir, sizeof(j->out_dir), "%s/%s.out", DAEMON_DIR, j->id);
	j->out.fd = j->err.fd = -1;
	j->submitted = time(NULL);
	return j;
}

void free_job(struct djob *j)
{
	unlink(j->conf_path);
	unlink(j->script_path);
	unlink(j->result_path);
	remove_path(j->in_dir);
	remove_path(j->out_dir);
	free(j->out.data);
	free(j->err.data);
	omt_job_request_free(&j->req);
	free(j);
}

/* Drops the finished jobs that ended first, beyond KEEP_FINISHED. */
static void trim_jobs(void)
{
	struct djob **p, **oldest, *j;
	unsigned int finished = 0;

	for (j = d.jobs; j; j = j->next)
		finished += j->state == J_DONE || j->state == J_CANCELLED;
	while (finished > KEEP_FINISHED) {
		oldest = NULL;
		for (p = &d.jobs; *p; p = &(*p)->next)
			if (((*p)->state == J_DONE || (*p)->state == J_CANCELLED) &&
			    (!oldest || (*p)->finished <= (*oldest)->finished))
				oldest = p;
		j = *oldest;
		*oldest = j->next;
		free_job(j);
		finished--;
	}
}

void job_queue(struct djob *j)
{
	j->state = J_QUEUED;
	j->next = d.jobs;
	d.jobs = j;
	trim_jobs();
	write_state();
}

void job_drop_inputs(struct djob *j)
{
	unlink(j->conf_path);
	remove_path(j->in_dir);
}

/*
 * A queued job is cancelled on the spot (its outcome audited); a running
 * one's exec gets SIGTERM, once, and cleans up.
 */
void cancel_job(struct djob *j)
{
	if (j->state == J_QUEUED) {
		j->state = J_CANCELLED;
		snprintf(j->outcome, sizeof(j->outcome), "cancelled");
		j->exit_status = -1;	/* it never ran */
		j->finished = time(NULL);
		job_drop_inputs(j);
		audit_outcome(j, NULL);
	} else if (j->state == J_RUNNING && !j->cancel) {
		j->cancel = 1;
		kill(j->pid, SIGTERM);
	}
}

/* What `omerta-loader status` shows: the daemon's jobs, written atomically after every change. */
void write_state(void)
{
	static const char *const names[] = { "queued", "running", "done", "cancelled" };
	json_object *a = json_object_new_array(), *o;
	struct djob *j;

	for (j = d.jobs; j; j = j->next) {
		o = json_object_new_object();
		json_object_object_add(o, "job", json_object_new_string(j->id));
		json_object_object_add(o, "consumer", json_object_new_string(j->consumer_b64));
		json_object_object_add(o, "network", json_object_new_string(j->network));
		json_object_object_add(o, "state", json_object_new_string(names[j->state]));
		json_object_object_add(o, "description", json_object_new_string(j->req.description));
		json_object_object_add(o, "submitted", json_object_new_int64(j->submitted));
		json_object_object_add(o, "started", json_object_new_int64(j->started));
		json_object_object_add(o, "finished", json_object_new_int64(j->finished));
		if (j->state == J_DONE || j->state == J_CANCELLED) {
			json_object_object_add(o, "outcome", json_object_new_string(j->outcome));
			json_object_object_add(o, "exit_status", json_object_new_int(j->exit_status));
		}
		json_object_array_add(a, o);
	}
	if (json_object_to_file_ext(DAEMON_DIR "/state.json.tmp", a, JSON_C_TO_STRING_PLAIN) == 0)
		rename(DAEMON_DIR "/state.json.tmp", DAEMON_DIR "/state.json");
	json_object_put(a);
}

/*
 * Whether a uid of vm_uids is free for the next VM: others (hand-run
 * execs, other daemons) may hold them all. Said once per spell of waiting.
 */
static bool vm_uid_free(void)
{
	static bool said;
	int e = omt_vm_uid_any_free(&d.policy.vm_uids);

	if (e < 0)
		pr_err("vm_uids: %s: %s", OMT_VM_UID_LOCK, strerror(-e));
	else if (e == 0 && !said)
		pr_warn("every uid of vm_uids %u-%u is taken on this host: jobs stay queued "
			"until one is free", d.policy.vm_uids.first, d.policy.vm_uids.last);
	said = e == 0;
	return e > 0;
}

bool jobs_waiting(void)
{
	struct djob *j;

	if (d.stopping || d.running >= d.policy.max_vms)
		return false;
	for (j = d.jobs; j; j = j->next)
		if (j->state == J_QUEUED)
			return true;
	return false;
}

/* Starts the best queued jobs while there is room (and a uid for each VM). */
void schedule_jobs(void)
{
	struct djob *j, *best;

	while (!d.stopping && d.running < d.policy.max_vms) {
		best = NULL;
		for (j = d.jobs; j; j = j->next)
			if (j->state == J_QUEUED && (!best || omt_queue_cmp(&j->qkey, &best->qkey) < 0))
				best = j;
		if (!best || !vm_uid_free())
			break;
		spawn_exec(best);
	}
	write_state();
}
