// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A job's `omerta-loader exec`, a child of ours: the files it reads (the
 * VM's WireGuard config, the script, the inputs), its command line, its
 * start (it dies with us: PR_SET_PDEATHSIG), its output as it comes, and
 * its --result once it has ended. All from the main thread, with d.lock
 * held.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "../api/keys.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../owner/inhibit.h"
#include "../proto/exec_args.h"
#include "../proto/exec_result.h"
#include "../proto/exit.h"
#include "../proto/outcome.h"
#include "internal.h"

#define MAX_OUTPUT (4 << 20)		/* per stream and job, kept in memory */

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

int job_write_files(struct djob *j, uint8_t vm_public_key[32])
{
	uint8_t vm_priv[32];
	int e;

	/* The VM's keypair is made here; only its public half leaves. */
	omt_wg_keypair(vm_priv, vm_public_key);
	e = write_vm_config(j, vm_priv);
	sodium_memzero(vm_priv, sizeof(vm_priv));
	if (!e && j->req.script)
		e = write_private_file(j->script_path, j->req.script, strlen(j->req.script), 0600);
	if (!e && j->in_dir[0])
		e = write_inputs(j);
	if (!e && j->out_dir[0] && mkdir(j->out_dir, 0700) < 0)
		e = -errno;
	return e;
}

/* exec's command line for a job (proto/exec_args.h), and the strings it points into. */
struct exec_cmd {
	char **argv;			/* omt_exec_argv_new's */
	char env[64];
	char *inputs[OMT_JOB_MAX_INPUTS];	/* allocated */
};

static void exec_cmd_free(struct exec_cmd *x)
{
	unsigned int i;

	free(x->argv);
	for (i = 0; i < OMT_JOB_MAX_INPUTS; i++)
		free(x->inputs[i]);
}

/*
 * The `omerta-loader exec` command line that runs j, its stdout and stderr
 * to fds 3 and 4, into x (zeroed; exec_cmd_free it either way). 0, or
 * -ENOMEM.
 */
static int exec_argv(const struct djob *j, struct exec_cmd *x)
{
	struct omt_exec_args a;
	unsigned int i;

	omt_exec_args_init(&a);
	a.job_id = j->id;
	a.result = j->result_path;
	a.checkpoint = j->ckpt_path;
	a.stdout_fd = 3;
	a.stderr_fd = 4;
	a.vm_uids = d.policy.vm_uids;
	a.vm.image = j->req.image;
	a.vm.cpus = j->req.cpus;
	a.vm.memory_mib = j->req.memory_mib;
	a.job.vpn_config = j->conf_path;
	a.job.timeout = j->req.timeout_s;
	a.job.description = j->req.description;
	a.job.language = j->req.language;
	snprintf(x->env, sizeof(x->env), "OMERTA_CONSUMER_IP=%s", j->consumer_ip);
	a.job.env[a.job.n_env++] = x->env;
	if (j->owner_priority != OMT_OWNER_IDLE) {
		a.owner_priority = j->owner_priority;
		a.owner_idle = d.policy.owner_idle_s;
		a.owner_source = d.policy.owner_source;
	}
	for (i = 0; i < j->req.n_inputs && i < OMT_JOB_MAX_INPUTS; i++) {
		if (asprintf(&x->inputs[i], "%s/%s", j->in_dir, j->req.inputs[i].name) < 0) {
			x->inputs[i] = NULL;
			return -ENOMEM;
		}
		a.job.inputs[a.job.n_inputs++] = x->inputs[i];
	}
	if (j->req.output) {
		a.job.output_dir = j->out_dir;
		/* No more than GET .../files can serve. */
		a.job.output_max_mib = OMT_JOB_FILES_MAX_BYTES >> 20;
	}
	if (j->req.script)
		a.job.script = j->script_path;
	else
		a.job.command = j->req.command;
	return omt_exec_argv_new(&a, &x->argv);
}

/*
 * In the child, between fork and exec: fds 3 and 4 the pipes (and a warm
 * VM's socket as OMT_WARM_FD), nothing else inherited.
 */
static void __attribute__((noreturn)) in_child(char **argv, int out, int err, int warm)
{
	sigset_t none;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* A killed daemon takes its jobs along; SIGTERM lets exec clean up. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != d.daemon_pid)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Out of the way of 0 to 5 first: one dup2 must not close another's source. */
	out = fcntl(out, F_DUPFD_CLOEXEC, 10);
	err = fcntl(err, F_DUPFD_CLOEXEC, 10);
	if (warm >= 0)
		warm = fcntl(warm, F_DUPFD_CLOEXEC, 10);
	if (out < 0 || err < 0 || null < 0)
		_exit(127);
	dup2(null, 0);
	dup2(null, 1);
	dup2(out, 3);
	dup2(err, 4);
	if (warm >= 0)
		dup2(warm, OMT_WARM_FD);
	execv(d.self, argv);
	_exit(127);
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

int spawn_child(char **argv, int warm, pid_t *pid, int *out_fd, int *err_fd)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, e;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		e = -errno;
		goto fail;
	}
	*pid = fork();
	if (*pid < 0) {
		e = -errno;
		goto fail;
	}
	if (*pid == 0)
		in_child(argv, out[1], err[1], warm);
	close(out[1]);
	close(err[1]);
	/* Read as it comes, from the main loop: never block it. */
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*out_fd = out[0];
	*err_fd = err[0];
	return 0;
fail:
	close_pair(out);
	close_pair(err);
	return e;
}

/* The job's exec arguments to a warm VM, NUL-terminated, then EOF. 0 or -errno. */
static int send_args(int fd, char **argv)
{
	size_t len;
	ssize_t n;

	for (; *argv; argv++) {
		len = strlen(*argv) + 1;
		/* Far less than the socket's buffer: never blocks, never SIGPIPE. */
		n = send(fd, *argv, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n != (ssize_t)len)
			return n < 0 ? -errno : -EAGAIN;
	}
	return shutdown(fd, SHUT_WR) < 0 ? -errno : 0;
}

/* j on warm VM v: 0, or -errno (v then retired, j to start cold). */
static int give_warm(struct djob *j, struct dwarm *v, const struct exec_cmd *x)
{
	int e = send_args(v->fd, x->argv);

	if (e) {
		job_log(OMT_LOG_WARN, j, "warm VM %s did not take it (%s): starting it cold",
			v->id, strerror(-e));
		warm_give_back(v);
		return e;
	}
	close(v->fd);
	j->pid = v->pid;
	j->out.fd = v->out;
	j->err.fd = v->err;
	j->warm_start = true;
	snprintf(j->vm_id, sizeof(j->vm_id), "%s", v->id);
	free(v);
	return 0;
}

/* The job could not start: it is done, and says so. */
static void spawn_failed(struct djob *j)
{
	j->state = J_DONE;
	j->finished = time(NULL);
	snprintf(j->outcome, sizeof(j->outcome), "%s", omt_outcome_name(OMT_OUTCOME_SETUP_FAILED));
	j->exit_status = OMT_EXIT_FAIL;
	job_ended(j);
	audit_outcome(j, NULL);
}

void spawn_exec(struct djob *j)
{
	struct exec_cmd x = {};
	struct dwarm *v;
	int e;

	if (exec_argv(j, &x)) {
		job_log(OMT_LOG_ERR, j, "out of memory");
		goto fail;
	}
	if (!(v = warm_take(j)) || give_warm(j, v, &x)) {
		if ((e = spawn_child(x.argv, -1, &j->pid, &j->out.fd, &j->err.fd))) {
			job_log(OMT_LOG_ERR, j, "start exec: %s", strerror(-e));
			goto fail;
		}
		j->warm_start = false;
		snprintf(j->vm_id, sizeof(j->vm_id), "%s", j->id);
	}
	exec_cmd_free(&x);
	j->state = J_RUNNING;
	j->started = time(NULL);
	j->energy = (struct omt_energy_vm){ 0 };
	snprintf(j->energy.id, sizeof(j->energy.id), "%s", j->id);
	j->quota_us = -1;
	d.running++;
	omt_inhibit_update(d.inhibit, true);
	job_log(OMT_LOG_INFO, j, "started (consumer %.12s..., network %s)", j->consumer_b64,
		j->network);
	if (j->warm_start)
		job_log(OMT_LOG_INFO, j, "took warm VM %s", j->vm_id);
	return;
fail:
	exec_cmd_free(&x);
	spawn_failed(j);
}

void drain_stream(struct stream *s)
{
	char buf[65536], *p;
	ssize_t n;

	for (;;) {
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		/* Past MAX_OUTPUT (or memory), read all the same and dropped: the pipe must not fill. */
		if (s->len + n > MAX_OUTPUT || !(p = realloc(s->data, s->len + n)))
			continue;
		s->data = p;
		memcpy(s->data + s->len, buf, n);
		s->len += n;
	}
}

void printable_copy(char *out, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < size; i++)
		out[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
	out[i] = '\0';
}

void job_exited(struct djob *j, int status)
{
	struct omt_exec_result res;
	char why[256];
	int e;

	e = omt_exec_result_read(j->result_path, &res, why, sizeof(why));
	if (e && e != -ENOENT)
		job_log(OMT_LOG_WARN, j, "exec's result: %s", why);
	drain_stream(&j->out);
	drain_stream(&j->err);
	close(j->out.fd);
	close(j->err.fd);
	j->out.fd = j->err.fd = -1;
	j->finished = time(NULL);
	j->state = j->cancel ? J_CANCELLED : J_DONE;
	d.running--;
	omt_inhibit_update(d.inhibit, d.running > 0);
	if (!e)
		j->exit_status = res.exit_status;
	else
		j->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) :
						     OMT_EXIT_SIGNAL + WTERMSIG(status);
	snprintf(j->outcome, sizeof(j->outcome), "%s",
		 omt_outcome_name(j->cancel ? OMT_OUTCOME_CANCELLED :
				  !e ? res.outcome : OMT_OUTCOME_SETUP_FAILED));
	printable_copy(j->output_error, sizeof(j->output_error), e ? "" : res.output_error);
	audit_outcome(j, e ? NULL : &res);
	job_ended(j);
	job_log(OMT_LOG_INFO, j, "%s, exit status %d", j->outcome, j->exit_status);
}
