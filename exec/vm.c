// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The job's VM under exec's hand: QEMU started (and again for a restore)
 * with its agent and QMP channels, killed, paused, checkpointed to a file,
 * restored from it, resumed. The control socket (control.c) and the owner
 * (owner.c) ask for these; time stopped does not count as the VM's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "job.h"

/*
 * Starts QEMU as j->vm.spec says, with fresh agent and QMP channels, and
 * greets it over QMP. Used at the start and by a restore.
 */
int vm_spawn(struct job *j, char *err, size_t errlen)
{
	struct job_vm *vm = &j->vm;
	int sv_agent[2], sv_qmp[2], e;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_agent) < 0) {
		e = -errno;
		snprintf(err, errlen, "agent channel: %s", strerror(errno));
		return e;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_qmp) < 0) {
		e = -errno;
		close(sv_agent[0]);
		close(sv_agent[1]);
		snprintf(err, errlen, "QMP channel: %s", strerror(errno));
		return e;
	}
	vm->agent_fd = sv_agent[0];
	vm->qmp_fd = sv_qmp[0];
	vm->spec.agent_fd = sv_agent[1];
	vm->spec.qmp_fd = sv_qmp[1];
	e = omt_qemu_spawn(&vm->spec, &vm->qemu, &vm->pidfd, err, errlen);
	close(sv_agent[1]);
	close(sv_qmp[1]);
	if (e)
		return e;
	omt_jobdir_write_pid(j->host.dir, "qemu.pid", vm->qemu);
	omt_qmp_init(&vm->qmp, vm->qmp_fd);
	/* QEMU starting up is part of the boot (seconds on a loaded host). */
	if ((e = omt_qmp_handshake(&vm->qmp, j->args.vm.boot_timeout * 1000)))
		snprintf(err, errlen, "QEMU's QMP did not answer: %s", strerror(-e));
	return e;
}

/* Ends the job for why (the first reason given stays): QEMU is killed. */
void vm_kill(struct job *j, enum omt_outcome why)
{
	if (j->end.outcome == OMT_OUTCOME_RUNNING)
		j->end.outcome = why;
	if (j->vm.state == VM_SAVED)
		j->ended = true;	/* nothing to kill: the checkpoint goes with the job */
	if (j->vm.qemu > 0 && !j->t.kill_ns) {
		j->t.kill_ns = omt_mono_ns();
		syscall(SYS_pidfd_send_signal, j->vm.pidfd, SIGKILL, NULL, 0);
	}
}

static void mark_stopped(struct job *j, enum vm_state st)
{
	if (!j->vm.stopped_since_ns)
		j->vm.stopped_since_ns = omt_mono_ns();
	j->vm.state = st;
}

static void mark_running(struct job *j)
{
	int64_t now = omt_mono_ns();

	if (j->vm.stopped_since_ns)
		j->vm.stopped_total_ns += now - j->vm.stopped_since_ns;
	j->vm.stopped_since_ns = 0;
	j->vm.state = VM_RUNNING;
	/* The endpoint had no reason to talk to a stopped VM: its clock starts again. */
	if (j->t.vpn_seen_ns)
		j->t.vpn_seen_ns = now;
}

int vm_pause(struct job *j, char *msg, size_t len)
{
	int e;

	if (j->vm.state != VM_RUNNING) {
		snprintf(msg, len, "the VM is not running (%s)",
			 j->vm.state == VM_PAUSED ? "paused" : "checkpointed");
		return -EALREADY;
	}
	if ((e = omt_qmp_execute(&j->vm.qmp, "stop", NULL, 5000, msg, len)))
		return e;
	mark_stopped(j, VM_PAUSED);
	snprintf(msg, len, "paused");
	pr_info("job %s: VM paused", j->host.id);
	return 0;
}

/* Copies the migration stream from pipe to the file until QEMU closes its end. */
static int pump(int pipe_fd, int file_fd, uint64_t *bytes, char *msg, size_t len)
{
	int64_t deadline = omt_mono_ns() + 300 * 1000000000LL;
	struct pollfd p = { .fd = pipe_fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		if (omt_mono_ns() > deadline) {
			snprintf(msg, len, "the checkpoint took longer than 300 s");
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = splice(pipe_fd, NULL, file_fd, NULL, 1 << 20, SPLICE_F_MOVE);
		if (n == 0)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, len, "write the checkpoint: %s", strerror(errno));
			return -errno;
		}
		*bytes += n;
	}
}

/* The VM's pid is gone: forget its channels (what the agent said is kept). */
static void vm_gone(struct job *j)
{
	while (j->vm.agent_fd >= 0)
		on_agent(j);
	waitpid(j->vm.qemu, NULL, 0);
	j->vm.qemu = 0;
	unwatch_close(j, &j->vm.pidfd);
	close(j->vm.qmp_fd);
	j->vm.qmp_fd = -1;
}

/* Stops the VM and migrates it into file: *bytes written. */
static int save_to(struct job *j, int file, uint64_t *bytes, char *msg, size_t len)
{
	struct omt_qmp *qmp = &j->vm.qmp;
	int pfd[2], e;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		e = -errno;
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return e;
	}
	/* The VM is stopped: no reason to spare bandwidth. */
	if (!(e = omt_qmp_execute(qmp, "migrate-set-parameters",
				  "{\"max-bandwidth\":107374182400}", 5000, msg, len)) &&
	    !(e = omt_qmp_getfd(qmp, "omtckpt", pfd[1], 5000, msg, len))) {
		close(pfd[1]);
		pfd[1] = -1;
		if (!(e = omt_qmp_execute(qmp, "migrate", "{\"uri\":\"fd:omtckpt\"}", 5000, msg,
					  len)) &&
		    !(e = pump(pfd[0], file, bytes, msg, len)))
			e = omt_qmp_wait_migration(qmp, 30000, msg, len);
	}
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return e;
}

/*
 * Saves the VM into the checkpoint's file (--checkpoint, else
 * JOBDIR/checkpoint; 0600) and ends its QEMU: stop, then migrate to a
 * pipe whose other end we copy into the file. (QEMU writing the file
 * itself would run into its RLIMIT_FSIZE, which caps its console.)
 */
int vm_checkpoint(struct job *j, char *msg, size_t len)
{
	char path[400];
	int file, e;
	int64_t t0 = omt_mono_ns();
	uint64_t bytes = 0;

	if (j->vm.state == VM_SAVED) {
		snprintf(msg, len, "already checkpointed");
		return -EALREADY;
	}
	if (j->vm.state == VM_RUNNING &&
	    (e = omt_qmp_execute(&j->vm.qmp, "stop", NULL, 5000, msg, len)))
		return e;
	mark_stopped(j, VM_PAUSED);
	snprintf(path, sizeof(path), "%s", j->host.checkpoint);
	file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (file < 0) {
		e = -errno;
		snprintf(msg, len, "%s: %s", path, strerror(errno));
	} else if (!(e = save_to(j, file, &bytes, msg, len)) && fsync(file) < 0) {
		e = -errno;
		snprintf(msg, len, "%s: %s", path, strerror(errno));
	}
	if (e) {
		pr_err("job %s: checkpoint failed: %s", j->host.id, msg);
		if (file >= 0) {
			close(file);
			unlink(path);
		}
		omt_qmp_execute(&j->vm.qmp, "migrate_cancel", NULL, 5000, NULL, 0);
		return e;	/* the VM stays paused: 'resume' continues it */
	}
	close(file);
	/* Saved: this QEMU has nothing left to do. */
	syscall(SYS_pidfd_send_signal, j->vm.pidfd, SIGKILL, NULL, 0);
	vm_gone(j);
	mark_stopped(j, VM_SAVED);
	j->vm.checkpoints++;
	snprintf(msg, len, "checkpointed to %s (%.1f MiB in %.2f s)", path, bytes / 1048576.0,
		 (omt_mono_ns() - t0) / 1e9);
	pr_info("job %s: %s", j->host.id, msg);
	return 0;
}

/* Loads the file into a new QEMU waiting for it, and lets the VM go on. */
static int load_from(struct job *j, int file, char *msg, size_t len)
{
	struct omt_qmp *qmp = &j->vm.qmp;
	int e;

	j->vm.spec.incoming = 1;
	e = vm_spawn(j, msg, len);
	j->vm.spec.incoming = 0;
	/*
	 * No announcements after the load: QEMU's RARPs and the guest's
	 * gratuitous ARPs are frames the guard allows no VM to send.
	 */
	if (!e && !(e = omt_qmp_execute(qmp, "migrate-set-parameters", "{\"announce-rounds\":0}",
					5000, msg, len)) &&
	    !(e = omt_qmp_getfd(qmp, "omtckpt", file, 5000, msg, len)) &&
	    !(e = omt_qmp_execute(qmp, "migrate-incoming", "{\"uri\":\"fd:omtckpt\"}", 5000, msg,
				  len)) &&
	    !(e = omt_qmp_wait_migration(qmp, 120000, msg, len)))
		e = omt_qmp_execute(qmp, "cont", NULL, 5000, msg, len);
	return e;
}

/* A new QEMU from the checkpoint's file, on the same tap, guard and cgroup. */
int vm_restore(struct job *j, char *msg, size_t len)
{
	char path[400];
	int file, e;
	int64_t t0 = omt_mono_ns();

	snprintf(path, sizeof(path), "%s", j->host.checkpoint);
	file = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (file < 0) {
		e = -errno;
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		return e;
	}
	e = load_from(j, file, msg, len);
	close(file);
	if (e) {
		pr_err("job %s: restore failed: %s", j->host.id, msg);
		if (j->vm.qemu > 0) {
			kill(j->vm.qemu, SIGKILL);
			vm_gone(j);
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &j->vm.agent_fd : &j->vm.qmp_fd;

			if (*fd >= 0)
				close(*fd);
			*fd = -1;
		}
		return e;	/* still saved: the file is there for another try */
	}
	watch(j, j->vm.pidfd);
	watch(j, j->vm.agent_fd);
	unlink(path);
	mark_running(j);
	j->vm.restores++;
	snprintf(msg, len, "restored in %.2f s", (omt_mono_ns() - t0) / 1e9);
	pr_info("job %s: %s", j->host.id, msg);
	return 0;
}

int vm_resume(struct job *j, char *msg, size_t len)
{
	int e;

	switch (j->vm.state) {
	case VM_RUNNING:
		snprintf(msg, len, "the VM is running");
		return -EALREADY;
	case VM_SAVED:
		return vm_restore(j, msg, len);
	case VM_PAUSED:
		break;
	}
	if ((e = omt_qmp_execute(&j->vm.qmp, "cont", NULL, 5000, msg, len)))
		return e;
	mark_running(j);
	snprintf(msg, len, "resumed");
	pr_info("job %s: VM resumed", j->host.id);
	return 0;
}
