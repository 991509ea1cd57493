// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Plays a QEMU the guest has escaped from: takes on everything a VM's QEMU
 * has of its own (its cgroups, its mount, PID, IPC, UTS and network
 * namespaces and so its root, its uid, gid and groups), then tries one
 * thing.
 *   escapee QEMU-PID read PATH     open PATH and read a byte
 *   escapee QEMU-PID kill PID      signal 0 to PID (a pid as the host numbers it)
 *   escapee QEMU-PID peek PID      process_vm_readv one byte of PID's stack
 *   escapee QEMU-PID inet          an AF_INET UDP socket
 *   escapee QEMU-PID unix NAME     connect to the abstract UNIX socket @NAME
 *   escapee QEMU-PID persist-tap   QEMU's own tap fd (5) made persistent
 *   escapee QEMU-PID pids          the processes /proc shows, one a line
 * Exit status: 0 it worked, 1 it was refused (the reason on stdout), 2 the
 * escapee itself could not get there (on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define QEMU_TAP_FD 5	/* vmctl/qemu.c: FD_TAP */

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "escapee: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int refused(const char *what)
{
	printf("%s: refused: %s\n", what, strerror(errno));
	return 1;
}

static int worked(const char *what)
{
	printf("%s: worked\n", what);
	return 0;
}

/* QEMU's uid and gid: the real ones of /proc/PID/status. */
static void creds_of(pid_t pid, uid_t *uid, gid_t *gid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "re")))
		die(path);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Uid:", 4) == 0)
			*uid = strtoul(line + 4, NULL, 10);
		if (strncmp(line, "Gid:", 4) == 0)
			*gid = strtoul(line + 4, NULL, 10);
	}
	fclose(f);
}

/* Into each of QEMU's cgroups: on cgroup v2 its one, on a hybrid host its v1 ones too. */
static void join_cgroups(pid_t pid)
{
	char path[512], line[512], *ctl, *cg;
	int v2_root = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
	FILE *f, *procs;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (!(f = fopen(path, "re")))
		die(path);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!(ctl = strchr(line, ':')) || !(cg = strchr(++ctl, ':')))
			continue;
		*cg++ = '\0';
		if (!strstr(cg, "omerta"))
			continue;	/* only what the loader made */
		if (!*ctl)
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s%s/cgroup.procs",
				 v2_root ? "" : "/unified", cg);
		else
			snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/cgroup.procs",
				 strncmp(ctl, "name=", 5) == 0 ? ctl + 5 : ctl, cg);
		if (!(procs = fopen(path, "we")) || fprintf(procs, "0\n") < 0 || fclose(procs))
			die(path);
	}
	fclose(f);
}

static int try(const char *what, const char *arg, int qemu_pidfd)
{
	char byte;
	struct iovec local = { &byte, 1 }, remote = { 0 };
	struct dirent *de;
	int fd;
	DIR *d;

	if (strcmp(what, "read") == 0) {
		if ((fd = open(arg, O_RDONLY | O_CLOEXEC)) < 0 || read(fd, &byte, 1) < 0)
			return refused(arg);
		return worked(arg);
	}
	if (strcmp(what, "kill") == 0)
		return kill(atoi(arg), 0) < 0 ? refused("kill") : worked("kill");
	if (strcmp(what, "peek") == 0) {
		/* Any address will do: permission is checked before it is read. */
		remote.iov_base = (void *)0x1000;
		remote.iov_len = 1;
		if (process_vm_readv(atoi(arg), &local, 1, &remote, 1, 0) < 0 && errno != EFAULT)
			return refused("peek");
		return worked("peek");
	}
	if (strcmp(what, "inet") == 0)
		return socket(AF_INET, SOCK_DGRAM, 0) < 0 ? refused("inet") : worked("inet");
	if (strcmp(what, "unix") == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		size_t n = strlen(arg);

		if (n + 1 >= sizeof(sun.sun_path))
			return 2;
		memcpy(sun.sun_path + 1, arg, n);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun,
				      offsetof(struct sockaddr_un, sun_path) + 1 + n) < 0)
			return refused("unix");
		return worked("unix");
	}
	if (strcmp(what, "persist-tap") == 0) {
		fd = syscall(SYS_pidfd_getfd, qemu_pidfd, QEMU_TAP_FD, 0);
		if (fd < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
			return refused("persist-tap");
		return worked("persist-tap");
	}
	if (strcmp(what, "pids") == 0) {
		if (!(d = opendir("/proc")))
			return refused("/proc");
		while ((de = readdir(d)))
			if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
				printf("%s\n", de->d_name);
		closedir(d);
		return 0;
	}
	fprintf(stderr, "escapee: no such try: %s\n", what);
	return 2;
}

int main(int argc, char **argv)
{
	pid_t qemu, child;
	uid_t uid = 0;
	gid_t gid = 0, groups[64];
	int pidfd, status, n;
	char path[64], line[256];
	FILE *f;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: escapee QEMU-PID read PATH|kill PID|peek PID|inet|"
				"unix NAME|persist-tap|pids\n");
		return 2;
	}
	qemu = atoi(argv[1]);
	if ((pidfd = syscall(SYS_pidfd_open, qemu, 0)) < 0)
		die("pidfd_open");
	creds_of(qemu, &uid, &gid);
	/* Its supplementary groups too (kvm under KVM). */
	n = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)qemu);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "Groups:", 7) == 0) {
				char *p = line + 7, *end;

				while (n < 64 && (groups[n] = strtoul(p, &end, 10), end != p)) {
					n++;
					p = end;
				}
			}
		fclose(f);
	}
	join_cgroups(qemu);
	if (setns(pidfd, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0)
		die("setns into QEMU's namespaces");
	if (setgroups(n, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		die("become QEMU's uid");
	/* The PID namespace is our children's: the try runs in one. */
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		status = try(argv[2], argc > 3 ? argv[3] : "", pidfd);
		fflush(stdout);
		_exit(status);
	}
	if (waitpid(child, &status, 0) < 0)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}
