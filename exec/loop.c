// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The job's main loop: one epoll over the guards' events, the agent, QEMU's
 * pidfd, the signals, a 200 ms tick, the control socket and the owner,
 * until the VM is gone for good.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "../owner/activity.h"
#include "job.h"

void watch(struct job *j, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	epoll_ctl(j->ep, EPOLL_CTL_ADD, fd, &ev);
}

void unwatch_close(struct job *j, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(j->ep, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

void on_signal(struct job *j, int sfd)
{
	struct signalfd_siginfo si;
	int sig;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	sig = si.ssi_signo;
	pr_warn("job %s: %s: stopping the VM", j->host.id, strsignal(sig));
	if (j->end.outcome == OMT_OUTCOME_RUNNING)
		j->end.interrupted_by = sig;
	vm_kill(j, OMT_OUTCOME_INTERRUPTED);
}

/* One round of events; false when the rest of evs may be stale. */
static bool dispatch(struct job *j, int fd, int sfd, int tfd)
{
	uint64_t ticks;

	if (fd == ring_buffer__epoll_fd(j->host.rb)) {
		ring_buffer__consume(j->host.rb);
	} else if (fd == j->vm.agent_fd) {
		on_agent(j);
		if (j->vm.agent_fd < 0)
			epoll_ctl(j->ep, EPOLL_CTL_DEL, fd, NULL);
	} else if (fd == sfd) {
		on_signal(j, sfd);
	} else if (fd == tfd) {
		if (read(tfd, &ticks, sizeof(ticks)) < 0)
			return true;
		on_tick(j);
		owner_tick(j);
	} else if (j->owner.watch && fd == omt_owner_fd(j->owner.watch)) {
		on_owner(j);
		return false;	/* a checkpoint swaps fds too */
	} else if (fd == j->host.ctl_fd) {
		/* It may have swapped QEMU and its fds: the rest of evs is stale. */
		on_control(j);
		return false;
	} else if (fd == j->vm.pidfd) {
		j->ended = true;
	}
	return true;
}

/* The VM is gone: what is left to hear and to measure. */
static void drain(struct job *j)
{
	/* Anything the guest said just before it went. */
	ring_buffer__consume(j->host.rb);
	while (j->vm.agent_fd >= 0)
		on_agent(j);
	if (j->t.kill_ns && j->t.event_ns) {
		j->t.rogue_kill_ns = omt_mono_ns() - j->t.event_ns;
		pr_info("job %s: rogue frame to QEMU dead: %.3f ms", j->host.id,
			j->t.rogue_kill_ns / 1e6);
	}
	if (j->vm.qemu > 0)
		waitpid(j->vm.qemu, NULL, 0);
	j->vm.qemu = 0;
	if (j->end.outcome == OMT_OUTCOME_RUNNING)
		j->end.outcome = OMT_OUTCOME_DONE;
}

/* mask: the signals exec_main blocked, now read from a signalfd. */
int job_run(struct job *j, const sigset_t *mask)
{
	struct epoll_event evs[8];
	struct itimerspec tick = { .it_interval = { 0, 200000000 }, .it_value = { 0, 200000000 } };
	int sfd, tfd, n, i, e = 0;

	sfd = signalfd(-1, mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	j->ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || j->ep < 0 || timerfd_settime(tfd, 0, &tick, NULL) < 0) {
		e = -errno;
		pr_err("event loop: %s", strerror(errno));
		vm_kill(j, OMT_OUTCOME_BOOT_FAILED);
		goto out;
	}
	watch(j, ring_buffer__epoll_fd(j->host.rb));
	watch(j, j->vm.agent_fd);
	watch(j, j->vm.pidfd);
	watch(j, sfd);
	watch(j, tfd);
	watch(j, j->host.ctl_fd);
	if (j->owner.watch) {
		watch(j, omt_owner_fd(j->owner.watch));
		on_owner(j);	/* the owner may be active already */
	}
	while (!j->ended) {
		n = epoll_wait(j->ep, evs, 8, -1);
		for (i = 0; i < n && dispatch(j, evs[i].data.fd, sfd, tfd); i++)
			;
	}
	drain(j);
out:
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (j->ep >= 0)
		close(j->ep);
	j->ep = -1;
	return e;
}
