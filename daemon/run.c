// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-loader run: the provider daemon. An HTTP/1.1 + JSON API
 * (libmicrohttpd, its own thread: http.c, auth.c, routes.c) takes signed
 * job requests; the policy decides; every decision and outcome goes to the
 * audit log, flushed before anything runs; admitted jobs wait in a queue
 * ordered by network priority, consumer priority and arrival, and at most
 * max_vms run at once (jobs.c), each as an `omerta-loader exec` child of
 * ours (exec_child.c). This file is the main thread: it owns the children
 * (starts them, collects their output and their results), ticks
 * (power.c), and handles SIGTERM (stop everything), SIGHUP (reload the
 * policy), SIGUSR1 (reopen the audit log) and SIGCHLD. internal.h says
 * who touches what.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "../api/keys.h"
#include "../host/vmuid.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/parse.h"
#include "../lib/signals.h"
#include "../lib/tree.h"
#include "../owner/inhibit.h"
#include "../proto/exit.h"
#include "daemon.h"
#include "internal.h"

struct daemon d = { .lock = PTHREAD_MUTEX_INITIALIZER, .controls_idle = PTHREAD_COND_INITIALIZER };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: omerta-loader run [--config FILE] [--metrics-listen IP:PORT] [--check]\n\n"
		"The provider daemon: takes signed job requests over HTTP (the policy's\n"
		"listen address), decides by the policy, logs every decision and outcome\n"
		"to the audit log, and runs admitted jobs in microVMs, at most max_vms at\n"
		"once, in priority order.\n\n"
		"  --config FILE   the policy (default /etc/omerta/omerta.ini)\n"
		"  --metrics-listen IP:PORT  Prometheus metrics at /metrics (default: the\n"
		"                  policy's metrics_listen; none without either)\n"
		"  --check         only read the policy and the provider key it names, say\n"
		"                  what is wrong (exit 1) or print the public key (exit 0)\n\n"
		"Signals: SIGHUP reloads the policy (running jobs keep theirs); SIGUSR1\n"
		"reopens the audit log (after logrotate moved it); SIGTERM and SIGINT\n"
		"stop: queued jobs are cancelled, running ones stopped (their VMs killed\n"
		"and removed), outcomes logged, then exit 0.\n"
		"Under systemd, log lines go to the journal with OMERTA_JOB,\n"
		"OMERTA_CONSUMER, OMERTA_OUTCOME and OMERTA_REASON fields.\n"
		"At start it removes what a crashed run left behind.\n");
}

/* The command line into d.config_path and the metrics address: -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, const char **metrics_listen, uint8_t mip[4],
		      uint16_t *mport, bool *check)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "metrics-listen", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	d.config_path = "/etc/omerta/omerta.ini";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'k':
			*check = true;
			break;
		case 'm':
			if (omt_parse_endpoint(optarg, mip, mport)) {
				fprintf(stderr, "run: --metrics-listen must be IPv4:PORT: '%s'\n", optarg);
				return OMT_EXIT_USAGE;
			}
			*metrics_listen = optarg;
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
	return -1;
}

static int load_policy(const char *path, struct omt_policy_cfg *out)
{
	char err[512];

	char why[200];

	if (omt_policy_load(path, out, err, sizeof(err))) {
		pr_err("%s", err);
		return -EINVAL;
	}
	if (omt_vm_uid_check_unowned(&out->vm_uids, why, sizeof(why))) {
		pr_err("%s: vm_uids %u-%u: %s; the range must own nothing on the host", path,
		       out->vm_uids.first, out->vm_uids.last, why);
		omt_policy_free(out);
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
	if (fresh.tls != d.policy.tls || fresh.listen_port != d.policy.listen_port ||
	    memcmp(fresh.listen_ip, d.policy.listen_ip, 4))
		pr_warn("policy reload: listen and tls take effect at the next start; the API "
			"stays as it is");
	fresh.tls = d.policy.tls;
	memcpy(fresh.listen_ip, d.policy.listen_ip, 4);
	fresh.listen_port = d.policy.listen_port;
	if (strcmp(fresh.state_dir, d.state_dir))
		pr_warn("state_dir %s takes effect at the next start: jobs' files stay in %s",
			fresh.state_dir, d.state_dir);
	if (strcmp(fresh.audit_log, d.audit_path))
		pr_warn("audit_log %s takes effect at the next start: the audit log stays %s",
			fresh.audit_log, d.audit_path);
	pthread_mutex_lock(&d.lock);
	omt_policy_free(&d.policy);
	d.policy = fresh;
	pr_info("policy reloaded from %s: %zu consumers, %zu networks, max_vms %u",
		d.config_path, d.policy.n_consumers, d.policy.n_networks, d.policy.max_vms);
	schedule_jobs();
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
		remove_path(path);
	}
	if (dd)
		closedir(dd);
}

/*
 * The state directory (made if missing) and its jobs/, root's alone (0700),
 * neither a symlink; what a crashed run's jobs left there removed; where it
 * is recorded for `omerta-loader cleanup`. 0 or -errno, said in the log.
 */
static int prepare_state_dir(void)
{
	char text[OMT_POLICY_PATH_MAX + 1];
	struct stat st;
	int fd, e = 0;

	snprintf(d.state_dir, sizeof(d.state_dir), "%s", d.policy.state_dir);
	snprintf(d.jobs_dir, sizeof(d.jobs_dir), "%s/jobs", d.state_dir);
	if (mkdir(d.state_dir, 0700) < 0 && errno != EEXIST) {
		e = -errno;
		pr_err("state_dir %s: %s", d.state_dir, strerror(errno));
		return e;
	}
	if (mkdir(d.jobs_dir, 0700) < 0 && errno != EEXIST)
		e = -errno;
	fd = e ? -1 : open(d.jobs_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (!e && (fd < 0 || fstat(fd, &st) < 0 || fchmod(fd, 0700) < 0))
		e = -errno;
	if (!e && st.st_uid != geteuid())
		e = -EPERM;
	if (fd >= 0)
		close(fd);
	if (e) {
		pr_err("state_dir %s: jobs/ must be a directory of ours: %s", d.state_dir,
		       strerror(-e));
		return e;
	}
	omt_jobdir_reap_files(d.jobs_dir);
	snprintf(text, sizeof(text), "%s\n", d.state_dir);
	unlink(OMT_DAEMON_STATE_DIR_FILE);
	fd = open(OMT_DAEMON_STATE_DIR_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || omt_write_all(fd, text, strlen(text))) {
		e = fd < 0 ? -errno : -EIO;
		pr_err("%s: %s", OMT_DAEMON_STATE_DIR_FILE, strerror(-e));
	}
	if (fd >= 0)
		close(fd);
	return e;
}

/* The policy's provider key into d.sk, d.pk, d.pk_b64. */
static int load_key(void)
{
	char err[512];
	int e = omt_key_load(d.policy.key_path, d.sk, d.pk, err, sizeof(err));

	if (e) {
		pr_err("provider key: %s (create it with 'omerta-loader keygen %s')", err,
		       d.policy.key_path);
		return e;
	}
	omt_key_b64(d.pk, d.pk_b64);
	return 0;
}

/* Keys, the audit log, the state directory and a lock that says one daemon runs. */
static int prepare(int *lock_fd)
{
	char err[512];
	int e;

	if (mkdir(OMT_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(DAEMON_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	*lock_fd = open(OMT_DAEMON_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX | LOCK_NB) < 0) {
		pr_err("another omerta-loader run holds %s", OMT_DAEMON_LOCK);
		return -EBUSY;
	}
	/*
	 * What a crashed run left: its jobs, its VM configs (private keys),
	 * its jobs' files in the state directory it used (and in ours, next).
	 */
	omt_jobdir_reap_stale();
	omt_jobdir_reap_recorded();
	remove_leftovers();
	if ((e = prepare_state_dir()))
		return e;
	if ((e = load_key()))
		return e;
	if (d.policy.tls && (e = tls_credentials(d.sk, &d.tls, err, sizeof(err)))) {
		pr_err("%s", err);
		return e;
	}
	snprintf(d.audit_path, sizeof(d.audit_path), "%s", d.policy.audit_log);
	if ((e = omt_audit_open(d.audit_path, &d.audit, err, sizeof(err)))) {
		pr_err("audit log: %s", err);
		return e;
	}
	d.nonces = omt_nonce_cache_new(NONCE_PER_KEY, NONCE_KEYS, AUTH_WINDOW_S);
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
		if (!j)
			warm_reaped(pid, status);
		schedule_jobs();
		pthread_mutex_unlock(&d.lock);
	}
}

/*
 * The owner's activity, watched when warm VMs depend on it (warm.c): its
 * fd in ep, replaced when a reload changed it.
 */
static void watch_owner(int ep)
{
	static int watched = -1;
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	pthread_mutex_lock(&d.lock);
	warm_policy_changed();
	fd = warm_owner_fd();
	pthread_mutex_unlock(&d.lock);
	if (fd == watched)
		return;
	if (watched >= 0)
		epoll_ctl(ep, EPOLL_CTL_DEL, watched, NULL);
	ev.data.fd = fd;
	if (fd >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	watched = fd;
}

static void stop_all(void)
{
	struct djob *j;

	pthread_mutex_lock(&d.lock);
	d.stopping = 1;
	for (j = d.jobs; j; j = j->next)
		cancel_job(j);
	warm_retire_all("the daemon stops");
	pthread_mutex_unlock(&d.lock);
}

/* SIGUSR1: the audit log opened afresh at its path (logrotate moved it); else the old file stays. */
static void reopen_audit(void)
{
	char err[512];

	if (omt_audit_reopen(d.audit, d.audit_path, err, sizeof(err)))
		pr_err("audit log not reopened: %s; its lines go on to the file it had open", err);
	else
		pr_info("audit log reopened: %s", d.audit_path);
}

static void on_signal(int sfd, int ep)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGCHLD) {
		reap(ep);
	} else if (si.ssi_signo == SIGHUP) {
		sd_notify(0, "RELOADING=1");
		reload();
		watch_owner(ep);
		sd_notify(0, "READY=1");
	} else if (si.ssi_signo == SIGUSR1) {
		reopen_audit();
	} else if (!d.stopping) {
		sd_notify(0, "STOPPING=1");
		pr_info("%s: stopping every job, then exiting", strsignal(si.ssi_signo));
		stop_all();
	}
}

/* Until stopped and no job runs: signals, the tick, queued jobs, the children's output. */
static void main_loop(int ep, int sfd, int tfd)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[16];
	uint64_t ticks;
	eventfd_t v;
	int n, i, fd;

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
			fd = evs[i].data.fd;
			if (fd == sfd) {
				on_signal(sfd, ep);
			} else if (fd == tfd) {
				if (read(tfd, &ticks, sizeof(ticks)) < 0)
					continue;
				pthread_mutex_lock(&d.lock);
				power_tick();
				if (jobs_waiting())
					schedule_jobs();
				else
					warm_fill();	/* a back-off over, the owner gone */
				pthread_mutex_unlock(&d.lock);
				audit_refusals_flush();
			} else if (fd == d.wake) {
				eventfd_read(d.wake, &v);
				pthread_mutex_lock(&d.lock);
				schedule_jobs();
				pthread_mutex_unlock(&d.lock);
			} else if (fd == warm_owner_fd()) {
				pthread_mutex_lock(&d.lock);
				warm_owner_poll();
				warm_fill();
				pthread_mutex_unlock(&d.lock);
			} else {
				pthread_mutex_lock(&d.lock);
				fd = warm_on_fd(ep, fd) ? -1 : fd;
				pthread_mutex_unlock(&d.lock);
				if (fd >= 0)
					on_child_output(fd);
			}
		}
		pthread_mutex_lock(&d.lock);
		watch_outputs(ep);
		warm_watch(ep);
		if (d.stopping && d.running == 0 && !warm_any()) {
			pthread_mutex_unlock(&d.lock);
			return;
		}
		pthread_mutex_unlock(&d.lock);
	}
}

/* The API and metrics listening, said to the log and to systemd: 0, or -1 (logged). */
static int listen_all(const char *metrics_listen, uint8_t mip[4], uint16_t mport,
		      struct MHD_Daemon **http, struct MHD_Daemon **metrics)
{
	const uint8_t *ip = d.policy.listen_ip;

	*http = http_start();
	if (!*http)
		return -1;
	if (!metrics_listen && d.policy.has_metrics) {
		memcpy(mip, d.policy.metrics_ip, 4);
		mport = d.policy.metrics_port;
	}
	if (mport && !(*metrics = metrics_start(mip, mport)))
		return -1;
	pr_info("listening on %u.%u.%u.%u:%u, provider key %s, max_vms %u", ip[0], ip[1], ip[2],
		ip[3], d.policy.listen_port, d.pk_b64, d.policy.max_vms);

	/* Under systemd (Type=notify): ready now, the API is listening. */
	sd_notifyf(0, "READY=1\nSTATUS=listening on %u.%u.%u.%u:%u, max_vms %u", ip[0], ip[1],
		   ip[2], ip[3], d.policy.listen_port, d.policy.max_vms);
	return 0;
}

int run_main(int argc, char **argv)
{
	struct itimerspec every = { .it_interval = { TICK_S, 0 }, .it_value = { TICK_S, 0 } };
	struct MHD_Daemon *http = NULL, *metrics = NULL;
	const char *metrics_listen = NULL;
	int ep, sfd, tfd, lock_fd = -1, ret;
	uint16_t mport = 0;
	char self[4096];
	uint8_t mip[4];
	sigset_t mask;
	bool check = false;
	ssize_t sl;

	ret = parse_args(argc, argv, &metrics_listen, mip, &mport, &check);
	if (ret >= 0)
		return ret;
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
	if (check) {
		ret = load_key() ? OMT_EXIT_FAIL : OMT_EXIT_OK;
		if (ret == OMT_EXIT_OK)
			printf("%s: the policy is valid; provider key %s\n", d.config_path, d.pk_b64);
		omt_policy_free(&d.policy);
		return ret;
	}
	metrics_init();

	/* Blocked before the HTTP thread exists, so it inherits the mask. */
	omt_signals_for_signalfd(&mask, (const int[]){ SIGCHLD, SIGUSR1, 0 });
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ret = OMT_EXIT_FAIL;
	if (sfd < 0 || ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &every, NULL) < 0 ||
	    prepare(&lock_fd))
		goto out;
	d.energy = omt_energy_new(getenv("OMERTA_POWERCAP_DIR"), NULL);
	d.inhibit = omt_inhibit_new(NULL);
	if (!d.energy || !d.inhibit || listen_all(metrics_listen, mip, mport, &http, &metrics))
		goto out;
	watch_owner(ep);
	pthread_mutex_lock(&d.lock);
	warm_fill();	/* no job yet: the state file stays unwritten until one */
	pthread_mutex_unlock(&d.lock);
	main_loop(ep, sfd, tfd);
	ret = OMT_EXIT_OK;
	unlink(DAEMON_DIR "/state.json");
	unlink(OMT_DAEMON_STATE_DIR_FILE);
	pr_info("stopped");
out:
	if (metrics)
		MHD_stop_daemon(metrics);
	if (http)
		MHD_stop_daemon(http);
	/* No more can start; the ones still out are about to find their exec gone. */
	controls_wait();
	if (d.audit)
		audit_refusals_flush();
	tls_pem_free(&d.tls);
	while (d.jobs) {
		struct djob *j = d.jobs;

		d.jobs = j->next;
		free_job(j);
	}
	warm_end();
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
