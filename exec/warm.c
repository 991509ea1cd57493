// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A warm VM (--warm-fd): booted with its shape alone, no network and a
 * guard that lets nothing through, until its agent waits for a job; it
 * then waits at idle CPU priority, and "ready" goes to whoever holds the other end of
 * --warm-fd (the daemon), which sends the job's own exec arguments. The
 * job takes the VM: its directory and pins get the job's id, its files
 * are read, its NAT and guard policy set, and its files go to the agent
 * over the VM's channel (proto/guest_msg.h, "job"). From there on it is a
 * job like any other, and the VM is destroyed after it as always.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "../guard/guard_bpf.h"
#include "../lib/clock.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "job.h"

void warm_free(struct job *j)
{
	free(j->warm.args);
	free(j->warm.argv);
	j->warm.args = NULL;
	j->warm.argv = NULL;
}

/*
 * The job's arguments, len bytes of NUL-terminated strings ("omerta-loader",
 * "exec", options...), into j->args, the VM's shape checked against them.
 */
static int take_args(struct job *j, size_t len, char *err, size_t errlen)
{
	struct job_warm *w = &j->warm;
	struct omt_exec_args ja;
	size_t i, argc = 0;
	char *p;

	if (len == 0 || w->args[len - 1] != '\0') {
		snprintf(err, errlen, "--warm-fd: the job's arguments must end with a NUL");
		return -EINVAL;
	}
	for (i = 0; i < len; i++)
		argc += w->args[i] == '\0';
	if (!(w->argv = calloc(argc + 1, sizeof(char *))))
		return -ENOMEM;
	for (i = 0, p = w->args; i < argc; i++, p += strlen(p) + 1)
		w->argv[i] = p;
	if (argc < 2 || strcmp(w->argv[0], "omerta-loader") || strcmp(w->argv[1], "exec")) {
		snprintf(err, errlen, "--warm-fd: the job's arguments must start with "
				      "\"omerta-loader\" \"exec\"");
		return -EINVAL;
	}
	/* omt_exec_args_parse says what it refuses on stderr. */
	if (omt_exec_args_parse(argc - 1, w->argv + 1, &ja)) {
		snprintf(err, errlen, "--warm-fd: the job's arguments were refused");
		return -EINVAL;
	}
	if (ja.warm_fd >= 0) {
		snprintf(err, errlen, "--warm-fd: a job's arguments can't have --warm-fd");
		return -EINVAL;
	}
	if (!omt_vm_shape_same(&j->args.vm, &ja.vm) || ja.vm_uids.first != j->args.vm_uids.first ||
	    ja.vm_uids.last != j->args.vm_uids.last) {
		snprintf(err, errlen, "--warm-fd: the job's VM (%s, %u CPUs, %u MiB) is not this "
				      "warm VM's (%s, %u CPUs, %u MiB, the same scratch, "
				      "accelerator and uids)", omt_image_name(ja.vm.image),
			 ja.vm.cpus, ja.vm.memory_mib, omt_image_name(j->args.vm.image),
			 j->args.vm.cpus, j->args.vm.memory_mib);
		return -EINVAL;
	}
	ja.warm_fd = j->args.warm_fd;
	j->args = ja;
	return 0;
}

/*
 * The agent waits for its job: the VM waits at SCHED_IDLE (cpu.idle; it
 * booted at the lowest weight, as every VM runs), and says so on warm_fd.
 */
static void say_ready(struct job *j)
{
	struct job_warm *w = &j->warm;
	int e = omt_cgroup_set_idle(&j->host.cg, 1);

	if (e == -ENOENT)
		pr_warn("warm VM %s: no cpu.idle in this kernel: it waits at the lowest CPU "
			"weight instead", j->host.id);
	else if (e)
		pr_warn("warm VM %s: cpu.idle: %s", j->host.id, strerror(-e));
	w->ready = true;
	w->ready_ns = omt_mono_ns();
	if (omt_write_all(j->args.warm_fd, OMT_WARM_READY, strlen(OMT_WARM_READY)))
		pr_warn("warm VM %s: --warm-fd: %s", j->host.id, strerror(errno));
	pr_info("warm VM %s: ready, %.3f s after QEMU started", j->host.id,
		(w->ready_ns - j->t.start_ns) / 1e9);
}

int warm_wait(struct job *j, char *err, size_t errlen)
{
	const int64_t deadline = j->t.start_ns + (int64_t)j->args.vm.boot_timeout * 1000000000LL;
	struct job_warm *w = &j->warm;
	bool eof = false;
	size_t len = 0;
	int sfd, e = 0;

	snprintf(w->id, sizeof(w->id), "%s", j->host.id);
	if (!(w->args = malloc(OMT_WARM_MAX_ARGS)))
		return -ENOMEM;
	if ((sfd = signalfd(-1, j->sigmask, SFD_CLOEXEC)) < 0) {
		e = -errno;
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return e;
	}
	while (!(eof && w->ready)) {
		int64_t now = omt_mono_ns();
		struct pollfd p[5] = {
			{ .fd = eof ? -1 : j->args.warm_fd, .events = POLLIN },
			{ .fd = j->vm.agent_fd, .events = POLLIN },
			{ .fd = j->vm.pidfd, .events = POLLIN },
			{ .fd = ring_buffer__epoll_fd(j->host.rb), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		int timeout = w->ready ? -1 : now >= deadline ? 0 : (int)((deadline - now) / 1000000);
		ssize_t n;

		if (poll(p, 5, timeout) < 0 && errno != EINTR) {
			e = -errno;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		if (p[3].revents)
			ring_buffer__consume(j->host.rb);
		if (p[1].revents) {
			on_agent(j);
			if (!w->ready && j->link.stage == OMT_STAGE_WARM)
				say_ready(j);
		}
		if (p[4].revents)
			on_signal(j, sfd);
		if (j->t.kill_ns || p[2].revents || j->vm.agent_fd < 0) {
			e = -EIO;
			snprintf(err, errlen, "warm VM %s ended before its job came (%s)", w->id,
				 omt_outcome_name(j->end.outcome == OMT_OUTCOME_RUNNING ?
							  OMT_OUTCOME_BOOT_FAILED : j->end.outcome));
			vm_kill(j, OMT_OUTCOME_BOOT_FAILED);
			break;
		}
		if (!w->ready && omt_mono_ns() >= deadline) {
			e = -ETIMEDOUT;
			snprintf(err, errlen, "warm VM %s: the agent did not wait for a job within "
				 "%u s", w->id, j->args.vm.boot_timeout);
			vm_kill(j, OMT_OUTCOME_BOOT_FAILED);
			break;
		}
		if (!p[0].revents)
			continue;
		n = read(j->args.warm_fd, w->args + len, OMT_WARM_MAX_ARGS - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			snprintf(err, errlen, "--warm-fd: %s", strerror(errno));
			break;
		}
		len += n;
		if (n > 0 && len < OMT_WARM_MAX_ARGS)
			continue;
		if (n > 0) {
			e = -E2BIG;
			snprintf(err, errlen, "--warm-fd: the job's arguments take more than %u "
				 "bytes", OMT_WARM_MAX_ARGS);
			break;
		}
		if (len == 0) {
			pr_info("warm VM %s: no job came: ending it", w->id);
			e = -ECANCELED;
			break;
		}
		/* The job is this VM's from now on: any failure is the job's. */
		if ((e = take_args(j, len, err, errlen)))
			break;
		eof = true;
	}
	close(sfd);
	return e;
}

/* The VM's directory and pins get the job's id; its cgroup and QEMU keep the VM's. */
int warm_take_id(struct job *j, char *err, size_t errlen)
{
	struct job_host *h = &j->host;
	const char *id = j->args.job_id;
	char pins[128];
	int e;

	omt_log_set_job(id ? id : h->id);	/* every line from here on is the job's */
	if (id && strcmp(id, h->id)) {
		if ((e = omt_jobdir_rename(h->dir, sizeof(h->dir), h->id, id))) {
			snprintf(err, errlen, "job directory %s for job %s: %s", h->dir, id,
				 strerror(-e));
			return e;
		}
		snprintf(pins, sizeof(pins), "%s/%s", OMT_PIN_JOBS_DIR, id);
		if ((e = omt_guard_move_pins(h->guard, h->pin_dir, pins))) {
			snprintf(err, errlen, "pins %s to %s: %s", h->pin_dir, pins, strerror(-e));
			return e;
		}
		snprintf(h->pin_dir, sizeof(h->pin_dir), "%s", pins);
		snprintf(h->id, sizeof(h->id), "%s", id);
		snprintf(j->vm.jail, sizeof(j->vm.jail), "%s/jail", h->dir);
	}
	if (j->args.checkpoint)
		snprintf(h->checkpoint, sizeof(h->checkpoint), "%s", j->args.checkpoint);
	else
		snprintf(h->checkpoint, sizeof(h->checkpoint), "%s/checkpoint", h->dir);
	omt_jobdir_write_text(h->dir, "description", j->args.job.description);
	pr_info("job %s: %s%s%s (warm VM %s)", h->id, j->args.job.description[0] ? "\"" : "",
		j->args.job.description, j->args.job.description[0] ? "\"" : "(no description)",
		j->warm.id);
	return 0;
}

/* Writes all of fd (a sealed memfd of size bytes) to the agent, within the boot timeout. */
static int send_all(struct job *j, int fd, size_t size, char *err, size_t errlen)
{
	const int64_t deadline = omt_mono_ns() + (int64_t)j->args.vm.boot_timeout * 1000000000LL;
	off_t off = 0;
	ssize_t n;

	while ((size_t)off < size) {
		struct pollfd p = { .fd = j->vm.agent_fd, .events = POLLOUT };
		int64_t left = deadline - omt_mono_ns();

		if (left <= 0) {
			snprintf(err, errlen, "the agent took less than %zu bytes of the job's "
				 "files in %u s", size, j->args.vm.boot_timeout);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, (int)(left / 1000000) + 1) <= 0)
			continue;
		n = sendfile(j->vm.agent_fd, fd, &off, size - off < (1 << 16) ? size - off : 1 << 16);
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			snprintf(err, errlen, "send the job's files to the agent: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* The job's files to the agent ("job" and its archive); the VM then runs at its due priority. */
int warm_send_job(struct job *j, char *err, size_t errlen)
{
	static struct omt_msg m;
	char line[128];
	struct stat st;
	int fd, n, e;

	if ((e = jobfiles_segment(j, &fd, err, errlen)))
		return e;
	if (fstat(fd, &st) < 0) {
		e = -errno;
		snprintf(err, errlen, "the job's archive: %s", strerror(errno));
		goto out;
	}
	m.type = OMT_MSG_JOB;
	m.size = st.st_size;
	if ((n = omt_msg_format(line, sizeof(line), &m)) < 0) {
		e = n;
		snprintf(err, errlen, "the job's archive: %llu bytes, more than the agent takes",
			 (unsigned long long)st.st_size);
		goto out;
	}
	if ((e = omt_write_all(j->vm.agent_fd, line, n)) ||
	    (e = send_all(j, fd, st.st_size, err, errlen))) {
		if (!err[0])
			snprintf(err, errlen, "send the job to the agent: %s", strerror(-e));
		goto out;
	}
	e = omt_cgroup_set_idle(&j->host.cg, 0);
	if (e && e != -ENOENT) {
		snprintf(err, errlen, "the VM's CPU priority (cpu.idle): %s", strerror(-e));
		goto out;
	}
	e = 0;
	/* The job's clock: its --timeout counts from here, not from the warm boot. */
	j->t.start_ns = omt_mono_ns();
	pr_debug("job %s: %llu bytes of files sent to the warm VM, %.3f s after the loader",
		 j->host.id, (unsigned long long)st.st_size,
		 (j->t.start_ns - j->t.loader_start_ns) / 1e9);
out:
	close(fd);
	return e;
}
