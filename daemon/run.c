// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-loader run: the provider daemon. An HTTP/1.1 + JSON API
 * (libmicrohttpd, its own thread) takes signed job requests; the policy
 * decides; every decision and outcome goes to the audit log, flushed before
 * anything runs; admitted jobs wait in a queue ordered by network priority,
 * consumer priority and arrival, and at most max_vms run at once, each as
 * an `omerta-loader exec` child of ours (it dies with us: PR_SET_PDEATHSIG).
 * The main thread owns the children: it starts them, collects their output
 * and their results, and handles SIGTERM (stop everything), SIGHUP (reload
 * the policy) and SIGCHLD.
 *
 * API (every request signed, every response signed; api/sign.h):
 *   POST   /v1/jobs                            submit (api/job.h)
 *   GET    /v1/jobs/ID                         state
 *   GET    /v1/jobs/ID/output?stdout=N&stderr=M  output from those offsets
 *   GET    /v1/jobs/ID/files                   its /job/output, once done
 *   DELETE /v1/jobs/ID                         cancel
 *   POST   /v1/jobs/ID/checkpoint, /restore    through the job's exec
 *
 * A job's files live in DAEMON_DIR: ID.conf (the VM's WireGuard config),
 * ID.sh (the script), ID.result (exec's --result), ID.in/ (the inputs,
 * gone when the job ends) and ID.out/ (exec's --output, served by
 * GET .../files until the job is dropped). All go with the job; what a
 * crashed daemon left, the next start removes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/sysinfo.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "../api/job.h"
#include "../api/keys.h"
#include "../api/sign.h"
#include "../bpf/omerta_abi.h"
#include "../guard/totals.h"
#include "../host/control.h"
#include "../host/jobdir.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/parse.h"
#include "../lib/signals.h"
#include "../lib/text.h"
#include "../lib/tree.h"
#include "../owner/inhibit.h"
#include "../policy/audit.h"
#include "../policy/policy.h"
#include "../proto/exit.h"
#include "../telemetry/energy.h"
#include "../telemetry/prom.h"
#include "../telemetry/reasons.h"
#include "../vmctl/cgroup.h"
#include "daemon.h"

#define DAEMON_DIR OMT_RUN_DIR "/daemon"
/* 12 MiB: the inputs. Only listed consumers get that far (see handle()). */
#define MAX_BODY OMT_JOB_MAX_BODY
#define MAX_OUTPUT (4 << 20)		/* per stream and job, kept in memory */
#define OUTPUT_CHUNK (64 * 1024)	/* per stream and response */
#define AUTH_WINDOW_S 60
#define KEEP_FINISHED 256
#define OMT_MAX_VMS 256			/* the policy's max_vms bound */
#define MAX_FILES_SENDING 2		/* files answers (up to 128 MiB each) queued at once */

enum jstate { J_QUEUED, J_RUNNING, J_DONE, J_CANCELLED };

struct stream {
	char *data;
	size_t len;
	int fd;
	int truncated;
};

struct djob {
	char id[OMT_JOB_ID_LEN + 1];
	uint8_t consumer[32];
	char consumer_b64[45];
	char network[64];
	struct omt_queue_key qkey;
	enum jstate state;
	int cancel;
	struct omt_job_request req;
	char consumer_ip[16];
	char conf_path[300], script_path[300], result_path[300];
	char in_dir[300], out_dir[300];	/* "" when the job has none */
	char output_error[OMT_JOB_FILES_MAX_ERROR + 1];	/* exec's, when it refused output */
	pid_t pid;
	struct stream out, err;
	int exit_status;
	char outcome[32];
	enum omt_owner_priority owner_priority;
	struct omt_energy_vm energy;	/* attributed energy, while it runs */
	long quota_us;			/* CPU quota in force (power caps), < 0: none */
	time_t submitted, started, finished;
	struct djob *next;
};

static struct daemon {
	pthread_mutex_t lock;
	const char *config_path;
	struct omt_policy_cfg policy;
	struct omt_audit *audit;
	struct omt_nonce_cache *nonces;
	uint8_t sk[64], pk[32];
	char pk_b64[45];
	struct djob *jobs;
	unsigned int running;
	uint64_t seq;
	int wake;			/* eventfd: the API thread has queued a job */
	int stopping;
	const char *self;		/* /proc/self/exe, for the exec children */
	pid_t daemon_pid;
	/* Metrics kept here; per-VM guard counters are read from its maps. */
	struct outcome_count { char outcome[32]; uint64_t n; } outcomes[16];
	uint64_t refused;
	struct omt_histogram boot, kill;
	struct omt_energy *energy;
	struct omt_inhibit *inhibit;
} d = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const double boot_bounds[] = { 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20, 60 };
static const double kill_bounds[] = { 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1,
				       0.5, 1 };

static void count_outcome(const char *outcome)
{
	size_t i;

	for (i = 0; i < sizeof(d.outcomes) / sizeof(d.outcomes[0]); i++) {
		if (!d.outcomes[i].outcome[0])
			snprintf(d.outcomes[i].outcome, sizeof(d.outcomes[i].outcome), "%s", outcome);
		if (strcmp(d.outcomes[i].outcome, outcome) == 0) {
			d.outcomes[i].n++;
			return;
		}
	}
}

/* ---------------------------------------------------------------- audit */

/* Thread-safe on its own (the audit log and the counter lock themselves). */
static void audit_decision(const uint8_t *key, const char *network, const struct omt_job_request *r,
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
}

static void audit_outcome(const struct djob *j, json_object *result)
{
	json_object *o = result ? json_object_get(result) : json_object_new_object(), *v;

	count_outcome(j->outcome);
	if (result && json_object_object_get_ex(result, "boot_s", &v))
		omt_hist_observe(&d.boot, json_object_get_double(v));
	if (result && json_object_object_get_ex(result, "rogue_kill_s", &v))
		omt_hist_observe(&d.kill, json_object_get_double(v));

	json_object_object_add(o, "event", json_object_new_string("outcome"));
	json_object_object_add(o, "job", json_object_new_string(j->id));
	json_object_object_add(o, "consumer", json_object_new_string(j->consumer_b64));
	json_object_object_add(o, "network", json_object_new_string(j->network));
	if (!result) {
		json_object_object_add(o, "outcome", json_object_new_string(j->outcome));
		json_object_object_add(o, "exit_status", json_object_new_int(j->exit_status));
	}
	if (omt_audit_write(d.audit, o))
		pr_err("audit log: %s", strerror(errno));
	json_object_put(o);
}

/* ---------------------------------------------------------------- jobs */

static struct djob *find_job(const char *id)
{
	struct djob *j;

	for (j = d.jobs; j; j = j->next)
		if (strcmp(j->id, id) == 0)
			return j;
	return NULL;
}

static unsigned int jobs_of(const uint8_t key[32])
{
	struct djob *j;
	unsigned int n = 0;

	for (j = d.jobs; j; j = j->next)
		if ((j->state == J_QUEUED || j->state == J_RUNNING) && !memcmp(j->consumer, key, 32))
			n++;
	return n;
}

/* ---------------------------------------------------------------- job files */

/*
 * Removes path, a job's directory (and everything in it, exec's output may
 * nest 2000 deep) or file, without following a symlink. "": none.
 */
static void remove_tree(const char *path)
{
	int e = omt_tree_remove(path);

	if (e && e != -ENOENT)
		pr_err("remove %s: %s", path, strerror(-e));
}

static void free_job(struct djob *j)
{
	unlink(j->conf_path);
	unlink(j->script_path);
	unlink(j->result_path);
	remove_tree(j->in_dir);
	remove_tree(j->out_dir);
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

static int write_private_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode), e;

	if (fd < 0)
		return -errno;
	e = omt_write_all(fd, data, len);
	if (close(fd) < 0 && !e)
		e = -errno;
	return e;
}

/*
 * The inputs, each as ID.in/NAME (0600 in a 0700 directory) for exec's
 * --input; their bytes are freed once on disk (a queue of jobs would hold
 * 8 MiB each otherwise).
 */
static int write_inputs(struct djob *j)
{
	struct omt_job_input *in;
	char path[600];
	unsigned int i;
	int e;

	if (mkdir(j->in_dir, 0700) < 0)
		return -errno;
	for (i = 0; i < j->req.n_inputs; i++) {
		in = &j->req.inputs[i];
		snprintf(path, sizeof(path), "%s/%s", j->in_dir, in->name);
		e = write_private_file(path, in->data, in->len, 0600);
		if (e)
			return e;
		free(in->data);
		in->data = NULL;
	}
	return 0;
}

/* The VM's side of the consumer's tunnel, as exec reads it. */
static int write_vm_config(struct djob *j, const uint8_t vm_priv[32])
{
	char priv_b64[45], pub_b64[45], conf[2048], ips[600] = "";
	const struct omt_job_request *r = &j->req;
	size_t off = 0;
	unsigned int i;
	int n, e;

	sodium_bin2base64(priv_b64, sizeof(priv_b64), vm_priv, 32, sodium_base64_VARIANT_ORIGINAL);
	omt_key_b64(r->vpn.public_key, pub_b64);
	for (i = 0; i < r->vpn.n_allowed_ips; i++)
		off += snprintf(ips + off, sizeof(ips) - off, "%s%u.%u.%u.%u/%u", i ? ", " : "",
				r->vpn.allowed_ips[i].ip[0], r->vpn.allowed_ips[i].ip[1],
				r->vpn.allowed_ips[i].ip[2], r->vpn.allowed_ips[i].ip[3],
				r->vpn.allowed_ips[i].prefix);
	n = snprintf(conf, sizeof(conf),
		     "[Interface]\nPrivateKey = %s\nAddress = %u.%u.%u.%u/%u\n"
		     "[Peer]\nPublicKey = %s\nEndpoint = %u.%u.%u.%u:%u\nAllowedIPs = %s\n"
		     "PersistentKeepalive = 5\n",
		     priv_b64, r->vpn.vm_address.ip[0], r->vpn.vm_address.ip[1],
		     r->vpn.vm_address.ip[2], r->vpn.vm_address.ip[3], r->vpn.vm_address.prefix,
		     pub_b64, r->vpn.endpoint_ip[0], r->vpn.endpoint_ip[1], r->vpn.endpoint_ip[2],
		     r->vpn.endpoint_ip[3], r->vpn.endpoint_port, ips);
	e = write_private_file(j->conf_path, conf, n, 0600);
	sodium_memzero(conf, sizeof(conf));
	sodium_memzero(priv_b64, sizeof(priv_b64));
	return e;
}

static void spawn(struct djob *j)
{
	char cpus[16], mem[16], tmo[16], env[64], idle[16];
	char *inputs[OMT_JOB_MAX_INPUTS] = { NULL };
	const char *argv[48 + 2 * OMT_JOB_MAX_INPUTS + OMT_JOB_MAX_ARGS];
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, n = 0;
	unsigned int i;
	pid_t pid;

	snprintf(cpus, sizeof(cpus), "%u", j->req.cpus);
	snprintf(mem, sizeof(mem), "%u", j->req.memory_mib);
	snprintf(tmo, sizeof(tmo), "%u", j->req.timeout_s);
	snprintf(env, sizeof(env), "OMERTA_CONSUMER_IP=%s", j->consumer_ip);
	argv[n++] = "omerta-loader";
	argv[n++] = "exec";
	argv[n++] = "--job-id";
	argv[n++] = j->id;
	argv[n++] = "--vpn-config";
	argv[n++] = j->conf_path;
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--memory";
	argv[n++] = mem;
	argv[n++] = "--timeout";
	argv[n++] = tmo;
	argv[n++] = "--description";
	argv[n++] = j->req.description;
	argv[n++] = "--result";
	argv[n++] = j->result_path;
	argv[n++] = "--env";
	argv[n++] = env;
	argv[n++] = "--stdout-fd";
	argv[n++] = "3";
	argv[n++] = "--stderr-fd";
	argv[n++] = "4";
	if (j->owner_priority != OMT_OWNER_IDLE) {
		snprintf(idle, sizeof(idle), "%u", d.policy.owner_idle_s);
		argv[n++] = "--owner-priority";
		argv[n++] = omt_owner_priority_name(j->owner_priority);
		argv[n++] = "--owner-idle";
		argv[n++] = idle;
		argv[n++] = "--owner-source";
		argv[n++] = d.policy.owner_source;
	}
	if (j->req.image) {
		argv[n++] = "--image";
		argv[n++] = omt_job_image_name(j->req.image);
	}
	if (j->req.language) {
		argv[n++] = "--language";
		argv[n++] = omt_job_language_name(j->req.language);
	}
	for (i = 0; i < j->req.n_inputs && i < OMT_JOB_MAX_INPUTS; i++) {
		if (asprintf(&inputs[i], "%s/%s", j->in_dir, j->req.inputs[i].name) < 0) {
			inputs[i] = NULL;
			pr_err("job %s: out of memory", j->id);
			goto fail;
		}
		argv[n++] = "--input";
		argv[n++] = inputs[i];
	}
	if (j->req.output) {
		argv[n++] = "--output";
		argv[n++] = j->out_dir;
	}
	if (j->req.script) {
		argv[n++] = "--script";
		argv[n++] = j->script_path;
	} else {
		argv[n++] = "--";
		for (i = 0; i < j->req.n_command && i < OMT_JOB_MAX_ARGS; i++)
			argv[n++] = j->req.command[i];
	}
	argv[n] = NULL;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		pr_err("job %s: pipe: %s", j->id, strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		pr_err("job %s: fork: %s", j->id, strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* A killed daemon takes its jobs along; SIGTERM lets exec clean up. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != d.daemon_pid)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(out[1], 3);
		dup2(err[1], 4);
		execv(d.self, (char **)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	for (i = 0; i < OMT_JOB_MAX_INPUTS; i++)
		free(inputs[i]);
	/* Read as it comes, from the main loop: never block it. */
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	j->pid = pid;
	j->out.fd = out[0];
	j->err.fd = err[0];
	j->state = J_RUNNING;
	j->started = time(NULL);
	j->energy = (struct omt_energy_vm){ 0 };
	snprintf(j->energy.id, sizeof(j->energy.id), "%s", j->id);
	j->quota_us = -1;
	d.running++;
	omt_inhibit_update(d.inhibit, true);
	pr_info("job %s: started (consumer %.12s..., network %s)", j->id, j->consumer_b64, j->network);
	return;
fail:
	for (i = 0; i < OMT_JOB_MAX_INPUTS; i++)
		free(inputs[i]);
	for (i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	j->state = J_DONE;
	j->finished = time(NULL);
	snprintf(j->outcome, sizeof(j->outcome), "setup_failed");
	j->exit_status = OMT_EXIT_FAIL;
	unlink(j->conf_path);
	remove_tree(j->in_dir);
	audit_outcome(j, NULL);
}

/*
 * What `omerta-loader status` shows: the daemon's jobs, written atomically
 * after every change. Called with the lock held.
 */
static void write_state(void)
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

/* Starts the best queued jobs while there is room. Called with the lock held. */
static void schedule(void)
{
	struct djob *j, *best;

	while (!d.stopping && d.running < d.policy.max_vms) {
		best = NULL;
		for (j = d.jobs; j; j = j->next)
			if (j->state == J_QUEUED && (!best || omt_queue_cmp(&j->qkey, &best->qkey) < 0))
				best = j;
		if (!best)
			break;
		spawn(best);
	}
	write_state();
}

static void drain_stream(struct stream *s)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (s->len + n > MAX_OUTPUT) {
			s->truncated = 1;
			continue;
		}
		char *p = realloc(s->data, s->len + n);

		if (!p) {
			s->truncated = 1;
			continue;
		}
		s->data = p;
		memcpy(s->data + s->len, buf, n);
		s->len += n;
	}
}

/* s, cut to size, anything but printable ASCII as '?': it goes to the consumer's terminal. */
static void printable_copy(char *out, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < size; i++)
		out[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
	out[i] = '\0';
}

static void job_exited(struct djob *j, int status)
{
	json_object *res = json_object_from_file(j->result_path), *v;

	drain_stream(&j->out);
	drain_stream(&j->err);
	close(j->out.fd);
	close(j->err.fd);
	j->out.fd = j->err.fd = -1;
	j->finished = time(NULL);
	j->state = j->cancel ? J_CANCELLED : J_DONE;
	d.running--;
	omt_inhibit_update(d.inhibit, d.running > 0);
	if (res && json_object_object_get_ex(res, "exit_status", &v))
		j->exit_status = json_object_get_int(v);
	else
		j->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (res && json_object_object_get_ex(res, "outcome", &v))
		snprintf(j->outcome, sizeof(j->outcome), "%s", json_object_get_string(v));
	else
		snprintf(j->outcome, sizeof(j->outcome), "setup_failed");
	if (j->cancel)
		snprintf(j->outcome, sizeof(j->outcome), "cancelled");
	if (res && json_object_object_get_ex(res, "output_error", &v))
		printable_copy(j->output_error, sizeof(j->output_error), json_object_get_string(v));
	audit_outcome(j, res);
	json_object_put(res);
	unlink(j->conf_path);
	remove_tree(j->in_dir);
	pr_info("job %s: %s, exit status %d", j->id, j->outcome, j->exit_status);
}

/* ---------------------------------------------------------------- HTTP */

struct request {
	char *uri;			/* with the query string, as the client signed it */
	char *body;
	size_t len, cap;
	int too_big;
	int started;			/* MHD calls once with the headers alone */
	int stranger;			/* no listed key in the headers: don't buffer */
};

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)c;
	if (r)
		r->uri = strdup(uri);
	return r;
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r) {
		free(r->uri);
		free(r->body);
		free(r);
	}
	*con_cls = NULL;
}

/*
 * Sends body, signed by the provider key. body is freed here (NULL: out of
 * memory), by done once sent when it is given.
 */
static enum MHD_Result reply_then(struct MHD_Connection *c, unsigned int status, char *body,
				  const char *nonce, void (*done)(void *))
{
	char sig[OMT_SIG_B64_LEN + 1];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;

	if (!body)
		return MHD_NO;
	len = strlen(body);
	resp = done ? MHD_create_response_from_buffer_with_free_callback(len, body, done) :
		      MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		done ? done(body) : free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Omerta-Provider-Key", d.pk_b64);
	/* Unsigned only when the request had no usable nonce to sign over. */
	if (nonce && omt_sign_response(d.sk, status, nonce, body, len, sig) == 0)
		MHD_add_response_header(resp, "Omerta-Signature", sig);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, char *body,
			     const char *nonce)
{
	return reply_then(c, status, body, nonce, NULL);
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned int status, const char *msg,
			     const char *nonce)
{
	json_object *o = json_object_new_object();
	char *body;

	json_object_object_add(o, "error", json_object_new_string(msg));
	body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return reply(c, status, body, nonce);
}

static void remote_of(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *sin = ci ? (const struct sockaddr_in *)ci->client_addr : NULL;
	const uint8_t *a = sin ? (const uint8_t *)&sin->sin_addr : NULL;

	if (sin && sin->sin_family == AF_INET)
		snprintf(out, size, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else
		snprintf(out, size, "unknown");
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result submit(struct MHD_Connection *c, const uint8_t key[32], const char *nonce,
			      const struct request *rq, const char *remote)
{
	struct omt_job_request req;
	struct omt_decision dec;
	struct omt_job_ask ask;
	struct djob *j;
	char err[300], reason[200];
	uint8_t vm_priv[32];
	struct omt_job_accept acc = { .state = OMT_JOB_QUEUED };
	char *body = NULL;

	if (omt_job_request_parse(rq->body ? rq->body : "", rq->len, &req, err, sizeof(err))) {
		audit_decision(key, NULL, NULL, 0, err, NULL, remote);
		return error(c, MHD_HTTP_BAD_REQUEST, err, nonce);
	}
	pthread_mutex_lock(&d.lock);
	if (omt_description_check(req.description, d.policy.max_description, reason,
				  sizeof(reason))) {
		audit_decision(key, NULL, &req, 0, reason, NULL, remote);
		pthread_mutex_unlock(&d.lock);
		omt_job_request_free(&req);
		return error(c, MHD_HTTP_BAD_REQUEST, reason, nonce);
	}
	ask = (struct omt_job_ask){ .consumer_key = key, .description = req.description,
				    .cpus = req.cpus, .memory_mib = req.memory_mib,
				    .timeout_s = req.timeout_s };
	omt_policy_decide(&d.policy, &ask, jobs_of(key), &dec);
	if (!dec.admit || d.stopping) {
		const char *why = d.stopping ? "the provider is shutting down" : dec.reason;

		audit_decision(key, dec.consumer ? dec.network : NULL, &req, 0, why, NULL, remote);
		pthread_mutex_unlock(&d.lock);
		omt_job_request_free(&req);
		return error(c, d.stopping ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_FORBIDDEN, why,
			     nonce);
	}
	j = calloc(1, sizeof(*j));
	if (j) {
		int tries = 0;

		/* Ids are random: one already in use would share its files. */
		while (!omt_jobdir_new_id(j->id) && find_job(j->id) && ++tries < 8)
			;
		if (tries == 8 || find_job(j->id)) {
			free(j);
			j = NULL;
		}
	}
	if (!j) {
		pthread_mutex_unlock(&d.lock);
		free(j);
		omt_job_request_free(&req);
		return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of resources", nonce);
	}
	j->req = req;
	memcpy(j->consumer, key, 32);
	omt_key_b64(key, j->consumer_b64);
	snprintf(j->network, sizeof(j->network), "%s", dec.network);
	j->owner_priority = dec.owner_priority;
	j->qkey = (struct omt_queue_key){ dec.network_priority, dec.consumer_priority, ++d.seq };
	snprintf(j->consumer_ip, sizeof(j->consumer_ip), "%u.%u.%u.%u", req.vpn.consumer_address[0],
		 req.vpn.consumer_address[1], req.vpn.consumer_address[2],
		 req.vpn.consumer_address[3]);
	snprintf(j->conf_path, sizeof(j->conf_path), "%s/%s.conf", DAEMON_DIR, j->id);
	snprintf(j->script_path, sizeof(j->script_path), "%s/%s.sh", DAEMON_DIR, j->id);
	snprintf(j->result_path, sizeof(j->result_path), "%s/%s.result", DAEMON_DIR, j->id);
	if (j->req.n_inputs)
		snprintf(j->in_dir, sizeof(j->in_dir), "%s/%s.in", DAEMON_DIR, j->id);
	if (j->req.output)
		snprintf(j->out_dir, sizeof(j->out_dir), "%s/%s.out", DAEMON_DIR, j->id);
	j->out.fd = j->err.fd = -1;
	j->submitted = time(NULL);
	/* The VM's keypair is made here; only its public half leaves. */
	omt_wg_keypair(vm_priv, acc.vm_public_key);
	if (write_vm_config(j, vm_priv) ||
	    (j->req.script && write_private_file(j->script_path, j->req.script,
						 strlen(j->req.script), 0600)) ||
	    (j->in_dir[0] && write_inputs(j)) || (j->out_dir[0] && mkdir(j->out_dir, 0700) < 0)) {
		sodium_memzero(vm_priv, sizeof(vm_priv));
		pthread_mutex_unlock(&d.lock);
		free_job(j);
		return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot write the job's files", nonce);
	}
	sodium_memzero(vm_priv, sizeof(vm_priv));
	/* On disk before the job can start: a crash can't lose the admission. */
	audit_decision(key, j->network, &j->req, 1, "admitted", j->id, remote);
	j->state = J_QUEUED;
	j->next = d.jobs;
	d.jobs = j;
	trim_jobs();
	write_state();
	pthread_mutex_unlock(&d.lock);
	eventfd_write(d.wake, 1);

	memcpy(acc.job, j->id, sizeof(acc.job));
	omt_job_accept_format(&acc, &body);
	return reply(c, MHD_HTTP_CREATED, body, nonce);
}

static char *status_body(const struct djob *j)
{
	static const enum omt_job_state states[] = { OMT_JOB_QUEUED, OMT_JOB_RUNNING, OMT_JOB_DONE,
						     OMT_JOB_CANCELLED };
	struct omt_job_status st = { .state = states[j->state], .exit_status = -1 };
	char *body = NULL;

	memcpy(st.job, j->id, sizeof(st.job));
	if (j->state == J_DONE || j->state == J_CANCELLED) {
		snprintf(st.outcome, sizeof(st.outcome), "%s", j->outcome);
		st.exit_status = j->exit_status < 0 ? -1 : j->exit_status & 0xff;
	}
	omt_job_status_format(&st, &body);
	return body;
}

static enum MHD_Result job_get(struct MHD_Connection *c, struct djob *j, int output,
			       const char *nonce)
{
	const char *so = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "stdout");
	const char *se = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "stderr");
	uint64_t u1 = 0, u2 = 0;
	size_t o1, o2, n1, n2;
	struct omt_job_output *o;
	char *body = NULL;

	if (!output)
		return reply(c, MHD_HTTP_OK, status_body(j), nonce);
	if ((so && omt_job_offset_parse(so, &u1)) || (se && omt_job_offset_parse(se, &u2)))
		return error(c, MHD_HTTP_BAD_REQUEST, "stdout and stderr offsets are decimal numbers",
			     nonce);
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
	return reply(c, MHD_HTTP_OK, body, nonce);
}

/*
 * A queued job is cancelled on the spot (its outcome audited); a running
 * one's exec gets SIGTERM, once, and cleans up. With d.lock held.
 */
static void cancel_job(struct djob *j)
{
	if (j->state == J_QUEUED) {
		j->state = J_CANCELLED;
		snprintf(j->outcome, sizeof(j->outcome), "cancelled");
		j->exit_status = -1;	/* it never ran */
		j->finished = time(NULL);
		unlink(j->conf_path);
		remove_tree(j->in_dir);
		audit_outcome(j, NULL);
	} else if (j->state == J_RUNNING && !j->cancel) {
		j->cancel = 1;
		kill(j->pid, SIGTERM);
	}
}

/*
 * POST /v1/jobs/ID/checkpoint and /restore: the job's exec does it (its
 * control socket). Not under d.lock: a checkpoint takes a while.
 */
static enum MHD_Result control(struct MHD_Connection *c, const uint8_t key[32], const char *id,
			       const char *what, const char *method, const char *nonce)
{
	char said[OMT_CONTROL_MAX_LINE];
	struct djob *j;
	int running, r;

	if (strcmp(method, "POST"))
		return error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed here", nonce);
	pthread_mutex_lock(&d.lock);
	j = find_job(id);
	if (!j || memcmp(j->consumer, key, 32)) {
		pthread_mutex_unlock(&d.lock);
		return error(c, MHD_HTTP_NOT_FOUND, "no such job", nonce);
	}
	running = j->state == J_RUNNING;
	pthread_mutex_unlock(&d.lock);
	if (!running)
		return error(c, MHD_HTTP_CONFLICT, "the job is not running", nonce);
	r = omt_control_request(id, what, 30000, said, sizeof(said));
	if (r != 1)
		return error(c, r == 0 ? MHD_HTTP_CONFLICT : MHD_HTTP_SERVICE_UNAVAILABLE, said,
			     nonce);
	pr_info("job %s: %s for its consumer: %s", id, what, said);
	pthread_mutex_lock(&d.lock);
	j = find_job(id);
	{
		char *body = j ? status_body(j) : NULL;

		pthread_mutex_unlock(&d.lock);
		if (!body)
			return error(c, MHD_HTTP_NOT_FOUND, "no such job", nonce);
		return reply(c, MHD_HTTP_OK, body, nonce);
	}
}

/*
 * GET /v1/jobs/ID/files: what exec wrote under ID.out, walked without
 * following anything (exec makes only files and directories there), in
 * one answer of at most OMT_JOB_FILES_MAX_BYTES of data and
 * OMT_JOB_FILES_MAX_ENTRIES entries; past them, 413 and nothing.
 */
struct walk {
	int root;
	struct omt_job_files f;
	size_t files_cap, dirs_cap;
	uint64_t bytes;
	unsigned int status;		/* the HTTP status of a failure */
	char err[600];
};

static __attribute__((format(printf, 3, 4))) int walk_fail(struct walk *w, unsigned int status,
							    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	w->status = status;
	return -1;
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *q;

	if (n < *cap)
		return 0;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

static int read_output_file(struct walk *w, int dir, const char *name, const char *path)
{
	char q[OMT_QUOTE_SIZE(100)];
	struct omt_job_file *f;
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "output file %s: %s",
				 omt_quote(q, path, 100), fd < 0 ? strerror(errno) : "changed");
	}
	if ((uint64_t)st.st_size > OMT_JOB_FILES_MAX_BYTES - w->bytes) {
		close(fd);
		return walk_fail(w, MHD_HTTP_CONTENT_TOO_LARGE,
				 "the job's output files hold more than the %d MiB one answer "
				 "carries (at %s)", OMT_JOB_FILES_MAX_BYTES >> 20,
				 omt_quote(q, path, 100));
	}
	if (grow((void **)&w->f.files, &w->files_cap, w->f.n_files, sizeof(*w->f.files))) {
		close(fd);
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	f = &w->f.files[w->f.n_files];
	*f = (struct omt_job_file){ .path = strdup(path), .mode = st.st_mode & 0777,
				    .data = malloc(st.st_size + 1) };
	w->f.n_files++;
	while (f->path && f->data && n < (size_t)st.st_size) {
		r = read(fd, f->data + n, st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	if (!f->path || !f->data)
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	if (n != (size_t)st.st_size)
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "output file %s: short read",
				 omt_quote(q, path, 100));
	f->len = n;
	w->bytes += n;
	return 0;
}

/* One directory (rel, "" for the top): its files read, its directories queued in w->f.dirs. */
static int walk_dir(struct walk *w, const char *rel)
{
	char q[OMT_QUOTE_SIZE(100)], *path;
	struct dirent *de;
	struct stat st;
	int fd, ret = 0;
	DIR *dd;

	fd = omt_open_beneath(w->root, rel);
	dd = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dd) {
		if (fd >= 0)
			close(fd);
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "output directory %s: %s",
				 omt_quote(q, rel[0] ? rel : ".", 100), strerror(errno));
	}
	while (!ret && (de = readdir(dd))) {
		if (omt_is_dot(de->d_name))
			continue;
		if (asprintf(&path, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0) {
			ret = walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
			break;
		}
		if (omt_job_file_path_check(path, strlen(path)))
			ret = walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR,
					"output %s: its name can't be sent (not UTF-8, or too long)",
					omt_quote(q, path, 100));
		else if (w->f.n_files + w->f.n_dirs >= OMT_JOB_FILES_MAX_ENTRIES)
			ret = walk_fail(w, MHD_HTTP_CONTENT_TOO_LARGE,
					"the job's output holds more than the %d files and "
					"directories one answer carries", OMT_JOB_FILES_MAX_ENTRIES);
		else if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			ret = walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "output %s: %s",
					omt_quote(q, path, 100), strerror(errno));
		else if (S_ISREG(st.st_mode))
			ret = read_output_file(w, fd, de->d_name, path);
		else if (!S_ISDIR(st.st_mode))
			ret = walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR,
					"output %s is neither a file nor a directory",
					omt_quote(q, path, 100));
		else if (grow((void **)&w->f.dirs, &w->dirs_cap, w->f.n_dirs, sizeof(*w->f.dirs)))
			ret = walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		else {
			w->f.dirs[w->f.n_dirs++] = path;
			continue;
		}
		free(path);
	}
	closedir(dd);
	return ret;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct omt_job_file *)a)->path, ((const struct omt_job_file *)b)->path);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Builds the answer in *body; 0, or -1 with w->status and w->err. */
static int files_body(struct walk *w, const char *dir, char **body)
{
	size_t i;
	int e;

	w->root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (w->root < 0)
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "the job's output: %s",
				 strerror(errno));
	/* Breadth first: the directories found are the queue. */
	e = walk_dir(w, "");
	for (i = 0; !e && i < w->f.n_dirs; i++)
		e = walk_dir(w, w->f.dirs[i]);
	close(w->root);
	if (e)
		return e;
	/* Sorted: a directory comes before what is in it. */
	if (w->f.n_files)
		qsort(w->f.files, w->f.n_files, sizeof(*w->f.files), by_path);
	if (w->f.n_dirs)
		qsort(w->f.dirs, w->f.n_dirs, sizeof(*w->f.dirs), by_name);
	e = omt_job_files_format(&w->f, body);
	if (e == -E2BIG)
		return walk_fail(w, MHD_HTTP_CONTENT_TOO_LARGE,
				 "the job's output files make an answer over %d MiB",
				 OMT_JOB_FILES_MAX_ANSWER >> 20);
	if (e)
		return walk_fail(w, MHD_HTTP_INTERNAL_SERVER_ERROR, "the job's output: %s",
				 strerror(-e));
	return 0;
}

static unsigned int files_sending;	/* files answers queued and not sent yet */

static void files_sent(void *body)
{
	free(body);
	__atomic_fetch_sub(&files_sending, 1, __ATOMIC_RELAXED);
}

/*
 * Not under d.lock: reading up to 64 MiB must not stall the jobs. The job
 * can't be dropped meanwhile: that happens on a submit, in this same thread.
 */
static enum MHD_Result job_files(struct MHD_Connection *c, const uint8_t key[32], const char *id,
				 const char *method, const char *nonce)
{
	struct walk *w;
	char dir[300], *body = NULL;
	const char *why = NULL;
	unsigned int status = MHD_HTTP_CONFLICT;
	enum MHD_Result r;
	struct djob *j;

	if (strcmp(method, "GET"))
		return error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed here", nonce);
	w = calloc(1, sizeof(*w));
	if (!w)
		return MHD_NO;
	pthread_mutex_lock(&d.lock);
	j = find_job(id);
	if (!j || memcmp(j->consumer, key, 32)) {
		why = "no such job";
		status = MHD_HTTP_NOT_FOUND;
	} else if (!j->req.output) {
		why = "the job asked for no output files";
		status = MHD_HTTP_NOT_FOUND;
	} else if (j->state == J_CANCELLED) {
		why = "the job was cancelled: it left no output files";
	} else if (j->state != J_DONE) {
		why = "the job has not ended: its output files come when it has";
	} else {
		snprintf(dir, sizeof(dir), "%s", j->out_dir);
		memcpy(w->f.error, j->output_error, sizeof(w->f.error));
	}
	pthread_mutex_unlock(&d.lock);
	if (!why && __atomic_load_n(&files_sending, __ATOMIC_RELAXED) >= MAX_FILES_SENDING) {
		why = "busy sending other output files: try again";
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	if (why) {
		free(w);
		return error(c, status, why, nonce);
	}
	if (files_body(w, dir, &body)) {
		pr_warn("job %s: output files not sent: %s", id, w->err);
		r = error(c, w->status, w->err, nonce);
	} else {
		__atomic_fetch_add(&files_sending, 1, __ATOMIC_RELAXED);
		r = reply_then(c, MHD_HTTP_OK, body, nonce, files_sent);
	}
	omt_job_files_free(&w->f);
	free(w);
	return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	struct request *rq = *con_cls;
	struct omt_req_auth auth = {};
	char err[300], remote[64], id[16];
	const char *nonce;
	uint8_t key[32];
	struct djob *j;
	int output = 0, e;

	(void)cls;
	(void)version;
	if (!rq)
		return MHD_NO;
	if (!rq->started) {
		uint8_t k[32];
		const char *kh = header(c, "Omerta-Key");
		int listed = 0;
		size_t i;

		rq->started = 1;
		/*
		 * Headers only, body not read yet: a request from a key the policy
		 * doesn't list is turned away before it can make us buffer a body.
		 * (Its refusal is audited after, with the rest of the checks.)
		 */
		if (kh && omt_key_from_b64(kh, k) == 0) {
			pthread_mutex_lock(&d.lock);
			for (i = 0; i < d.policy.n_consumers; i++)
				listed |= !memcmp(d.policy.consumers[i].key, k, 32);
			pthread_mutex_unlock(&d.lock);
		}
		rq->stranger = !listed;
		return MHD_YES;
	}
	if (*upload_len) {
		if (rq->stranger || rq->len + *upload_len > MAX_BODY) {
			rq->too_big = 1;
		} else {
			if (rq->len + *upload_len + 1 > rq->cap) {
				/* Doubling: a 12 MiB body comes in many small pieces. */
				size_t cap = rq->cap ? rq->cap : 4096;
				char *p;

				while (cap < rq->len + *upload_len + 1)
					cap *= 2;
				p = realloc(rq->body, cap);
				if (!p)
					return MHD_NO;
				rq->body = p;
				rq->cap = cap;
			}
			memcpy(rq->body + rq->len, upload, *upload_len);
			rq->len += *upload_len;
			rq->body[rq->len] = '\0';
		}
		*upload_len = 0;
		return MHD_YES;
	}
	remote_of(c, remote, sizeof(remote));
	nonce = auth.nonce;
	if (rq->stranger) {
		/* Its body was never read, so its signature can't be checked. */
		audit_decision(NULL, NULL, NULL, 0, "unknown consumer key (signature not checked)",
			       NULL, remote);
		return error(c, MHD_HTTP_FORBIDDEN, "unknown consumer key",
			     header(c, "Omerta-Nonce"));
	}
	if (rq->too_big) {
		snprintf(err, sizeof(err), "request body over %d MiB", MAX_BODY >> 20);
		return error(c, MHD_HTTP_CONTENT_TOO_LARGE, err, nonce);
	}

	/* No request is looked at before its signature is good and fresh. */
	if (omt_req_auth_from_headers(&auth, header(c, "Omerta-Key"),
				      header(c, "Omerta-Timestamp"), header(c, "Omerta-Nonce"),
				      header(c, "Omerta-Signature"), err, sizeof(err)) ||
	    omt_verify_request(&auth, method, rq->uri, rq->body ? rq->body : "", rq->len,
			       time(NULL), AUTH_WINDOW_S, key, err, sizeof(err))) {
		/* The audit log locks itself: a flood of bad requests never holds d.lock. */
		audit_decision(NULL, NULL, NULL, 0, err, NULL, remote);
		return error(c, MHD_HTTP_UNAUTHORIZED, err, nonce);
	}
	/*
	 * Only listed consumers get a place in the replay cache: strangers can't
	 * fill it and lock everyone out. (Their refusal is the policy's.)
	 */
	pthread_mutex_lock(&d.lock);
	{
		const char *why = "unknown consumer key";	/* the policy's own words */
		size_t k;

		for (k = 0; k < d.policy.n_consumers; k++)
			if (!memcmp(d.policy.consumers[k].key, key, 32))
				why = d.policy.consumers[k].allow ? NULL : "consumer denied by policy";
		if (why) {
			audit_decision(key, NULL, NULL, 0, why, NULL, remote);
			pthread_mutex_unlock(&d.lock);
			return error(c, MHD_HTTP_FORBIDDEN, why, nonce);
		}
	}
	pthread_mutex_unlock(&d.lock);
	e = omt_nonce_check(d.nonces, key, auth.nonce, time(NULL));
	if (e == -EBUSY)
		return error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many requests: try again", nonce);
	if (e) {
		audit_decision(key, NULL, NULL, 0, "replayed request (nonce seen before)", NULL,
			       remote);
		return error(c, MHD_HTTP_UNAUTHORIZED, "replayed request (nonce seen before)", nonce);
	}

	if (strcmp(url, "/v1/jobs") == 0 && strcmp(method, "POST") == 0)
		return submit(c, key, nonce, rq, remote);

	if (strncmp(url, "/v1/jobs/", 9) || strlen(url + 9) < OMT_JOB_ID_LEN)
		return error(c, MHD_HTTP_NOT_FOUND, "no such path", nonce);
	snprintf(id, sizeof(id), "%.8s", url + 9);
	if (url[9 + OMT_JOB_ID_LEN] == '/' && strcmp(url + 9 + OMT_JOB_ID_LEN, "/output") == 0)
		output = 1;
	else if (strcmp(url + 9 + OMT_JOB_ID_LEN, "/files") == 0)
		return job_files(c, key, id, method, nonce);
	else if (strcmp(url + 9 + OMT_JOB_ID_LEN, "/checkpoint") == 0 ||
		 strcmp(url + 9 + OMT_JOB_ID_LEN, "/restore") == 0)
		return control(c, key, id, url + 9 + OMT_JOB_ID_LEN + 1, method, nonce);
	else if (url[9 + OMT_JOB_ID_LEN])
		return error(c, MHD_HTTP_NOT_FOUND, "no such path", nonce);

	pthread_mutex_lock(&d.lock);
	j = find_job(id);
	/* Someone else's job does not exist, as far as this key can tell. */
	if (!j || memcmp(j->consumer, key, 32)) {
		pthread_mutex_unlock(&d.lock);
		return error(c, MHD_HTTP_NOT_FOUND, "no such job", nonce);
	}
	if (strcmp(method, "GET") == 0) {
		enum MHD_Result r = job_get(c, j, output, nonce);

		pthread_mutex_unlock(&d.lock);
		return r;
	}
	if (strcmp(method, "DELETE") == 0 && !output) {
		cancel_job(j);
		write_state();
		char *body = status_body(j);

		pthread_mutex_unlock(&d.lock);
		return reply(c, MHD_HTTP_OK, body, nonce);
	}
	pthread_mutex_unlock(&d.lock);
	return error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed here", nonce);
}

/* ------------------------------------------------------ energy, power, sleep */

/*
 * Every TICK_S: the running VMs' share of the host's energy (RAPL), the
 * power caps as CPU quotas, and the sleep inhibitor (AC may have gone).
 * Called with d.lock held; reads small sysfs files only.
 */
#define TICK_S 2
static void tick(void)
{
	struct omt_energy_vm vms[OMT_MAX_VMS];
	struct omt_energy_quota q[OMT_MAX_VMS];
	struct djob *js[OMT_MAX_VMS];
	struct omt_energy_caps caps = { d.policy.power_cap_vm_w, d.policy.power_cap_total_w };
	struct omt_cgroup cg;
	size_t n = 0, i;
	struct djob *j;

	omt_inhibit_update(d.inhibit, d.running > 0);
	for (j = d.jobs; j && n < OMT_MAX_VMS; j = j->next) {
		if (j->state != J_RUNNING || omt_cgroup_lookup(&cg, j->id) ||
		    omt_cgroup_cpu_usage_ns(&cg, &j->energy.cpu_ns))
			continue;	/* not started yet, or gone */
		js[n] = j;
		vms[n++] = j->energy;
	}
	if (omt_energy_sample(d.energy, vms, n) || !omt_energy_available(d.energy))
		return;
	for (i = 0; i < n; i++) {
		js[i]->energy = vms[i];
		q[i] = (struct omt_energy_quota){ .watts = vms[i].watts,
						  .limit_us = js[i]->req.cpus * OMT_CPU_PERIOD_US,
						  .quota_us = js[i]->quota_us };
	}
	if (!caps.vm_watts && !caps.total_watts)
		return;
	omt_energy_cap_quota(&caps, q, n, get_nprocs());
	for (i = 0; i < n; i++) {
		if (q[i].new_quota_us == js[i]->quota_us)
			continue;
		if (omt_cgroup_lookup(&cg, js[i]->id) == 0 &&
		    omt_cgroup_set_cpu_max(&cg, q[i].new_quota_us < 0 ? q[i].limit_us :
						q[i].new_quota_us, OMT_CPU_PERIOD_US) == 0) {
			pr_debug("job %s: %.1f W: CPU quota %ld us per %ld us", js[i]->id,
				 q[i].watts, q[i].new_quota_us, OMT_CPU_PERIOD_US);
			js[i]->quota_us = q[i].new_quota_us;
		}
	}
}

/* ---------------------------------------------------------------- metrics */

/* One metric of the per-VM guard counters: packets, or bytes. */
static void guard_counters(struct omt_prom *p, const char *name, const char *help, int bytes,
			   char (*ids)[OMT_JOB_ID_LEN + 1], const struct omt_vm_totals *t,
			   const int *ok, unsigned int n)
{
	static const char *const verdicts[] = { "pass", "drop" };
	unsigned int k;
	int dir, v;

	omt_prom_help(p, name, "counter", help);
	for (k = 0; k < n; k++)
		for (dir = 0; ok[k] && dir < 2; dir++)
			for (v = 0; v < 2; v++)
				omt_prom_sample(p, name,
						bytes ? t[k].dir_verdict[dir][v].bytes :
							t[k].dir_verdict[dir][v].packets,
						"vm", ids[k], "direction", omt_direction_name(dir),
						"verdict", verdicts[v], NULL);
}

static char *metrics_text(size_t *len)
{
	struct omt_prom p = {};
	struct omt_vm_totals *t = calloc(OMT_MAX_VMS, sizeof(*t));
	char (*ids)[OMT_JOB_ID_LEN + 1] = calloc(OMT_MAX_VMS, sizeof(*ids));
	int ok[OMT_MAX_VMS] = { 0 };
	unsigned int n = 0, k;
	struct djob *j;
	size_t i;
	int r, any;

	if (!t || !ids) {
		free(t);
		free(ids);
		return NULL;
	}
	pthread_mutex_lock(&d.lock);
	omt_prom_help(&p, "omerta_vms_running", "gauge", "MicroVMs running now.");
	omt_prom_sample(&p, "omerta_vms_running", d.running, NULL);
	omt_prom_help(&p, "omerta_jobs_queued", "gauge", "Admitted jobs waiting for a VM.");
	for (i = 0, j = d.jobs; j; j = j->next)
		i += j->state == J_QUEUED;
	omt_prom_sample(&p, "omerta_jobs_queued", i, NULL);
	omt_prom_help(&p, "omerta_jobs_total", "counter", "Jobs that ended, by outcome.");
	for (i = 0, any = 0; i < sizeof(d.outcomes) / sizeof(d.outcomes[0]); i++) {
		if (!d.outcomes[i].outcome[0])
			break;
		omt_prom_sample(&p, "omerta_jobs_total", d.outcomes[i].n, "outcome",
				d.outcomes[i].outcome, NULL);
		any = 1;
	}
	if (!any)
		omt_prom_sample(&p, "omerta_jobs_total", 0, "outcome", "done", NULL);
	omt_prom_help(&p, "omerta_requests_refused_total", "counter",
		      "Requests refused: authentication, policy or description.");
	omt_prom_sample(&p, "omerta_requests_refused_total",
			__atomic_load_n(&d.refused, __ATOMIC_RELAXED), NULL);
	for (j = d.jobs; j && n < OMT_MAX_VMS; j = j->next)
		if (j->state == J_RUNNING)
			memcpy(ids[n++], j->id, sizeof(ids[0]));
	omt_prom_help(&p, "omerta_vm_energy_joules_total", "counter",
		      "Energy attributed to a running VM: the host's RAPL energy by its share of "
		      "busy CPU time (0 without RAPL).");
	for (j = d.jobs; j; j = j->next)
		if (j->state == J_RUNNING)
			omt_prom_sample(&p, "omerta_vm_energy_joules_total", j->energy.joules, "vm",
					j->id, NULL);
	omt_prom_histogram(&p, "omerta_vm_boot_seconds",
			   "QEMU start to the workload's start (VPN up), per job.", &d.boot);
	omt_prom_histogram(&p, "omerta_rogue_kill_seconds",
			   "A rogue frame to its VM's QEMU dead, per killed job.", &d.kill);
	pthread_mutex_unlock(&d.lock);

	/* The maps are read without the lock: a scrape never stalls the jobs. */
	for (k = 0; k < n; k++)
		ok[k] = omt_vm_totals_read(ids[k], &t[k]) == 0;
	guard_counters(&p, "omerta_guard_packets_total",
		       "Frames the guard saw on a running VM's tap, by direction and verdict.", 0, ids,
		       t, ok, n);
	guard_counters(&p, "omerta_guard_bytes_total",
		       "Bytes the guard saw on a running VM's tap, by direction and verdict.", 1, ids,
		       t, ok, n);
	omt_prom_help(&p, "omerta_rogue_events_total", "counter",
		      "Frames a running VM sent that the guard dropped, by reason.");
	for (k = 0; k < n; k++)
		for (r = 1; ok[k] && r < OMT_R__COUNT; r++)
			if (t[k].reason[r].packets)
				omt_prom_sample(&p, "omerta_rogue_events_total", t[k].reason[r].packets,
						"vm", ids[k], "reason", omt_reason_name(r), NULL);
	free(t);
	free(ids);
	if (p.failed) {
		omt_prom_free(&p);
		return NULL;
	}
	*len = p.len;
	return p.buf;
}

static enum MHD_Result metrics_handle(void *cls, struct MHD_Connection *c, const char *url,
				      const char *method, const char *version,
				      const char *upload, size_t *upload_len, void **con_cls)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;
	size_t len = 0;
	char *body;

	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if (strcmp(url, "/metrics") || (strcmp(method, "GET") && strcmp(method, "HEAD"))) {
		body = strdup("only GET /metrics here\n");
		len = body ? strlen(body) : 0;
		status = MHD_HTTP_NOT_FOUND;
	} else {
		body = metrics_text(&len);
	}
	if (!body)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---------------------------------------------------------------- main loop */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: omerta-loader run [--config FILE] [--metrics-listen IP:PORT]\n\n"
		"The provider daemon: takes signed job requests over HTTP (the policy's\n"
		"listen address), decides by the policy, logs every decision and outcome\n"
		"to the audit log, and runs admitted jobs in microVMs, at most max_vms at\n"
		"once, in priority order.\n\n"
		"  --config FILE   the policy (default /etc/omerta/omerta.ini)\n"
		"  --metrics-listen IP:PORT  Prometheus metrics at /metrics (default: the\n"
		"                  policy's metrics_listen; none without either)\n\n"
		"Signals: SIGHUP reloads the policy (running jobs keep theirs); SIGTERM\n"
		"and SIGINT stop: queued jobs are cancelled, running ones stopped (their\n"
		"VMs killed and removed), outcomes logged, then exit 0.\n"
		"At start it removes what a crashed run left behind.\n");
}

static int load_policy(const char *path, struct omt_policy_cfg *out)
{
	char err[512];

	if (omt_policy_load(path, out, err, sizeof(err))) {
		pr_err("%s", err);
		return -EINVAL;
	}
	return 0;
}

static void reload(void)
{
	struct omt_policy_cfg fresh;

	if (load_policy(d.config_path, &fresh)) {
		pr_err("policy not reloaded: the running one stays");
		return;
	}
	pthread_mutex_lock(&d.lock);
	omt_policy_free(&d.policy);
	d.policy = fresh;
	pr_info("policy reloaded from %s: %zu consumers, %zu networks, max_vms %u",
		d.config_path, d.policy.n_consumers, d.policy.n_networks, d.policy.max_vms);
	schedule();
	pthread_mutex_unlock(&d.lock);
}

/* Everything in DAEMON_DIR but its lock. */
static void remove_leftovers(void)
{
	char path[600];
	struct dirent *de;
	DIR *dd = opendir(DAEMON_DIR);

	while (dd && (de = readdir(dd))) {
		if (omt_is_dot(de->d_name) || !strcmp(de->d_name, "lock"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", DAEMON_DIR, de->d_name);
		remove_tree(path);
	}
	if (dd)
		closedir(dd);
}

/* Keys, the audit log and a lock that says one daemon runs. */
static int prepare(int *lock_fd)
{
	char err[512], path[300];
	int e;

	if (mkdir(OMT_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(DAEMON_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/lock", DAEMON_DIR);
	*lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX | LOCK_NB) < 0) {
		pr_err("another omerta-loader run holds %s", path);
		return -EBUSY;
	}
	/* What a crashed run left: its jobs, its VM configs (private keys), inputs and outputs. */
	omt_jobdir_reap_stale();
	remove_leftovers();
	if ((e = omt_key_load(d.policy.key_path, d.sk, d.pk, err, sizeof(err)))) {
		pr_err("provider key: %s (create it with 'omerta keygen %s')", err,
		       d.policy.key_path);
		return e;
	}
	omt_key_b64(d.pk, d.pk_b64);
	if ((e = omt_audit_open(d.policy.audit_log, &d.audit, err, sizeof(err)))) {
		pr_err("audit log: %s", err);
		return e;
	}
	d.nonces = omt_nonce_cache_new(65536, AUTH_WINDOW_S);
	d.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!d.nonces || d.wake < 0)
		return -ENOMEM;
	return 0;
}

static void on_child_output(int fd)
{
	struct djob *j;

	pthread_mutex_lock(&d.lock);
	for (j = d.jobs; j; j = j->next) {
		if (j->out.fd == fd)
			drain_stream(&j->out);
		else if (j->err.fd == fd)
			drain_stream(&j->err);
	}
	pthread_mutex_unlock(&d.lock);
}

static void watch_outputs(int ep)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct djob *j;

	for (j = d.jobs; j; j = j->next) {
		if (j->state != J_RUNNING)
			continue;
		/* EEXIST for the ones already watched: harmless. */
		ev.data.fd = j->out.fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, j->out.fd, &ev);
		ev.data.fd = j->err.fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, j->err.fd, &ev);
	}
}

static void reap(int ep)
{
	struct djob *j;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		pthread_mutex_lock(&d.lock);
		for (j = d.jobs; j; j = j->next) {
			if (j->state == J_RUNNING && j->pid == pid) {
				epoll_ctl(ep, EPOLL_CTL_DEL, j->out.fd, NULL);
				epoll_ctl(ep, EPOLL_CTL_DEL, j->err.fd, NULL);
				job_exited(j, status);
				break;
			}
		}
		schedule();
		pthread_mutex_unlock(&d.lock);
	}
}

static void stop_all(void)
{
	struct djob *j;

	pthread_mutex_lock(&d.lock);
	d.stopping = 1;
	for (j = d.jobs; j; j = j->next)
		cancel_job(j);
	pthread_mutex_unlock(&d.lock);
}

int run_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "metrics-listen", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct epoll_event ev, evs[16];
	struct sockaddr_in sa = { .sin_family = AF_INET }, ma = { .sin_family = AF_INET };
	struct MHD_Daemon *http = NULL, *metrics = NULL;
	const char *metrics_listen = NULL;
	uint8_t mip[4];
	uint16_t mport = 0;
	sigset_t mask;
	struct itimerspec every = { .it_interval = { TICK_S, 0 }, .it_value = { TICK_S, 0 } };
	int c, ep, sfd, tfd = -1, lock_fd = -1, ret = OMT_EXIT_FAIL, n, i;
	char self[4096];
	ssize_t sl;

	d.config_path = "/etc/omerta/omerta.ini";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'm':
			if (omt_parse_endpoint(optarg, mip, &mport)) {
				fprintf(stderr, "run: --metrics-listen must be IPv4:PORT: '%s'\n", optarg);
				return OMT_EXIT_USAGE;
			}
			metrics_listen = optarg;
			break;
		case 'h':
			usage(stdout);
			return OMT_EXIT_OK;
		default:
			usage(stderr);
			return OMT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "run: unexpected argument '%s'\n", argv[optind]);
		return OMT_EXIT_USAGE;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		pr_err("readlink /proc/self/exe: %s", strerror(errno));
		return OMT_EXIT_FAIL;
	}
	self[sl] = '\0';
	d.self = self;
	d.daemon_pid = getpid();
	if (sodium_init() < 0 || load_policy(d.config_path, &d.policy))
		return OMT_EXIT_FAIL;
	d.boot = (struct omt_histogram){ .bounds = boot_bounds,
					 .n = sizeof(boot_bounds) / sizeof(boot_bounds[0]) };
	d.kill = (struct omt_histogram){ .bounds = kill_bounds,
					 .n = sizeof(kill_bounds) / sizeof(kill_bounds[0]) };

	/* Blocked before the HTTP thread exists, so it inherits the mask. */
	omt_signals_for_signalfd(&mask, 1);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (sfd < 0 || ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &every, NULL) < 0 ||
	    prepare(&lock_fd))
		goto out;
	d.energy = omt_energy_new(NULL, NULL);
	d.inhibit = omt_inhibit_new(NULL);
	if (!d.energy || !d.inhibit)
		goto out;

	memcpy(&sa.sin_addr, d.policy.listen_ip, 4);
	sa.sin_port = htons(d.policy.listen_port);
	http = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)32, MHD_OPTION_END);
	if (!http) {
		pr_err("listen on %u.%u.%u.%u:%u: %s", d.policy.listen_ip[0], d.policy.listen_ip[1],
		       d.policy.listen_ip[2], d.policy.listen_ip[3], d.policy.listen_port,
		       strerror(errno));
		goto out;
	}
	if (!metrics_listen && d.policy.has_metrics) {
		memcpy(mip, d.policy.metrics_ip, 4);
		mport = d.policy.metrics_port;
	}
	if (mport) {
		memcpy(&ma.sin_addr, mip, 4);
		ma.sin_port = htons(mport);
		metrics = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
					   NULL, NULL, metrics_handle, NULL, MHD_OPTION_SOCK_ADDR, &ma,
					   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
					   MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32, MHD_OPTION_END);
		if (!metrics) {
			pr_err("metrics on %u.%u.%u.%u:%u: %s", mip[0], mip[1], mip[2], mip[3], mport,
			       strerror(errno));
			goto out;
		}
		pr_info("metrics on http://%u.%u.%u.%u:%u/metrics", mip[0], mip[1], mip[2], mip[3],
			mport);
	}
	pr_info("listening on %u.%u.%u.%u:%u, provider key %s, max_vms %u", d.policy.listen_ip[0],
		d.policy.listen_ip[1], d.policy.listen_ip[2], d.policy.listen_ip[3],
		d.policy.listen_port, d.pk_b64, d.policy.max_vms);

	/* Under systemd (Type=notify): ready now, the API is listening. */
	sd_notifyf(0, "READY=1\nSTATUS=listening on %u.%u.%u.%u:%u, max_vms %u",
		   d.policy.listen_ip[0], d.policy.listen_ip[1], d.policy.listen_ip[2],
		   d.policy.listen_ip[3], d.policy.listen_port, d.policy.max_vms);
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = d.wake;
	epoll_ctl(ep, EPOLL_CTL_ADD, d.wake, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

	for (;;) {
		n = epoll_wait(ep, evs, 16, -1);
		if (n < 0 && errno == EINTR)
			continue;
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGCHLD) {
					reap(ep);
				} else if (si.ssi_signo == SIGHUP) {
					sd_notify(0, "RELOADING=1");
					reload();
					sd_notify(0, "READY=1");
				} else if (!d.stopping) {
					sd_notify(0, "STOPPING=1");
					pr_info("%s: stopping every job, then exiting",
						strsignal(si.ssi_signo));
					stop_all();
				}
			} else if (fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) < 0)
					continue;
				pthread_mutex_lock(&d.lock);
				tick();
				pthread_mutex_unlock(&d.lock);
			} else if (fd == d.wake) {
				eventfd_t v;

				eventfd_read(d.wake, &v);
				pthread_mutex_lock(&d.lock);
				schedule();
				pthread_mutex_unlock(&d.lock);
			} else {
				on_child_output(fd);
			}
		}
		pthread_mutex_lock(&d.lock);
		watch_outputs(ep);
		if (d.stopping && d.running == 0) {
			pthread_mutex_unlock(&d.lock);
			break;
		}
		pthread_mutex_unlock(&d.lock);
	}
	ret = OMT_EXIT_OK;
	unlink(DAEMON_DIR "/state.json");
	pr_info("stopped");
out:
	if (metrics)
		MHD_stop_daemon(metrics);
	if (http)
		MHD_stop_daemon(http);
	while (d.jobs) {
		struct djob *j = d.jobs;

		d.jobs = j->next;
		free_job(j);
	}
	omt_audit_close(d.audit);
	omt_nonce_cache_free(d.nonces);
	omt_inhibit_free(d.inhibit);
	omt_energy_free(d.energy);
	if (tfd >= 0)
		close(tfd);
	omt_policy_free(&d.policy);
	sodium_memzero(d.sk, sizeof(d.sk));
	if (lock_fd >= 0)
		close(lock_fd);
	return ret;
}
