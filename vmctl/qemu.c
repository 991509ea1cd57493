// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
	char msg[512];
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

/* QEMU on PATH (or the usual places), its links resolved: the jail holds it there. */
static int find_qemu(char *out, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096], cand[PATH_MAX], *dir, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(cand, sizeof(cand), "%s/%s", dir, OMT_QEMU_BIN);
		if (access(cand, X_OK) == 0 && realpath(cand, out) && strlen(out) < size)
			return 0;
	}
	return -ENOENT;
}

/* mkdir -p of the parents of rel (relative to the jail's root, our cwd). */
static int make_parents(const char *rel)
{
	char p[PATH_MAX], *slash;

	snprintf(p, sizeof(p), "%s", rel);
	for (slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		*slash = '/';
	}
	return 0;
}

/*
 * The host's src at the same path in the jail (our cwd), read-only: a
 * symbolic link is copied, a file or directory bind-mounted (alone, not
 * what is mounted below it). Devices keep working; nothing else may be
 * one, and no set-uid bit counts. Missing: nothing (-ENOENT).
 */
static int jail_add(const char *src, int device)
{
	const char *rel = src + 1;
	char link[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	if (lstat(src, &st) < 0)
		return -errno;
	if (make_parents(rel) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(src, link, sizeof(link) - 1);
		if (n < 0)
			return -errno;
		link[n] = '\0';
		return symlink(link, rel) < 0 && errno != EEXIST ? -errno : 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(rel, 0755) < 0 && errno != EEXIST)
			return -errno;
	} else if ((fd = open(rel, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		return -errno;
	} else {
		close(fd);
	}
	if (mount(src, rel, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, rel, NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
			  (device ? MS_NOEXEC : MS_NODEV), NULL) < 0)
		return -errno;
	return 0;
}

#if defined(__x86_64__)
#define OMT_MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define OMT_MULTIARCH "aarch64-linux-gnu"
#else
#error "the jail needs this architecture's multiarch directory name"
#endif

/*
 * What QEMU loads besides itself: the dynamic loader, the shared libraries
 * (the multiarch directories only, not the rest of /usr/lib), its modules
 * (in the multiarch directory), its firmware, the loader's cache.
 */
static const char *const jail_loads[] = {
	"/lib", "/lib64", "/lib/" OMT_MULTIARCH, "/usr/lib64", "/usr/lib/" OMT_MULTIARCH,
	"/usr/share/qemu", "/usr/share/seabios", "/etc/ld.so.cache",
};

/*
 * Builds the jail on s->jail and makes it our root: a tmpfs, read-only at
 * the end, with the QEMU binary, what it loads (libraries, modules next to
 * it, firmware, the loader's cache), the devices it opens, /dev/fd and a
 * /proc showing only our PID namespace's processes. Runs in the child, in
 * its own mount namespace: the host's mounts are made private first, so
 * nothing of this is seen outside.
 */
static void enter_jail(const struct omt_vm_spec *s, const char *qemu, int report)
{
	struct stat lib;
	char prefix[PATH_MAX], extra[2][PATH_MAX + 16], what[300], *slash;
	size_t i;
	int e;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(report, "make the host's mounts private");
	if (mount("omerta-jail", s->jail, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755,size=64k,nr_inodes=256") < 0)
		child_fail(report, "mount the jail's tmpfs");
	if (chdir(s->jail) < 0)
		child_fail(report, "enter the jail");
	/* QEMU finds its modules and firmware next to itself: PREFIX/lib, PREFIX/share/qemu. */
	snprintf(prefix, sizeof(prefix), "%s", qemu);
	for (i = 0; i < 2 && (slash = strrchr(prefix, '/')); i++)
		*slash = '\0';
	snprintf(extra[0], sizeof(extra[0]), "%s/lib", prefix);
	snprintf(extra[1], sizeof(extra[1]), "%s/share/qemu", prefix);
	if ((e = jail_add(qemu, 0))) {
		errno = -e;
		child_fail(report, "put QEMU in the jail");
	}
	/* A merged /usr has /lib as a link to usr/lib: then its libraries come with /usr's. */
	if (lstat("/lib", &lib) < 0)
		lib.st_mode = 0;
	for (i = 0; i < sizeof(jail_loads) / sizeof(jail_loads[0]) + 2; i++) {
		const char *src = i < 2 ? extra[i] : jail_loads[i - 2];

		if (i < 2 && strcmp(prefix, "/usr") == 0)
			continue;	/* among jail_loads already */
		if ((strcmp(src, "/lib") == 0 && !S_ISLNK(lib.st_mode)) ||
		    (strcmp(src, "/lib/" OMT_MULTIARCH) == 0 && S_ISLNK(lib.st_mode)))
			continue;
		if ((e = jail_add(src, 0)) && e != -ENOENT) {
			errno = -e;
			snprintf(what, sizeof(what), "put %.256s in the jail", src);
			child_fail(report, what);
		}
	}
	if ((e = jail_add("/dev/null", 1)) || (e = jail_add("/dev/urandom", 1)) ||
	    (strcmp(s->accel, "kvm") == 0 && (e = jail_add("/dev/kvm", 1)))) {
		errno = -e;
		child_fail(report, "put a device in the jail");
	}
	if (symlink("/proc/self/fd", "dev/fd") < 0 || mkdir("proc", 0555) < 0)
		child_fail(report, "make /dev/fd and /proc in the jail");
	/* pivot_root(".", "."): the old root lands beneath the new one, and is let go. */
	if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		child_fail(report, "pivot into the jail");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "hidepid=invisible,subset=pid") < 0)
		child_fail(report, "mount the jail's /proc");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		child_fail(report, "make the jail read-only");
}

/* FD_PARENT: a pidfd of exec, to see that it is still there once PDEATHSIG is armed. */
enum { FD_PARENT = FD_REPORT - 1 };

static void child(const struct omt_vm_spec *s, char **argv, const char *qemu, int report,
		  int parent)
{
	int fds[] = { s->kernel_fd, s->initrd_fd, s->tap_fd, s->agent_fd, s->qmp_fd, s->disk_fd };
	char *const no_env[] = { NULL };
	struct pollfd gone = { .fd = FD_PARENT, .events = POLLIN };
	int i, null, con;

	/* Lift everything out of the way, then place it: 0-2, 3-8, the parent and the report. */
	report = lift(report);
	parent = lift(parent);
	con = lift(s->console_fd);
	null = open("/dev/null", O_RDONLY);
	null = null < 0 ? -1 : lift(null);
	for (i = 0; i < 6; i++)
		fds[i] = fds[i] < 0 && i == 5 ? -1 : lift(fds[i]);
	if (report < 0 || dup2(report, FD_REPORT) < 0)
		_exit(126);
	report = FD_REPORT;
	fcntl(report, F_SETFD, FD_CLOEXEC);
	if (parent < 0 || dup2(parent, FD_PARENT) < 0)
		child_fail(report, "keep the parent's pidfd");
	fcntl(FD_PARENT, F_SETFD, FD_CLOEXEC);
	if (con < 0 || null < 0 || dup2(null, 0) < 0 || dup2(con, 1) < 0 || dup2(con, 2) < 0)
		child_fail(report, "stdio");
	for (i = 0; i < 6; i++)
		if ((fds[i] >= 0 || i < 5) && (fds[i] < 0 || dup2(fds[i], FD_KERNEL + i) < 0))
			child_fail(report, "pass file descriptors");
	/* Everything else is closed: QEMU gets what is listed above, nothing more. */
	for (i = FD_FIRST_FREE; i < FD_PARENT; i++)
		close(i);
	if (syscall(SYS_close_range, FD_REPORT + 1, ~0U, 0) < 0)
		child_fail(report, "close_range");
	{
		/* The console log lives on tmpfs: a chatty guest can't fill it. */
		struct rlimit fsize = { 1 << 20, 1 << 20 }, none = { 0, 0 },
			      files = { OMT_QEMU_MAX_FILES, OMT_QEMU_MAX_FILES },
			      threads = { OMT_QEMU_MAX_THREADS(s->cpus),
					  OMT_QEMU_MAX_THREADS(s->cpus) };
		sigset_t no_signals;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &fsize) < 0 || setrlimit(RLIMIT_CORE, &none) < 0 ||
		    setrlimit(RLIMIT_NOFILE, &files) < 0 || setrlimit(RLIMIT_NPROC, &threads) < 0)
			child_fail(report, "set QEMU's limits");
		sigemptyset(&no_signals);
		sigprocmask(SIG_SETMASK, &no_signals, NULL);
	}

	/* "0": ourselves, whatever our number in the new PID namespace. */
	if (omt_cgroup_join(s->cg, 0) < 0)
		child_fail(report, "join the job's cgroup");
	/*
	 * The owner first: every QEMU thread (vCPUs included, they inherit it)
	 * runs only when nothing else wants the CPU.
	 */
	{
		struct sched_param no_priority = { 0 };

		if (sched_setscheduler(0, SCHED_IDLE, &no_priority) < 0)
			child_fail(report, "SCHED_IDLE");
	}
	enter_jail(s, qemu, report);
	if (setgroups(s->kvm_gid ? 1 : 0, &s->kvm_gid) < 0 || setgid(s->gid) < 0 ||
	    setuid(s->uid) < 0)
		child_fail(report, "drop to the VM's uid");
	/* After setuid, which clears it; and the parent may be gone already. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(report, "PR_SET_PDEATHSIG");
	if (poll(&gone, 1, 0) != 0)
		_exit(126);
	close(FD_PARENT);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(report, "no_new_privs");
	execve(qemu, argv, no_env);
	child_fail(report, "exec " OMT_QEMU_BIN);
}

int omt_qemu_spawn(const struct omt_vm_spec *s, pid_t *pid, int *pidfd, char *err,
		   size_t errlen)
{
	char *argv[64], buf[4096], msg[600], qemu[PATH_MAX];
	struct clone_args ca = {
		.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
			 CLONE_PIDFD,
		.exit_signal = SIGCHLD,
	};
	int pipefd[2], parent, e;
	pid_t p;
	ssize_t n;

	e = omt_qemu_argv(s, argv, 64, buf, sizeof(buf));
	if (e) {
		snprintf(err, errlen, "QEMU command line too long");
		return e;
	}
	if (find_qemu(qemu, sizeof(qemu))) {
		snprintf(err, errlen, "no %s on PATH (install qemu-system-x86)", OMT_QEMU_BIN);
		return -ENOENT;
	}
	if ((parent = syscall(SYS_pidfd_open, getpid(), 0)) < 0) {
		e = -errno;
		snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
		return e;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		e = -errno;
		close(parent);
		return e;
	}
	ca.pidfd = (uintptr_t)pidfd;
	p = syscall(SYS_clone3, &ca, sizeof(ca));
	if (p < 0) {
		e = -errno;
		snprintf(err, errlen, "clone3 into new namespaces: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		close(parent);
		return e;
	}
	if (p == 0) {
		close(pipefd[0]);
		child(s, argv, qemu, pipefd[1], parent);
	}
	close(parent);
	close(pipefd[1]);
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	if (n > 0) {
		msg[n] = '\0';
		e = atoi(msg);
		snprintf(err, errlen, "%s", strchr(msg, ' ') ? strchr(msg, ' ') + 1 : msg);
		syscall(SYS_pidfd_send_signal, *pidfd, SIGKILL, NULL, 0);
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		close(*pidfd);
		*pidfd = -1;
		return e > 0 ? -e : -EIO;
	}
	*pid = p;
	return 0;
}
