// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Warm VMs (warm_vms in [provider]): up to that many `omerta-loader exec
 * --warm-fd` children of the default shape (the default image, CPUs and
 * memory), booted before any job wants them until their agent waits,
 * with no network and a guard that lets nothing through, at idle CPU
 * priority (exec/warm.c). They count against max_vms, boot only when no
 * admitted job waits for room, and only while the owner's rules allow VMs
 * at all: when the provider's or a network's owner_priority is not idle,
 * only while the owner has been idle for owner_idle_s (the owner's
 * activity watched as exec watches it); the owner back, they go.
 *
 * A job of that shape takes one (a ready one first): exec_child.c sends
 * it the job's exec arguments, and from then on it is that job's exec;
 * another is booted behind it. A warm VM never runs a second job: exec
 * ends with its one job. One that fails before a job came is logged and
 * the next is booted after a back-off (10 s, doubling to 10 min), so a
 * host that can't boot VMs doesn't spin. Everything here runs on the main
 * thread with d.lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../host/jobdir.h"
#include "../lib/log.h"
#include "../owner/activity.h"
#include "../proto/exec_args.h"
#include "../proto/exit.h"
#include "../host/vmuid.h"
#include "../vmctl/cgroup.h"
#include "internal.h"

#define BACKOFF_FIRST_S 10
#define BACKOFF_MAX_S 600

static struct {
	struct dwarm *list;		/* every warm exec alive, retiring ones too */
	time_t next_boot;		/* back-off: no new one before */
	unsigned int backoff_s;
	struct omt_owner *owner;	/* when the owner's rules matter */
	bool owner_active;
	bool owner_said;		/* the watch failing, said once */
} w;

/* Warm VMs that are VMs for max_vms: booting or ready, not retiring. */
unsigned int warm_count(void)
{
	unsigned int n = 0;
	struct dwarm *v;

	for (v = w.list; v; v = v->next)
		n += !v->retiring;
	return n;
}

bool warm_any(void)
{
	return w.list != NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* No job for v: its exec reads EOF and ends; reaped later. */
static void retire(struct dwarm *v, const char *why)
{
	if (v->retiring)
		return;
	v->retiring = true;
	close_fd(&v->fd);
	close_fd(&v->out);
	close_fd(&v->err);
	pr_info("warm VM %s: retired (%s)", v->id, why);
}

void warm_retire_all(const char *why)
{
	struct dwarm *v;

	for (v = w.list; v; v = v->next)
		retire(v, why);
}

/* Whether any rule says what happens to a VM while the owner is active. */
static bool owner_rules_matter(void)
{
	size_t i;

	if (d.policy.owner_priority != OMT_OWNER_IDLE)
		return true;
	for (i = 0; i < d.policy.n_networks; i++)
		if (d.policy.networks[i].owner_priority != OMT_OWNER_INHERIT &&
		    d.policy.networks[i].owner_priority != OMT_OWNER_IDLE)
			return true;
	return false;
}

int warm_owner_fd(void)
{
	return w.owner ? omt_owner_fd(w.owner) : -1;
}

void warm_owner_poll(void)
{
	bool active = w.owner_active;
	int e;

	if (!w.owner)
		return;
	e = omt_owner_poll(w.owner, &active);
	if (e < 0) {
		pr_err("warm VMs: the owner's activity can't be read any more (%s): none is kept",
		       strerror(-e));
		omt_owner_close(w.owner);
		w.owner = NULL;
		w.owner_said = true;
		warm_retire_all("the owner's activity unknown");
		return;
	}
	if (e == 1 && active != w.owner_active)
		pr_info("warm VMs: the owner is %s", active ? "active: none is kept" : "idle");
	w.owner_active = active;
	if (active)
		warm_retire_all("the owner is active");
}

/*
 * After the start and every reload: the owner watched when the rules say
 * it matters (else closed), the warm VMs over warm_vms retired.
 */
void warm_policy_changed(void)
{
	bool want = d.policy.warm_vms > 0 && owner_rules_matter();
	unsigned int n = warm_count();
	struct dwarm *v;

	if (!want && w.owner) {
		omt_owner_close(w.owner);
		w.owner = NULL;
	} else if (want && !w.owner) {
		char usage[300] = "", err[256];
		struct omt_owner_cfg cfg = { .source = d.policy.owner_source,
					     .idle_ms = d.policy.owner_idle_s * 1000 };

		/* The VMs' own CPU time is not the owner's. */
		if (omt_cgroup_guests_cpu_stat(usage, sizeof(usage)) == 0)
			cfg.guest_cpu_usage = usage;
		w.owner = omt_owner_open(&cfg, err, sizeof(err));
		if (!w.owner) {
			if (!w.owner_said)
				pr_err("warm VMs: owner_priority needs the owner's activity, which "
				       "can't be read (%s): no warm VM is kept", err);
			w.owner_said = true;
		} else {
			w.owner_said = false;
			w.owner_active = true;	/* until it says otherwise */
			pr_info("warm VMs: kept only while the owner is idle (%s)",
				omt_owner_source_name(omt_owner_source(w.owner)));
			warm_owner_poll();
		}
	}
	for (v = w.list; v && n > d.policy.warm_vms; v = v->next)
		if (!v->retiring) {
			retire(v, "warm_vms lowered");
			n--;
		}
}

/* Whether a warm VM may exist now (room aside). */
static bool allowed(void)
{
	if (d.stopping || !d.policy.warm_vms)
		return false;
	if (!owner_rules_matter())
		return true;
	return w.owner && !w.owner_active;
}

/* The shape every warm VM has: a job's request with nothing said. */
static void warm_shape(struct omt_vm_shape *vm)
{
	struct omt_exec_args a;

	omt_exec_args_init(&a);
	*vm = a.vm;
}

static bool fits(const struct djob *j)
{
	struct omt_vm_shape warm, job;

	warm_shape(&warm);
	job = warm;
	job.image = j->req.image;
	job.cpus = j->req.cpus;
	job.memory_mib = j->req.memory_mib;
	return omt_vm_shape_same(&warm, &job);
}

bool warm_fits(const struct djob *j)
{
	return fits(j) && warm_count() > 0;
}

struct dwarm *warm_take(const struct djob *j)
{
	struct dwarm **pp, **best = NULL, *v;

	if (!fits(j))
		return NULL;
	for (pp = &w.list; *pp; pp = &(*pp)->next)
		if (!(*pp)->retiring && (!best || ((*pp)->ready && !(*best)->ready)))
			best = pp;
	if (!best)
		return NULL;
	v = *best;
	*best = v->next;
	v->next = NULL;
	return v;
}

void warm_give_back(struct dwarm *v)
{
	retire(v, "it could not take its job");
	v->next = w.list;
	w.list = v;
}

/* Boots one more: the exec child with its end of the socket as fd 5. */
static int boot_one(void)
{
	struct dwarm *v = calloc(1, sizeof(*v));
	struct omt_exec_args a;
	char **argv;
	int sv[2], e;

	if (!v)
		return -ENOMEM;
	v->fd = v->out = v->err = -1;
	omt_exec_args_init(&a);
	if ((e = omt_jobdir_new_id(v->id))) {
		free(v);
		return e;
	}
	a.job_id = v->id;
	a.vm_uids = d.policy.vm_uids;
	a.warm_fd = OMT_WARM_FD;
	if ((e = omt_exec_argv_new(&a, &argv))) {
		free(v);
		return e;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		e = -errno;
		free(argv);
		free(v);
		return e;
	}
	v->fd = sv[0];
	fcntl(v->fd, F_SETFL, O_NONBLOCK);
	e = spawn_child(argv, sv[1], &v->pid, &v->out, &v->err);
	free(argv);
	close(sv[1]);
	if (e) {
		close(v->fd);
		free(v);
		return e;
	}
	v->started = time(NULL);
	v->next = w.list;
	w.list = v;
	pr_info("warm VM %s: booting (exec %d)", v->id, (int)v->pid);
	return 0;
}

void warm_fill(void)
{
	struct djob *j;
	int e;

	if (!allowed() || time(NULL) < w.next_boot)
		return;
	/* Admitted jobs first: the room is theirs. */
	for (j = d.jobs; j; j = j->next)
		if (j->state == J_QUEUED)
			return;
	while (warm_count() < d.policy.warm_vms && d.running + warm_count() < d.policy.max_vms &&
	       omt_vm_uid_any_free(&d.policy.vm_uids) > 0) {
		if ((e = boot_one())) {
			pr_err("warm VM: %s", strerror(-e));
			return;
		}
	}
}

void warm_make_room(void)
{
	struct dwarm *v, *pick = NULL;

	/* A booting one goes first: a ready one is worth more. */
	for (v = w.list; v; v = v->next)
		if (!v->retiring && (!pick || (pick->ready && !v->ready)))
			pick = v;
	if (pick)
		retire(pick, "a job of another shape needs its room");
}

bool warm_on_fd(int ep, int fd)
{
	struct dwarm *v;
	char buf[16];
	ssize_t n;

	for (v = w.list; v && v->fd != fd; v = v->next)
		;
	if (!v || v->retiring)
		return v != NULL;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	if (n == (ssize_t)strlen(OMT_WARM_READY) && !memcmp(buf, OMT_WARM_READY, n)) {
		v->ready = true;
		w.backoff_s = 0;
		pr_info("warm VM %s: ready in %ld s", v->id, (long)(time(NULL) - v->started));
	}
	return true;
}

void warm_watch(int ep)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct dwarm *v;

	for (v = w.list; v; v = v->next) {
		if (v->retiring || v->ready)
			continue;
		ev.data.fd = v->fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, v->fd, &ev);	/* EEXIST: watched already */
	}
}

bool warm_reaped(pid_t pid, int status)
{
	struct dwarm **pp, *v;

	for (pp = &w.list; *pp && (*pp)->pid != pid; pp = &(*pp)->next)
		;
	if (!(v = *pp))
		return false;
	*pp = v->next;
	if (!v->retiring) {
		/* Ended by itself before a job came: a rogue frame, a boot that failed. */
		w.backoff_s = w.backoff_s ? w.backoff_s * 2 : BACKOFF_FIRST_S;
		if (w.backoff_s > BACKOFF_MAX_S)
			w.backoff_s = BACKOFF_MAX_S;
		w.next_boot = time(NULL) + w.backoff_s;
		pr_warn("warm VM %s: ended before a job came (exec's exit status %d): the next "
			"in %u s", v->id, WIFEXITED(status) ? WEXITSTATUS(status) :
			OMT_EXIT_SIGNAL + WTERMSIG(status), w.backoff_s);
	}
	close_fd(&v->fd);
	close_fd(&v->out);
	close_fd(&v->err);
	free(v);
	return true;
}

void warm_end(void)
{
	if (w.owner)
		omt_owner_close(w.owner);
	w.owner = NULL;
}
