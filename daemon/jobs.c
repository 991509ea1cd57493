// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The job table (d.jobs) and its queue: admitted jobs wait ordered by
 * network priority, consumer priority and arrival, and at most max_vms run
 * at once. Finished jobs are kept, KEEP_FINISHED of them, for their
 * consumers to collect, their files while the storage budget has room
 * (policy/storage.h) and their streams within STREAMS_KEPT_MAX. Everything
 * here runs with d.lock held.
 */
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
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

static bool finished(const struct djob *j)
{
	return j->state == J_DONE || j->state == J_CANCELLED;
}

void remove_path(const char *path)
{
	int e = omt_tree_remove(path);

	if (e && e != -ENOENT)
		pr_err("remove %s: %s", path, strerror(-e));
}

void job_log(enum omt_log_level level, const struct djob *j, const char *fmt, ...)
{
	struct omt_log_fields about = { .job = j->id, .consumer = j->consumer_b64,
					.outcome = finished(j) ? j->outcome : NULL };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	omt_log_with(level, &about, "job %s: %s", j->id, msg);
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

/*
 * A job's declared needs: its inputs and script, the output cap the API
 * serves when it asks for output, and its memory, since any job may be
 * checkpointed (its consumer's POST .../checkpoint, owner_priority).
 */
static void need_of(const struct omt_job_request *req, struct omt_storage_need *need)
{
	uint64_t in = req->script ? req->script_len : 0;
	unsigned int i;

	for (i = 0; i < req->n_inputs; i++)
		in += req->inputs[i].len;
	need->inputs_mib = omt_storage_mib(in);
	need->output_mib = req->output ? omt_storage_mib(OMT_JOB_FILES_MAX_BYTES) : 0;
	need->checkpoint_mib = req->memory_mib;
}

/* What j holds against the budget: its declared needs, or once finished what its files use. */
static uint64_t holds_mib(const struct djob *j)
{
	return finished(j) ? j->files_mib : omt_storage_need_total(&j->need);
}

static void drop_files(struct djob *j)
{
	job_log(OMT_LOG_INFO, j, "its output files (%llu MiB) dropped to make room",
		(unsigned long long)j->files_mib);
	remove_path(j->out_dir);
	j->files_mib = 0;
	j->files_dropped = true;
}

/* The table in the budget's order: queued and running jobs, then finished ones as they ended. */
static int by_end(const void *a, const void *b)
{
	const struct djob *x = *(struct djob *const *)a, *y = *(struct djob *const *)b;

	return (x->ended > y->ended) - (x->ended < y->ended);
}

void jobs_storage_held(uint64_t *reserved_mib, uint64_t *kept_mib)
{
	struct djob *j;

	*reserved_mib = *kept_mib = 0;
	for (j = d.jobs; j; j = j->next)
		*(finished(j) ? kept_mib : reserved_mib) += holds_mib(j);
}

int job_storage_fit(const struct omt_decision *dec, const uint8_t key[32],
		    const struct omt_job_request *req, struct omt_storage_need *need,
		    char *reason, size_t len)
{
	struct omt_storage_budget b = { d.policy.storage_budget_mib,
					dec->consumer->storage_budget_mib,
					dec->consumer->key_b64 };
	struct omt_storage_hold *holds;
	struct djob **jobs, *j;
	size_t n = 0, i;
	bool *drop;
	int e;

	need_of(req, need);
	for (j = d.jobs; j; j = j->next)
		n++;
	jobs = calloc(n + 1, sizeof(*jobs));
	holds = calloc(n + 1, sizeof(*holds));
	drop = calloc(n + 1, sizeof(*drop));
	if (!jobs || !holds || !drop) {
		snprintf(reason, len, "out of memory");
		e = -ENOMEM;
		goto out;
	}
	for (i = 0, j = d.jobs; j; j = j->next)
		jobs[i++] = j;
	qsort(jobs, n, sizeof(*jobs), by_end);
	for (i = 0; i < n; i++)
		holds[i] = (struct omt_storage_hold){ holds_mib(jobs[i]), finished(jobs[i]),
						      !memcmp(jobs[i]->consumer, key, 32) };
	e = omt_storage_fit(need, &b, holds, n, drop, reason, len);
	for (i = 0; !e && i < n; i++)
		if (drop[i])
			drop_files(jobs[i]);
out:
	free(jobs);
	free(holds);
	free(drop);
	return e;
}

struct djob *job_new(const uint8_t key[32], const struct omt_decision *dec,
		     struct omt_job_request *req, const struct omt_storage_need *need)
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
	j->need = *need;
	memcpy(j->consumer, key, 32);
	omt_key_b64(key, j->consumer_b64);
	snprintf(j->network, sizeof(j->network), "%s", dec->network);
	j->owner_priority = dec->owner_priority;
	j->qkey = (struct omt_queue_key){ dec->network_priority, dec->consumer_priority, ++d.seq };
	snprintf(j->consumer_ip, sizeof(j->consumer_ip), "%u.%u.%u.%u", req->vpn.consumer_address[0],
		 req->vpn.consumer_address[1], req->vpn.consumer_address[2],
		 req->vpn.consumer_address[3]);
	snprintf(j->conf_path, sizeof(j->conf_path), "%s/%s.conf", DAEMON_DIR, j->id);
	snprintf(j->result_path, sizeof(j->result_path), "%s/%s.result", DAEMON_DIR, j->id);
	snprintf(j->script_path, sizeof(j->script_path), "%s/%s.sh", d.jobs_dir, j->id);
	snprintf(j->ckpt_path, sizeof(j->ckpt_path), "%s/%s.checkpoint", d.jobs_dir, j->id);
	if (j->req.n_inputs)
		snprintf(j->in_dir, sizeof(j->in_dir), "%s/%s.in", d.jobs_dir, j->id);
	if (j->req.output)
		snprintf(j->out_dir, sizeof(j->out_dir), "%s/%s.out", d.jobs_dir, j->id);
	j->out.fd = j->err.fd = -1;
	j->submitted = time(NULL);
	return j;
}

void free_job(struct djob *j)
{
	unlink(j->conf_path);
	unlink(j->script_path);
	unlink(j->result_path);
	unlink(j->ckpt_path);
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
	unsigned int n = 0;

	for (j = d.jobs; j; j = j->next)
		n += finished(j);
	while (n > KEEP_FINISHED) {
		oldest = NULL;
		for (p = &d.jobs; *p; p = &(*p)->next)
			if (((*p)->state == J_DONE || (*p)->state == J_CANCELLED) &&
			    (!oldest || (*p)->finished <= (*oldest)->finished))
				oldest = p;
		j = *oldest;
		*oldest = j->next;
		free_job(j);
		n--;
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
	unlink(j->script_path);
	unlink(j->ckpt_path);
	remove_path(j->in_dir);
}

static uint64_t tree_bytes;

static int add_bytes(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path, (void)type, (void)ftw;
	tree_bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

/*
 * What j's output directory uses on disk. A tree too deep to walk (exec
 * allows 10000 levels) counts as the whole cap it was declared with.
 */
static uint64_t files_mib(const struct djob *j)
{
	tree_bytes = 0;
	if (!j->out_dir[0])
		return 0;
	if (nftw(j->out_dir, add_bytes, 16, FTW_PHYS) < 0 && errno != ENOENT) {
		job_log(OMT_LOG_WARN, j, "%s: %s: counted as its %llu MiB cap", j->out_dir,
			strerror(errno), (unsigned long long)j->need.output_mib);
		return j->need.output_mib;
	}
	return omt_storage_mib(tree_bytes);
}

/* The finished jobs' streams past STREAMS_KEPT_MAX go, the oldest first. */
static void trim_streams(void)
{
	struct djob *j, *oldest;
	size_t kept = 0;

	for (j = d.jobs; j; j = j->next)
		kept += finished(j) ? j->out.len + j->err.len : 0;
	while (kept > STREAMS_KEPT_MAX) {
		oldest = NULL;
		for (j = d.jobs; j; j = j->next)
			if (finished(j) && !j->streams_dropped &&
			    (!oldest || j->ended < oldest->ended))
				oldest = j;
		kept -= oldest->out.len + oldest->err.len;
		free(oldest->out.data);
		free(oldest->err.data);
		oldest->out = oldest->err = (struct stream){ .fd = -1 };
		oldest->streams_dropped = true;
	}
}

void job_ended(struct djob *j)
{
	job_drop_inputs(j);
	j->ended = ++d.ended;
	j->files_mib = files_mib(j);
	trim_streams();
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
		job_ended(j);
		audit_outcome(j, NULL);
		job_log(OMT_LOG_INFO, j, "cancelled before it ran");
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
		if (!best)
			break;
		/* A warm VM of its shape is its VM already; else one makes room if it must. */
		if (!warm_fits(best)) {
			if (d.running + warm_count() >= d.policy.max_vms)
				warm_make_room();
			if (!vm_uid_free())
				break;
		}
		spawn_exec(best);
	}
	warm_fill();
	write_state();
}
