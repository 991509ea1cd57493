// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-guest: PID 1 of a job's microVM. Loads the modules, configures
 * eth0 and wg0 through netlink, applies the guest firewall, waits for the
 * WireGuard handshake (no handshake, no workload), runs the workload with
 * its output forwarded, reports on the virtio-serial port "omerta.0"
 * (proto/guest_msg.h), and powers off. It never returns: PID 1 exiting
 * would panic the kernel, so every path ends in power_off().
 *
 * The job's own files come in the initramfs segment exec appends
 * (proto/job_spec.h): /job/job.json says what to run, /job/wg0.conf is the
 * VM's WireGuard config, /job/script the workload script when there is one,
 * /job/input/ the inputs, read-only. A warm VM boots without them and
 * waits for the same files on the port (receive_job).
 *
 * The workload's writable space is one size-limited tmpfs (/scratch): its
 * /job/output, and with the debian image the upper layer of an overlay on
 * the read-only image (/dev/vda, squashfs), which becomes the workload's
 * root. Whatever it writes dies with the VM. What it leaves in /job/output
 * is sent back file by file (guest/outsend.c) when asked for.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>


#include "../lib/file.h"
#include "../nl/nft.h"
#include "../nl/rtnl.h"
#include "../proto/guest_msg.h"
#include "../proto/job_spec.h"
#include "../vpn/wg_kernel.h"
#include "../vpn/wgconf.h"
#include "outsend.h"

#define JOB_JSON "/" OMT_JOB_SPEC_FILE
#define JOB_WG "/" OMT_JOB_WG_FILE
#define JOB_SCRIPT "/" OMT_JOB_SCRIPT_FILE
#define JOB_INPUT "/" OMT_JOB_INPUT_DIR
#define MODULE_LIST "/lib/modules/omerta.load"
/* Modules only the debian image's disk needs (block device, file systems). */
#define MODULE_LIST_DISK "/lib/modules/omerta-disk.load"
#define SCRATCH "/scratch"
#define NEWROOT "/newroot"

struct job {
	struct omt_job_spec spec;
	int disk;			/* the debian image: the root is /dev/vda + overlay */
	struct omt_wgconf wg;
};

static int port_fd = -1;

static void console(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "omerta-guest: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static void send_msg(const struct omt_msg *m)
{
	static char line[OMT_MSG_MAX_LINE + 2];
	int n = omt_msg_format(line, sizeof(line), m);
	ssize_t w;
	int off = 0;

	if (n < 0 || port_fd < 0)
		return;
	while (off < n) {
		w = write(port_fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += w;
	}
}

static void stage(enum omt_stage s)
{
	static struct omt_msg m;

	m.type = OMT_MSG_STAGE;
	m.stage = s;
	send_msg(&m);
}

static __attribute__((noreturn)) void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static __attribute__((noreturn, format(printf, 2, 3))) void fail(enum omt_stage s,
								const char *fmt, ...)
{
	static struct omt_msg m;
	va_list ap;
	size_t i;

	m.type = OMT_MSG_ERROR;
	m.stage = s;
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	for (i = 0; m.text[i]; i++)
		if (m.text[i] < 0x20 || m.text[i] > 0x7e)
			m.text[i] = '?';
	console("%s failed: %s", omt_stage_name(s), m.text);
	send_msg(&m);
	power_off();
}

static void mount_basics(void)
{
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
}

static int load_modules(const char *list, char *err, size_t errlen)
{
	char path[256];
	FILE *f = fopen(list, "re");
	int fd;

	if (!f) {
		snprintf(err, errlen, "%s: %s", list, strerror(errno));
		return -errno;
	}
	while (fgets(path, sizeof(path), f)) {
		path[strcspn(path, "\n")] = '\0';
		if (!path[0])
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			fclose(f);
			return -EIO;
		}
		close(fd);
	}
	fclose(f);
	return 0;
}

/* The virtio-serial port named omerta.0, as /dev/vportNpM. */
static int open_port(void)
{
	char path[300], name[64];
	struct dirent *d;
	DIR *dir;
	int fd, tries;

	for (tries = 0; tries < 200; tries++) {
		dir = opendir("/sys/class/virtio-ports");
		while (dir && (d = readdir(dir))) {
			if (d->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", d->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			memset(name, 0, sizeof(name));
			if (read(fd, name, sizeof(name) - 1) < 0)
				name[0] = '\0';
			close(fd);
			name[strcspn(name, "\n")] = '\0';
			if (strcmp(name, OMT_MSG_PORT_NAME) == 0) {
				snprintf(path, sizeof(path), "/dev/%s", d->d_name);
				closedir(dir);
				/* Read too: a warm VM's job comes this way. */
				return open(path, O_RDWR | O_CLOEXEC);
			}
		}
		if (dir)
			closedir(dir);
		usleep(10000);
	}
	return -ENOENT;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int read_job(struct job *j, char *err, size_t errlen)
{
	char why[256], *json;
	size_t len;
	int e;

	if ((e = omt_read_file(JOB_JSON, OMT_JOB_SPEC_MAX_BYTES, &json, &len, err, errlen)))
		return e;
	e = omt_job_spec_parse(json, len, &j->spec, why, sizeof(why));
	free(json);
	if (e) {
		snprintf(err, errlen, "%s: %s", JOB_JSON, e == -EINVAL ? why : strerror(-e));
		return e;
	}
	j->disk = omt_image_is_disk(j->spec.image);
	return omt_wgconf_load(JOB_WG, &j->wg, err, errlen);
}

/* Exactly len bytes from the port into fd. */
static int port_copy(int fd, uint64_t len)
{
	static char buf[65536];
	ssize_t n;

	while (len) {
		n = read(port_fd, buf, len < sizeof(buf) ? len : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		if (omt_write_all(fd, buf, n))
			return -EIO;
		len -= n;
	}
	return 0;
}

/*
 * A warm VM: no job.json in the initramfs. Say so, and wait on the port
 * for the host's "job" message (proto/guest_msg.h): its archive holds the
 * files a cold boot finds in /job, unpacked into / by busybox's cpio.
 */
static void receive_job(void)
{
	char line[256];
	struct omt_msg *m = calloc(1, sizeof(*m));
	int pfd[2], status, e;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (!m)
		fail(OMT_STAGE_WARM, "out of memory");
	stage(OMT_STAGE_WARM);
	for (;;) {
		r = read(port_fd, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail(OMT_STAGE_WARM, "the port closed before the job came");
		if (line[n] == '\n')
			break;
		if (++n == sizeof(line))
			fail(OMT_STAGE_WARM, "an overlong line instead of the job");
	}
	if (omt_msg_parse(line, n, m) || m->type != OMT_MSG_JOB)
		fail(OMT_STAGE_WARM, "a message that is not the job");
	if (pipe2(pfd, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		fail(OMT_STAGE_WARM, "cpio: %s", strerror(errno));
	if (pid == 0) {
		dup2(pfd[0], 0);
		if (chdir("/") == 0)
			execl("/bin/cpio", "cpio", "-i", "-d", "-m", "-u", (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	e = port_copy(pfd[1], m->size);
	close(pfd[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (e)
		fail(OMT_STAGE_WARM, "the job's %llu bytes: %s", (unsigned long long)m->size,
		     strerror(-e));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail(OMT_STAGE_WARM, "cpio could not unpack the job's files (status %d)", status);
	free(m);
}

/* mkdir -p of one level, where it may exist already. */
static int mkdir_ok(const char *path, mode_t mode)
{
	return mkdir(path, mode) < 0 && errno != EEXIST ? -errno : 0;
}

static int bind_mount(const char *from, const char *to, unsigned long ro)
{
	if (mount(from, to, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	if (ro && mount(NULL, to, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
			NULL) < 0)
		return -errno;
	return 0;
}

/*
 * The workload's file system: the scratch tmpfs with /job/output on it, the
 * inputs read-only, and with the debian image a new root: the image as the
 * lower layer of an overlay whose upper layer is on the scratch tmpfs.
 */
static void prepare_root(const struct job *j)
{
	char opts[256], err[512];
	const char *root = j->disk ? NEWROOT : "";
	char path[300];
	int e = 0;

	snprintf(opts, sizeof(opts), "size=%um,mode=0755", j->spec.scratch_mib);
	if (mkdir_ok(SCRATCH, 0755) || mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0 ||
	    mkdir_ok(SCRATCH "/output", 0777) || mkdir_ok("/job/output", 0755))
		fail(OMT_STAGE_BOOT, "scratch tmpfs: %s", strerror(errno));
	/* POSIX shared memory (Python's multiprocessing) on the scratch too; ptys. */
	if (mkdir_ok(SCRATCH "/shm", 01777) || chmod(SCRATCH "/shm", 01777) < 0 ||
	    mkdir_ok("/dev/shm", 01777) || (e = bind_mount(SCRATCH "/shm", "/dev/shm", 0)) ||
	    mkdir_ok("/dev/pts", 0755) ||
	    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666") < 0)
		fail(OMT_STAGE_BOOT, "/dev/shm, /dev/pts: %s", strerror(e ? -e : errno));
	if (j->disk) {
		if ((e = load_modules(MODULE_LIST_DISK, err, sizeof(err))) && e != -ENOENT)
			fail(OMT_STAGE_BOOT, "disk modules: %s", err);
		if ((e = mkdir_ok("/base", 0755)) || (e = mkdir_ok(NEWROOT, 0755)) ||
		    (e = mkdir_ok(SCRATCH "/upper", 0755)) || (e = mkdir_ok(SCRATCH "/work", 0755)))
			fail(OMT_STAGE_BOOT, "mount points: %s", strerror(-e));
		if (mount("/dev/vda", "/base", "squashfs", MS_RDONLY | MS_NODEV, NULL) < 0)
			fail(OMT_STAGE_BOOT, "mount the image (/dev/vda): %s", strerror(errno));
		if (mount("overlay", NEWROOT, "overlay", MS_NODEV,
			  "lowerdir=/base,upperdir=" SCRATCH "/upper,workdir=" SCRATCH "/work") < 0)
			fail(OMT_STAGE_BOOT, "overlay on the image: %s", strerror(errno));
		if (mkdir_ok(NEWROOT "/job", 0755) || mkdir_ok(NEWROOT "/job/output", 0755) ||
		    mkdir_ok(NEWROOT "/job/input", 0755) ||
		    mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
		    mount("sysfs", NEWROOT "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
			  NULL) < 0 || (e = bind_mount("/dev", NEWROOT "/dev", 0)))
			fail(OMT_STAGE_BOOT, "the image's /proc, /sys, /dev, /job: %s",
			     strerror(e ? -e : errno));
		if (access(JOB_SCRIPT, F_OK) == 0) {
			int fd = open(NEWROOT JOB_SCRIPT, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);

			if (fd >= 0)
				close(fd);
			if (fd < 0 || (e = bind_mount(JOB_SCRIPT, NEWROOT JOB_SCRIPT, 1)))
				fail(OMT_STAGE_BOOT, "%s: %s", JOB_SCRIPT, strerror(fd < 0 ? errno : -e));
		}
	}
	snprintf(path, sizeof(path), "%s/job/output", root);
	if ((e = bind_mount(SCRATCH "/output", path, 0)))
		fail(OMT_STAGE_BOOT, "%s: %s", path, strerror(-e));
	snprintf(path, sizeof(path), "%s%s", root, JOB_INPUT);
	if (access(JOB_INPUT, F_OK) == 0 && (e = bind_mount(JOB_INPUT, path, 1)))
		fail(OMT_STAGE_BOOT, "%s: %s", path, strerror(-e));
}

static void setup_network(const struct job *j)
{
	unsigned int lo = if_nametoindex("lo"), eth = if_nametoindex("eth0");
	int err;

	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	if (!eth)
		fail(OMT_STAGE_NETWORK, "no eth0: %s", strerror(errno));
	if ((err = omt_rtnl_link_up(lo)) || (err = omt_rtnl_link_up(eth)) ||
	    (err = omt_rtnl_addr_add4(eth, j->spec.eth_ip, j->spec.eth_prefix)) ||
	    /* Only the endpoint is reachable, through the gateway: no default route. */
	    (err = omt_rtnl_route_add4(j->wg.endpoint_ip, 32, j->spec.gateway, eth)))
		fail(OMT_STAGE_NETWORK, "eth0: %s", strerror(-err));
}

static void setup_vpn(const struct job *j)
{
	unsigned int wg;
	int i, err;

	err = omt_rtnl_link_add("wg0", "wireguard");
	if (err)
		fail(OMT_STAGE_VPN, "create wg0: %s", strerror(-err));
	wg = if_nametoindex("wg0");
	err = omt_wg_kernel_apply("wg0", &j->wg);
	if (!err && j->wg.mtu)
		err = omt_rtnl_link_set_mtu(wg, j->wg.mtu);
	if (!err)
		err = omt_rtnl_addr_add4(wg, j->wg.address.ip, j->wg.address.prefix);
	if (!err)
		err = omt_rtnl_link_up(wg);
	for (i = 0; !err && i < j->wg.n_allowed_ips; i++) {
		err = omt_rtnl_route_add4(j->wg.allowed_ips[i].ip, j->wg.allowed_ips[i].prefix,
					  NULL, wg);
		/* The address's own subnet route exists already. */
		if (err == -EEXIST)
			err = 0;
	}
	if (err)
		fail(OMT_STAGE_VPN, "wg0: %s", strerror(-err));
}

/* A datagram into the tunnel makes WireGuard start its handshake now. */
static void poke_tunnel(const struct job *j)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	uint8_t ip[4];
	int s;

	memcpy(ip, j->wg.allowed_ips[0].ip, 4);
	if (j->wg.allowed_ips[0].prefix < 32)
		ip[3] |= 1;
	memcpy(&to.sin_addr, ip, 4);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		sendto(s, "", 0, 0, (struct sockaddr *)&to, sizeof(to));
		close(s);
	}
}

static void wait_handshake(const struct job *j)
{
	struct omt_wg_peer_state st;
	struct timespec start, now;
	int err, pokes = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		err = omt_wg_kernel_peer_state("wg0", &st);
		if (err)
			fail(OMT_STAGE_HANDSHAKE, "read wg0: %s", strerror(-err));
		if (st.last_handshake_sec)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= j->spec.handshake_timeout)
			fail(OMT_STAGE_HANDSHAKE, "no WireGuard handshake with %u.%u.%u.%u:%u in %u s",
			     j->wg.endpoint_ip[0], j->wg.endpoint_ip[1], j->wg.endpoint_ip[2],
			     j->wg.endpoint_ip[3], j->wg.endpoint_port, j->spec.handshake_timeout);
		if (pokes++ % 20 == 0)
			poke_tunnel(j);
		usleep(50000);
	}
}

static void forward(int *fd, int which)
{
	static struct omt_msg m;
	ssize_t n = read(*fd, m.data, sizeof(m.data));

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	m.type = OMT_MSG_OUT;
	m.fd = which;
	m.len = n;
	send_msg(&m);
}

/* A full scratch tmpfs explains the workload's ENOSPC: say so on its stderr. */
static void scratch_full_note(void)
{
	static struct omt_msg m;
	struct statvfs sv;

	if (statvfs(SCRATCH, &sv) < 0 || sv.f_bavail > 16)
		return;
	m.type = OMT_MSG_OUT;
	m.fd = 2;
	m.len = snprintf((char *)m.data, sizeof(m.data),
			 "omerta-guest: the job's writable space (--scratch, %llu MiB) is full\n",
			 (unsigned long long)sv.f_blocks * sv.f_frsize >> 20);
	send_msg(&m);
}

static __attribute__((noreturn)) void run_workload(const struct job *j)
{
	static struct omt_msg m;
	int out[2], errp[2], status;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
		fail(OMT_STAGE_WORKLOAD, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail(OMT_STAGE_WORKLOAD, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setsid();
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		if (j->disk && chroot(NEWROOT) < 0) {
			fprintf(stderr, "omerta-guest: chroot: %s\n", strerror(errno));
			_exit(127);
		}
		if (chdir("/root") < 0 && chdir("/") < 0)
			_exit(127);
		clearenv();
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
		setenv("HOME", "/root", 1);
		setenv("TERM", "dumb", 1);
		for (char **e = j->spec.env; e && *e; e++)
			putenv(*e);
		execvp(j->spec.argv[0], j->spec.argv);
		fprintf(stderr, "omerta-guest: %s: %s\n", j->spec.argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	while (out[0] >= 0 || errp[0] >= 0) {
		struct pollfd p[2] = { { .fd = out[0], .events = POLLIN },
				       { .fd = errp[0], .events = POLLIN } };

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents)
			forward(&out[0], 1);
		if (p[1].revents)
			forward(&errp[0], 2);
	}
	/* PID 1 reaps everything; the workload's status is the one we report. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Whatever it left running must not change /job/output under us. */
	kill(-1, SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	scratch_full_note();
	if (j->spec.output) {
		char err[512];

		if (omt_out_send(port_fd, SCRATCH "/output", OMT_OUT_MAX_BYTES, OMT_OUT_MAX_FILES,
				 err, sizeof(err)))
			console("output: %s", err);
	}
	m.type = OMT_MSG_EXIT;
	m.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	m.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	send_msg(&m);
	power_off();
}

int main(void)
{
	static struct job job;
	char err[1024];
	int merr;

	if (getpid() != 1) {
		fprintf(stderr, "omerta-guest runs as PID 1 of an Omerta microVM only\n");
		return 2;
	}
	mount_basics();
	/* The port needs virtio_console: modules first, their report after. */
	merr = load_modules(MODULE_LIST, err, sizeof(err));
	port_fd = open_port();
	if (port_fd < 0) {
		console("no virtio-serial port %s%s%s", OMT_MSG_PORT_NAME,
			merr ? ", modules: " : "", merr ? err : "");
		power_off();
	}
	stage(OMT_STAGE_MODULES);
	if (merr)
		fail(OMT_STAGE_MODULES, "%s", err);
	if (access(JOB_JSON, F_OK) < 0)
		receive_job();
	if (read_job(&job, err, sizeof(err)))
		fail(OMT_STAGE_BOOT, "%s", err);
	prepare_root(&job);

	stage(OMT_STAGE_NETWORK);
	setup_network(&job);
	if (job.spec.firewall) {
		int e;

		stage(OMT_STAGE_FIREWALL);
		e = omt_nft_add_egress_only("omerta", "eth0", job.wg.endpoint_ip,
					    job.wg.endpoint_port);
		if (e)
			fail(OMT_STAGE_FIREWALL, "nftables: %s", strerror(-e));
	}
	stage(OMT_STAGE_VPN);
	setup_vpn(&job);
	stage(OMT_STAGE_HANDSHAKE);
	wait_handshake(&job);
	stage(OMT_STAGE_WORKLOAD);
	run_workload(&job);
}
