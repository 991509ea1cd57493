// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "qemu.h"

/* In the child, the fds QEMU is given land on these numbers. */
enum { FD_KERNEL = 3, FD_INITRD, FD_TAP, FD_AGENT, FD_QMP, FD_DISK, FD_FIRST_FREE,
       FD_REPORT = 99 };

static int cpu_has_virt(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "re");
	int yes = 0;

	if (!f)
		return 0;
	while (!yes && fgets(line, sizeof(line), f))
		if (strncmp(line, "flags", 5) == 0)
			yes = strstr(line, " vmx") || strstr(line, " svm");
	fclose(f);
	return yes;
}

unsigned long omt_host_tsc_khz(void)
{
#if defined(__x86_64__) || defined(__i386__)
	struct timespec a, b, pause = { 0, 20000000 };
	unsigned long long t0, t1;
	double ns;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __rdtsc();
	nanosleep(&pause, NULL);
	t1 = __rdtsc();
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
	return ns > 0 && t1 > t0 ? (unsigned long)((t1 - t0) / ns * 1e6) : 0;
#else
	return 0;
#endif
}

int omt_accel_choose(const char *want, const char **accel, char *why, size_t whylen)
{
	int fd, api = -1, virt;

	if (strcmp(want, "tcg") == 0) {
		*accel = "tcg";
		snprintf(why, whylen, "asked for");
		return 0;
	}
	if (strcmp(want, "kvm") && strcmp(want, "auto"))
		return -EINVAL;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		api = ioctl(fd, KVM_GET_API_VERSION, 0);
		close(fd);
	}
	/*
	 * /dev/kvm alone is not enough: a PVM hypervisor offers one that
	 * cannot run a stock kernel, and its CPUs show no vmx/svm.
	 */
	virt = cpu_has_virt();
	if (fd >= 0 && api == KVM_API_VERSION && virt) {
		*accel = "kvm";
		snprintf(why, whylen, "/dev/kvm works and the CPU has VT-x/AMD-V");
		return 0;
	}
	snprintf(why, whylen, "%s",
		 fd < 0 ? "no usable /dev/kvm" :
		 api != KVM_API_VERSION ? "/dev/kvm speaks an unknown API" :
					  "/dev/kvm is there but the CPU shows no vmx/svm "
					  "(a paravirtual KVM that can't boot a stock kernel)");
	if (strcmp(want, "kvm") == 0)
		return -ENODEV;
	*accel = "tcg";
	return 0;
}

struct argbuf {
	char **argv;
	size_t n, max;
	char *buf;
	size_t used, size;
	int overflow;
};

static __attribute__((format(printf, 2, 3))) void arg(struct argbuf *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->n + 1 >= a->max || a->used >= a->size) {
		a->overflow = 1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(a->buf + a->used, a->size - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= a->size - a->used) {
		a->overflow = 1;
		return;
	}
	a->argv[a->n++] = a->buf + a->used;
	a->argv[a->n] = NULL;
	a->used += n + 1;
}

static int omt_qemu_argv(const struct omt_vm_spec *s, char **argv, size_t max, char *buf, size_t buflen)
{
	struct argbuf a = { .argv = argv, .max = max, .buf = buf, .size = buflen };
	const uint8_t *m = s->mac;

	arg(&a, OMT_QEMU_BIN);
	arg(&a, "-name");
	arg(&a, "omerta-%s", s->name);
	arg(&a, "-M");
	arg(&a, "microvm,accel=%s", s->accel);
	arg(&a, "-cpu");
	arg(&a, "%s", strcmp(s->accel, "kvm") == 0 ? "host" : "max");
	arg(&a, "-m");
	arg(&a, "%u", s->memory_mib);
	arg(&a, "-smp");
	arg(&a, "%u", s->cpus);
	arg(&a, "-nodefaults");
	arg(&a, "-no-user-config");
	arg(&a, "-display");
	arg(&a, "none");
	arg(&a, "-no-reboot");
	arg(&a, "-kernel");
	arg(&a, "/dev/fd/%d", FD_KERNEL);
	arg(&a, "-initrd");
	arg(&a, "/dev/fd/%d", FD_INITRD);
	arg(&a, "-append");
	if (s->tsc_khz && strcmp(s->accel, "tcg") == 0)
		arg(&a, "console=ttyS0 quiet panic=-1 tsc_early_khz=%lu", s->tsc_khz);
	else
		arg(&a, "console=ttyS0 quiet panic=-1");
	arg(&a, "-serial");
	arg(&a, "stdio");
	arg(&a, "-netdev");
	arg(&a, "tap,id=n0,fd=%d", FD_TAP);
	arg(&a, "-device");
	arg(&a, "virtio-net-device,netdev=n0,mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
	    m[2], m[3], m[4], m[5]);
	arg(&a, "-chardev");
	arg(&a, "socket,id=agent,fd=%d", FD_AGENT);
	arg(&a, "-device");
	arg(&a, "virtio-serial-device");
	arg(&a, "-device");
	arg(&a, "virtserialport,chardev=agent,name=omerta.0");
	arg(&a, "-chardev");
	arg(&a, "socket,id=qmp,fd=%d", FD_QMP);
	arg(&a, "-mon");
	arg(&a, "chardev=qmp,mode=control");
	if (s->disk_fd >= 0) {
		/* The image: read-only for QEMU and the guest alike. */
		arg(&a, "-drive");
		arg(&a, "file=/dev/fd/%d,if=none,id=d0,format=raw,readonly=on", FD_DISK);
		arg(&a, "-device");
		arg(&a, "virtio-blk-device,drive=d0");
	}
	if (s->incoming) {
		arg(&a, "-incoming");
		arg(&a, "defer");
	}
	arg(&a, "-sandbox");
	arg(&a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	return a.overflow ? -E2BIG : 0;
}

static __attribute__((noreturn)) void child_fail(int pipe_fd, const char *what)
{
	char msg[256];
	int e = errno, n;

	n = snprintf(msg, sizeof(msg), "%d %s: %s", e, what, strerror(e));
	if (write(pipe_fd, msg, n) < 0)
		_exit(126);
	_exit(126);
}

/* Moves fd to a number >= 100, so the dup2s onto 3.. can't clobber it. */
static int lift(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 100);
}

static void child(const struct omt_vm_spec *s, char **argv, int report, pid_t parent)
{
	int fds[] = { s->kernel_fd, s->initrd_fd, s->tap_fd, s->agent_fd, s->qmp_fd, s->disk_fd };
	int i, null, con;

	/* Lift everything out of the way, then place it: 0-2, 3-7 and the report pipe. */
	report = lift(report);
	con = lift(s->console_fd);
	null = open("/dev/null", O_RDONLY);
	null = null < 0 ? -1 : lift(null);
	for (i = 0; i < 6; i++)
		fds[i] = fds[i] < 0 && i == 5 ? -1 : lift(fds[i]);
	if (report < 0 || dup2(report, FD_REPORT) < 0)
		_exit(126);
	report = FD_REPORT;
	fcntl(report, F_SETFD, FD_CLOEXEC);
	if (con < 0 || null < 0 || dup2(null, 0) < 0 || dup2(con, 1) < 0 || dup2(con, 2) < 0)
		child_fail(report, "stdio");
	for (i = 0; i < 6; i++)
		if ((fds[i] >= 0 || i < 5) && (fds[i] < 0 || dup2(fds[i], FD_KERNEL + i) < 0))
			child_fail(report, "pass file descriptors");
	/* Everything else is closed: QEMU gets what is listed above, nothing more. */
	for (i = FD_FIRST_FREE; i < FD_REPORT; i++)
		close(i);
	if (syscall(SYS_close_range, FD_REPORT + 1, ~0U, 0) < 0)
		child_fail(report, "close_range");
	{
		/* The console log lives on tmpfs: a chatty guest can't fill it. */
		struct rlimit fsize = { 1 << 20, 1 << 20 };
		sigset_t none;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
			child_fail(report, "RLIMIT_FSIZE");
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}

	if (omt_cgroup_join(s->cg, getpid()) < 0)
		child_fail(report, "join the job's cgroup");
	/*
	 * The owner first: every QEMU thread (vCPUs included, they inherit it)
	 * runs only when nothing else wants the CPU.
	 */
	{
		struct sched_param none = { 0 };

		if (sched_setscheduler(0, SCHED_IDLE, &none) < 0)
			child_fail(report, "SCHED_IDLE");
	}
	if (setgroups(s->kvm_gid ? 1 : 0, &s->kvm_gid) < 0 || setgid(s->gid) < 0 ||
	    setuid(s->uid) < 0)
		child_fail(report, "drop to the QEMU user");
	/* After setuid, which clears it; and the parent may be gone already. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(report, "PR_SET_PDEATHSIG");
	if (getppid() != parent)
		_exit(126);
	execvp(argv[0], argv);
	child_fail(report, "exec " OMT_QEMU_BIN);
}

int omt_qemu_spawn(const struct omt_vm_spec *s, pid_t *pid, int *pidfd, char *err,
		   size_t errlen)
{
	char *argv[64], buf[4096], msg[300];
	pid_t parent = getpid(), p;
	int pipefd[2], e;
	ssize_t n;

	e = omt_qemu_argv(s, argv, 64, buf, sizeof(buf));
	if (e) {
		snprintf(err, errlen, "QEMU command line too long");
		return e;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	p = fork();
	if (p < 0) {
		e = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return e;
	}
	if (p == 0) {
		close(pipefd[0]);
		child(s, argv, pipefd[1], parent);
	}
	close(pipefd[1]);
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	if (n > 0) {
		msg[n] = '\0';
		e = atoi(msg);
		snprintf(err, errlen, "%s", strchr(msg, ' ') ? strchr(msg, ' ') + 1 : msg);
		kill(p, SIGKILL);
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		return e > 0 ? -e : -EIO;
	}
	*pid = p;
	*pidfd = syscall(SYS_pidfd_open, p, 0);
	if (*pidfd < 0) {
		e = -errno;
		snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
		kill(p, SIGKILL);
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		return e;
	}
	return 0;
}
