/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the daemon's files share: its one state (d), a job's record, and
 * each file's entry points. The files:
 *   run.c         the main loop: start, signals and reload, the children's
 *                 output and exits, stopping
 *   jobs.c        the job table and the queue, the state file
 *   exec_child.c  a job's `omerta-loader exec`: its files, its command
 *                 line, its start, its output, its result
 *   http.c        libmicrohttpd: the connection's request, its upload
 *                 bounded, signed replies
 *   tls.c         the API's TLS certificate, of the provider key
 *   auth.c        who may ask: keys, signatures, nonces
 *   routes.c      the API's paths, one function each
 *   control.c     checkpoints and restores, each in a thread of its own
 *   files.c       GET .../files: the output directory, walked
 *   metrics.c     the Prometheus endpoint and the counts behind it
 *   power.c       every tick: energy, power caps, the sleep inhibitor
 *   audit.c       the audit log's records of decisions and outcomes, and
 *                 the refusals of unverified requests, counted
 */
#ifndef OMERTA_DAEMON_INTERNAL_H
#define OMERTA_DAEMON_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "../api/job.h"
#include "../api/sign.h"
#include "../host/jobdir.h"
#include "../lib/log.h"
#include "../policy/audit.h"
#include "../policy/policy.h"
#include "../policy/storage.h"
#include "../proto/exec_result.h"
#include "../telemetry/energy.h"
#include "../telemetry/prom.h"

/*
 * A job's files. In DAEMON_DIR (/run, a tmpfs: never on disk) the small
 * ones: ID.conf (the VM's WireGuard config, its private key) and ID.result
 * (exec's --result); with the daemon's lock, state.json and state_dir (the
 * state directory in use, for `omerta-loader cleanup`). In the state
 * directory's jobs/ (d.jobs_dir, on disk, 0700) what the storage budget
 * counts: ID.sh (the script) and ID.in/ (the inputs), gone when the job
 * ends; ID.checkpoint (exec's --checkpoint), gone on restore or when the
 * job ends; ID.out/ (exec's --output), served by GET .../files until the
 * job is dropped or its files dropped to make room. What a crashed daemon
 * left in either, the next start removes.
 */
#define DAEMON_DIR OMT_DAEMON_DIR
/*
 * Finished jobs' stdout and stderr, all together, kept in memory at most
 * this much (each stream of a job at most MAX_OUTPUT, 4 MiB): past it, the
 * jobs that ended first lose theirs (GET .../output: 410).
 */
#define STREAMS_KEPT_MAX (64 << 20)
#define AUTH_WINDOW_S 60
/*
 * The replay cache: each listed consumer key has room for this many live
 * nonces (2 x AUTH_WINDOW_S: 68 requests/s sustained), of its own; at most
 * NONCE_KEYS keys at once. At most 8192 x 24 B = 192 KiB a key.
 */
#define NONCE_PER_KEY 8192
#define NONCE_KEYS 1024
#define OMT_MAX_VMS 256			/* the policy's max_vms bound */
#define TICK_S 2			/* power.c's tick, from the main loop */
#define MAX_CONTROLS 4			/* checkpoints and restores under way at once, in all */

enum jstate { J_QUEUED, J_RUNNING, J_DONE, J_CANCELLED };

/* A child's stdout or stderr: what came, and the pipe it comes on (-1 once it has ended). */
struct stream {
	char *data;
	size_t len;
	int fd;
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
	char ckpt_path[300];		/* exec's --checkpoint */
	struct omt_storage_need need;	/* declared at its submission */
	uint64_t files_mib;		/* once finished: what its files use */
	uint64_t ended;			/* once finished: the order it ended in, from 1 */
	bool files_dropped;		/* its output files dropped to make room */
	bool streams_dropped;		/* its stdout and stderr dropped (STREAMS_KEPT_MAX) */
	char output_error[OMT_JOB_FILES_MAX_ERROR + 1];	/* exec's, when it refused output */
	pid_t pid;
	struct stream out, err;
	int exit_status;
	char outcome[32];
	enum omt_owner_priority owner_priority;
	struct omt_energy_vm energy;	/* attributed energy, while it runs */
	long quota_us;			/* CPU quota in force (power caps), < 0: none */
	time_t submitted, started, finished;
	struct omt_job_control control;	/* the last checkpoint or restore asked (control.c) */
	bool warm_start;		/* it took a warm VM (warm.c) */
	char vm_id[OMT_JOB_ID_LEN + 1];	/* its VM's cgroup: the warm VM's id, else its own */
	struct djob *next;
};

/* A warm VM: an exec child booted before its job (warm.c). */
struct dwarm {
	char id[OMT_JOB_ID_LEN + 1];	/* its cgroup's, QEMU's, until a job takes it */
	pid_t pid;
	int fd;				/* our end of its --warm-fd; -1 once retired */
	int out, err;			/* the pipes a job's stdout and stderr will come on */
	bool ready;			/* its agent waits for a job */
	bool retiring;			/* no job for it: its exec is ending */
	time_t started;
	struct dwarm *next;
};
/* Where a warm VM's exec finds its end of the socket. */
#define OMT_WARM_FD 5

/*
 * The daemon, one of it. These threads touch it: the main thread (run.c:
 * signals, the exec children and their output, the tick, starting queued
 * jobs), the API thread (libmicrohttpd's: http.c, auth.c, routes.c,
 * files.c), the metrics thread (libmicrohttpd's second daemon:
 * metrics.c), and at most MAX_CONTROLS control threads (control.c), one
 * per checkpoint or restore under way: the API thread starts one and
 * answers at once; it waits for exec's answer without the lock, then
 * takes it to write that answer into the job, found again by id and seq
 * (it keeps no pointer to it: the job may have been dropped meanwhile).
 * No request waits for a job's exec, and d.lock is never held across a
 * wait for one.
 *
 * lock guards the policy, the job table and every job in it, running,
 * seq, stopping, controls, the outcome counts, the histograms, energy and
 * inhibit (the main thread, which alone replaces the policy, reads it
 * without). controls_idle is signalled, under it, whenever controls goes
 * down: the daemon's end waits for the control threads (controls_wait).
 * Set before the threads start and only read after: config_path, self,
 * daemon_pid and the provider keys. Used without it, safe on their own:
 * audit (it locks itself), nonces (likewise), wake (an eventfd the API
 * thread writes and the main thread reads) and refused (atomic).
 */
struct daemon {
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
	uint64_t ended;			/* jobs finished so far */
	char state_dir[OMT_POLICY_PATH_MAX];	/* the policy's at start: a reload keeps it */
	char audit_path[OMT_POLICY_PATH_MAX];	/* likewise; SIGUSR1 opens it afresh */
	char jobs_dir[OMT_POLICY_PATH_MAX + 8];	/* state_dir/jobs */
	unsigned int controls;		/* control threads running (control.c) */
	pthread_cond_t controls_idle;
	const char *self;		/* /proc/self/exe, for the exec children */
	pid_t daemon_pid;
	/* Metrics kept here; per-VM guard counters are read from its maps. */
	struct outcome_count { char outcome[32]; uint64_t n; } outcomes[16];
	uint64_t refused;
	struct tls_pem { char *key, *cert; } tls;	/* PEM, for libmicrohttpd; none with tls = off */
	struct omt_histogram boot, kill;
	struct omt_energy *energy;
	struct omt_inhibit *inhibit;
};

extern struct daemon d;

/* jobs.c; with d.lock held, but remove_path */
/*
 * "job ID: " and fmt's text, logged with the job, its consumer and, once
 * it has ended, its outcome as the line's fields (lib/log.h).
 */
void job_log(enum omt_log_level level, const struct djob *j, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct djob *find_job(const char *id);
/* id's job when it is key's: someone else's does not exist, as far as key can tell. */
struct djob *own_job(const char *id, const uint8_t key[32]);
unsigned int jobs_of(const uint8_t key[32]);
/*
 * Whether req's declared storage needs (into *need) fit the budgets of
 * dec's consumer and of the provider, finished jobs' files dropped, the
 * oldest first, when that makes room. 0, or -ENOSPC with why in reason.
 */
int job_storage_fit(const struct omt_decision *dec, const uint8_t key[32],
		    const struct omt_job_request *req, struct omt_storage_need *need,
		    char *reason, size_t len);
/*
 * What the jobs hold against the provider's storage budget: queued and
 * running jobs their declared needs (*reserved_mib: never dropped), finished
 * jobs what their files use (*kept_mib: dropped, the oldest first, for room).
 */
void jobs_storage_held(uint64_t *reserved_mib, uint64_t *kept_mib);
/*
 * A job for key's request req (taken over, when it returns one) as dec
 * admitted it, needing need, under a fresh id, with its paths. NULL: out
 * of resources.
 */
struct djob *job_new(const uint8_t key[32], const struct omt_decision *dec,
		     struct omt_job_request *req, const struct omt_storage_need *need);
/* Queued jobs that have room to run: waiting only for a uid (schedule_jobs tries again). */
bool jobs_waiting(void);
/* Queued, the table trimmed and the state file written. */
void job_queue(struct djob *j);
/* Cancels a queued job now, or has a running one's exec stop it (once). */
void cancel_job(struct djob *j);
void free_job(struct djob *j);
/* The job's VM config, script, inputs and checkpoint, once it has ended or can't start. */
void job_drop_inputs(struct djob *j);
/* j has ended: what its files use now is counted, and streams past STREAMS_KEPT_MAX dropped. */
void job_ended(struct djob *j);
/* Starts the best queued jobs while there is room; writes the state file. */
void schedule_jobs(void);
/* The state file, DAEMON_DIR/state.json, for `omerta-loader status`. */
void write_state(void);
/* Removes path, a file or a directory tree, and says so when it can't. "": none. */
void remove_path(const char *path);

/* exec_child.c; with d.lock held */
/*
 * The files exec reads for j: the VM's WireGuard config (its keypair made
 * here, the public half in vm_public_key), the script, the inputs, the
 * output directory. 0 or -errno.
 */
int job_write_files(struct djob *j, uint8_t vm_public_key[32]);
/*
 * Starts j's exec, on a warm VM of its shape when there is one (warm.c);
 * when it can't, j is done ("setup_failed"), audited.
 */
void spawn_exec(struct djob *j);
/*
 * An `omerta-loader exec` child running argv, dying with us; its stdout
 * and stderr (fds 3 and 4) on pipes whose read ends (non-blocking) go to
 * *out_fd and *err_fd; warm, when >= 0, as its OMT_WARM_FD. 0 or -errno.
 */
int spawn_child(char **argv, int warm, pid_t *pid, int *out_fd, int *err_fd);
/* What s's pipe holds now, kept up to MAX_OUTPUT (4 MiB); it never blocks. */
void drain_stream(struct stream *s);
/* j's exec has exited with status (waitpid's): its output, its result, its outcome. */
void job_exited(struct djob *j, int status);
/*
 * s cut to size, anything but printable ASCII as '?': for what exec says
 * that goes to the consumer's terminal. Any thread, no lock needed.
 */
void printable_copy(char *out, size_t size, const char *s);

/* warm.c; on the main thread, with d.lock held */
/* Warm VMs booting or ready (they count against max_vms); any at all, retiring ones too. */
unsigned int warm_count(void);
bool warm_any(void);
/* Boots warm VMs while warm_vms, max_vms, queued jobs and the owner's rules allow. */
void warm_fill(void);
/* Whether a warm VM waits (or boots) that j may take. */
bool warm_fits(const struct djob *j);
/* A warm VM j may take (a ready one first), out of the list; NULL: none of its shape. */
struct dwarm *warm_take(const struct djob *j);
/* v could not take its job: retired, its exec reaped later. */
void warm_give_back(struct dwarm *v);
/* A job of another shape needs a VM's room: one warm VM retired (a booting one first). */
void warm_make_room(void);
void warm_retire_all(const char *why);
/* After the start and every reload: the owner's watch, warm_vms lowered. */
void warm_policy_changed(void);
/* The owner watch's fd for the main loop's epoll (-1: none), and its event. */
int warm_owner_fd(void);
void warm_owner_poll(void);
/* The sockets of warm VMs not ready yet, watched on ep; fd's event: true if it was one. */
void warm_watch(int ep);
bool warm_on_fd(int ep, int fd);
/* pid was a warm VM's exec (true): forgotten, a back-off when it ended by itself. */
bool warm_reaped(pid_t pid, int status);
void warm_end(void);

/* control.c */
/*
 * Starts action ("checkpoint" or "restore") on running job j in a control
 * thread: 0, the job's control now "running"; else the HTTP status of a
 * refusal (409: j is not running or has one under way; 503: MAX_CONTROLS
 * under way, stopping, out of threads) with *why. With d.lock held.
 */
unsigned int control_start(struct djob *j, const char *action, const char **why);
/* Until no control thread is left (each ends within its request's timeout). Without d.lock. */
void controls_wait(void);

/* tls.c */
/* The provider key's certificate and key, PEM. 0, or -EINVAL with err set. */
int tls_credentials(const uint8_t sk[64], struct tls_pem *out, char *err, size_t errlen);
void tls_pem_free(struct tls_pem *p);

/* http.c */
/*
 * The API on the policy's listen address, over TLS 1.3 with d.tls (plain
 * HTTP with tls = off), its own thread; NULL (said in the log) when it
 * can't.
 */
struct MHD_Daemon *http_start(void);
/*
 * Sends body, signed by the provider key over the digest of the request it
 * answers (NULL: a request that was not verified; unsigned). body is freed
 * here (NULL: out of memory), by done once sent when it is given.
 */
enum MHD_Result http_reply_then(struct MHD_Connection *c, unsigned int status, char *body,
				const uint8_t *digest, void (*done)(void *));
enum MHD_Result http_reply(struct MHD_Connection *c, unsigned int status, char *body,
			   const uint8_t *digest);
/* {"error": msg}, signed over digest (NULL: unsigned). */
enum MHD_Result http_error(struct MHD_Connection *c, unsigned int status, const char *msg,
			   const uint8_t *digest);
const char *http_header(struct MHD_Connection *c, const char *name);

/* One API request, as auth.c checks it and routes.c answers it. */
struct call {
	struct MHD_Connection *c;
	const char *method;
	struct omt_req_auth auth;	/* its headers; auth.digest signs the answer */
	const uint8_t *digest;		/* auth.digest once verified, NULL before */
	uint8_t key[32];		/* the consumer's, its signature checked */
	const char *remote;		/* its IPv4 address, for the audit log */
	const char *body;		/* "" when none */
	size_t len;
	char id[OMT_JOB_ID_LEN + 1];	/* the job its path names */
	const char *what;		/* what follows the id, "/..." or "" */
	struct djob *job;		/* that job, for the routes that look it up first */
};

/* auth.c */
/*
 * From the headers alone, before any body is read: 0 when the request is
 * signed, fresh, by a listed and allowed key, and not a replay (k->key,
 * k->auth and k->digest set); else it has been answered (unsigned, when it
 * could not be verified; the refusal counted by audit_refusal), and *ret
 * says how.
 */
int authenticate(struct call *k, const char *uri, enum MHD_Result *ret);

/* routes.c */
enum MHD_Result route_call(struct call *k, const char *url);

/* files.c */
#define FILES_ERR_LEN 600
/*
 * The GET .../files answer for the output directory dir and exec's
 * output_error, in *body. 0, or -1 with the HTTP status in *status and why
 * in err.
 */
int files_answer(const char *dir, const char *output_error, char **body, unsigned int *status,
		 char err[FILES_ERR_LEN]);

/* metrics.c */
/* The histograms' buckets and a 0 for every outcome, before anything is counted. */
void metrics_init(void);
/* GET /metrics on ip:port, its own thread; NULL (said in the log) when it can't listen. */
struct MHD_Daemon *metrics_start(const uint8_t ip[4], uint16_t port);
/* A job's end, counted; with d.lock held. */
void metrics_job_ended(const char *outcome, const struct omt_exec_result *r);

/* power.c; with d.lock held */
void power_tick(void);
/* Running VMs whose CPU quota the power caps hold below their own cpus. */
unsigned int power_capped_vms(void);

/* audit.c */
void audit_decision(const uint8_t *key, const char *network, const struct omt_job_request *r,
		    int admit, const char *reason, const char *job, const char *remote);
/* r: exec's result, NULL when it left none. With d.lock held. */
void audit_outcome(const struct djob *j, const struct omt_exec_result *r);
/*
 * A request refused before it was verified (or, verified, cut off for its
 * upload), counted per client address and reason: no audit line of its
 * own. claimed_key: its Omerta-Key as sent (NULL: none).
 */
void audit_refusal(const char *claimed_key, bool verified, const char *remote,
		   const char *reason);
/* One {"event":"refusals",...} line per address and reason counted since the last call. */
void audit_refusals_flush(void);

#endif
