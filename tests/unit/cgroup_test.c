// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cgroup guard for real: a child process in a fresh cgroup (v2; on
 * hybrid hosts the unified hierarchy) tries inet sockets towards a
 * listener of ours on loopback, and must be refused and reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../../bpf/omerta_abi.h"
#include "../../vmctl/cgroup.h"
#include "cgroup.skel.h"

struct fixture {
	struct cgroup_bpf *skel;
	struct ring_buffer *rb;
	char cg_path[256];
	int cg_fd;
	uint64_t cg_id;
	int tcp_fd, udp_fd;
	uint16_t tcp_port, udp_port;
	struct omt_event events[16];
	int n_events;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct fixture *f = ctx;

	if (size == sizeof(struct omt_event) && f->n_events < 16)
		memcpy(&f->events[f->n_events++], data, size);
	return 0;
}

static int cgroup2_root(char *out, size_t size)
{
	struct mntent *m;
	FILE *mt = setmntent("/proc/self/mounts", "r");
	int found = 0;

	if (!mt)
		return 0;
	while (!found && (m = getmntent(mt))) {
		if (strcmp(m->mnt_type, "cgroup2") == 0) {
			snprintf(out, size, "%s", m->mnt_dir);
			found = 1;
		}
	}
	endmntent(mt);
	return found;
}

static int listener(int type, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char root[200];
	struct stat st;

	assert_non_null(f);
	f->skel = cgroup_bpf__open_and_load();
	assert_non_null(f->skel);
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.omt_cg_events), on_event, f, NULL);
	assert_non_null(f->rb);
	f->tcp_fd = listener(SOCK_STREAM, &f->tcp_port);
	f->udp_fd = listener(SOCK_DGRAM, &f->udp_port);
	/* Last, so that a failed setup (no teardown then) leaves no cgroup. */
	assert_true(cgroup2_root(root, sizeof(root)));
	snprintf(f->cg_path, sizeof(f->cg_path), "%s/omt-test-%d", root, getpid());
	assert_int_equal(mkdir(f->cg_path, 0755), 0);
	f->cg_fd = open(f->cg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->cg_fd < 0 || fstat(f->cg_fd, &st) < 0) {
		rmdir(f->cg_path);
		fail_msg("open %s: %s", f->cg_path, strerror(errno));
	}
	f->cg_id = st.st_ino;	/* a cgroup2 directory's inode is its id */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ring_buffer__free(f->rb);
	cgroup_bpf__destroy(f->skel);	/* detaches: the links are ours */
	close(f->cg_fd);
	close(f->tcp_fd);
	close(f->udp_fd);
	rmdir(f->cg_path);
	free(f);
	return 0;
}

enum attempt { TRY_CONNECT, TRY_SENDTO, TRY_SEND_CONNECTED_UDP, TRY_CONNECT6, TRY_SOCKET };

/*
 * Runs `what` in a child moved into the cgroup; returns the errno the
 * child's socket call failed with, or 0 if it succeeded.
 */
static int child_attempt(struct fixture *f, enum attempt what)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char procs[300], pidbuf[32];
	int sync[2], status, fd, n;
	pid_t pid;

	assert_int_equal(pipe(sync), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		int rc = 0;

		close(sync[1]);
		if (read(sync[0], &c, 1) != 1)
			_exit(100);
		if (what == TRY_CONNECT6) {
			struct sockaddr_in6 to6 = { .sin6_family = AF_INET6,
						    .sin6_addr = IN6ADDR_LOOPBACK_INIT,
						    .sin6_port = htons(9) };

			/* Nothing listens there: EPERM is ours, ECONNREFUSED is not. */
			fd = socket(AF_INET6, SOCK_STREAM, 0);
			if (fd < 0)
				_exit(99);
			rc = connect(fd, (struct sockaddr *)&to6, sizeof(to6));
		} else if (what == TRY_SOCKET) {
			rc = socket(AF_INET, SOCK_DGRAM, 0);
		} else if (what == TRY_CONNECT) {
			fd = socket(AF_INET, SOCK_STREAM, 0);
			to.sin_port = htons(f->tcp_port);
			rc = connect(fd, (struct sockaddr *)&to, sizeof(to));
		} else {
			fd = socket(AF_INET, SOCK_DGRAM, 0);
			to.sin_port = htons(f->udp_port);
			if (what == TRY_SENDTO)
				rc = sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
			else if ((rc = connect(fd, (struct sockaddr *)&to, sizeof(to))) == 0)
				rc = send(fd, "x", 1, 0);
		}
		_exit(rc < 0 ? errno : 0);
	}
	close(sync[0]);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", f->cg_path);
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	assert_int_equal(write(fd, pidbuf, n), n);
	close(fd);
	assert_int_equal(write(sync[1], "g", 1), 1);
	close(sync[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void attach(struct fixture *f, struct bpf_program *prog)
{
	struct bpf_link *l = bpf_program__attach_cgroup(prog, f->cg_fd);

	assert_non_null(l);
	/* Owned by the skeleton's program: destroyed with it in teardown. */
	bpf_link__disconnect(l);
	bpf_link__destroy(l);
}

/* The one event the attempt left: a denied QEMU socket, from the cgroup. */
static const struct omt_event *one_event(struct fixture *f)
{
	f->n_events = 0;
	ring_buffer__consume(f->rb);
	assert_int_equal(f->n_events, 1);
	assert_int_equal(f->events[0].reason, OMT_R_QEMU_SOCKET);
	assert_int_equal(f->events[0].direction, OMT_DIR_CGROUP);
	return &f->events[0];
}

static void expect_event(struct fixture *f, uint8_t hook, uint16_t dport)
{
	uint8_t lo[4] = { 127, 0, 0, 1 };
	struct omt_counter c = {};

	one_event(f);
	assert_int_equal(f->events[0].hook, hook);
	assert_int_equal(f->events[0].cgroup_id, f->cg_id);
	assert_memory_equal(f->events[0].dst_ip, lo, 4);
	if (dport)
		assert_int_equal(f->events[0].dst_port, dport);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.omt_cg_totals),
					     &f->cg_id, &c), 0);
	assert_true(c.packets >= 1);
}

static void test_connect_denied(void **state)
{
	struct fixture *f = *state;

	attach(f, f->skel->progs.omt_cg_connect4);
	assert_int_equal(child_attempt(f, TRY_CONNECT), EPERM);
	expect_event(f, OMT_HOOK_CGROUP_CONNECT, f->tcp_port);
}

static void test_connect6_denied(void **state)
{
	struct fixture *f = *state;
	int rc;

	attach(f, f->skel->progs.omt_cg_connect6);
	rc = child_attempt(f, TRY_CONNECT6);
	if (rc == 99)
		skip();		/* no IPv6 on this host */
	assert_int_equal(rc, EPERM);
	assert_int_equal(one_event(f)->ethertype, 0x86DD);
}

static void test_sock_create_denied(void **state)
{
	struct fixture *f = *state;
	const struct omt_event *e;

	attach(f, f->skel->progs.omt_cg_sock_create);
	assert_int_equal(child_attempt(f, TRY_SOCKET), EPERM);
	e = one_event(f);
	assert_int_equal(e->hook, OMT_HOOK_CGROUP_SOCK_CREATE);
	assert_int_equal(e->proto, IPPROTO_UDP);
	assert_int_equal(e->ethertype, 0x0800);
}

static void test_sendmsg_denied(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	attach(f, f->skel->progs.omt_cg_sendmsg4);
	assert_int_equal(child_attempt(f, TRY_SENDTO), EPERM);
	expect_event(f, OMT_HOOK_CGROUP_SENDMSG, f->udp_port);
	assert_int_equal(recv(f->udp_fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
}

static void test_skb_egress_denied(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	/* Only the skb hook: connect() of UDP is allowed, the datagram is not. */
	attach(f, f->skel->progs.omt_cg_skb);
	assert_int_equal(child_attempt(f, TRY_SEND_CONNECTED_UDP), EPERM);
	expect_event(f, OMT_HOOK_CGROUP_SKB, 0);
	assert_int_equal(f->events[0].proto, IPPROTO_UDP);
	assert_int_equal(recv(f->udp_fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
}

static void test_outside_cgroup_unaffected(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(f->udp_port) };
	char buf[4];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	attach(f, f->skel->progs.omt_cg_skb);
	attach(f, f->skel->progs.omt_cg_sendmsg4);
	/* This process is not in the cgroup: its datagram goes through. */
	assert_int_equal(sendto(fd, "y", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	assert_int_equal(recv(f->udp_fd, buf, sizeof(buf), MSG_DONTWAIT), 1);
	close(fd);
	f->n_events = 0;
	ring_buffer__consume(f->rb);
	assert_int_equal(f->n_events, 0);
}

/* A job's cgroup made as exec makes it (on this host's layout), for the quota. */
static int setup_job(void **state)
{
	struct omt_cgroup *cg = calloc(1, sizeof(*cg));
	char job[32], err[256];
	int e;

	assert_non_null(cg);
	snprintf(job, sizeof(job), "omt-test-cpu-%d", getpid());
	e = omt_cgroup_create(cg, job, 500, 64 << 20, err, sizeof(err));
	if (e) {
		free(cg);
		fail_msg("%s", err);
	}
	*state = cg;
	return 0;
}

static int teardown_job(void **state)
{
	struct omt_cgroup *cg = *state;
	int e = omt_cgroup_destroy(cg);

	free(cg);
	return e;
}

static void read_cg(const char *dir, const char *file, char *buf, size_t size)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
}

static int has_file(const char *dir, const char *file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static void test_cpu_max(void **state)
{
	const struct omt_cgroup *cg = *state;
	const char *cpu = NULL;
	uint64_t before, after;
	int i, v2 = 0, status;
	char buf[64];
	pid_t pid;

	/* The directory with the cpu controller: v2's, or v1's cpu/omerta/JOB. */
	for (i = 0; i < cg->n_dirs && !cpu; i++) {
		if (has_file(cg->dirs[i], "cpu.max"))
			cpu = cg->dirs[i], v2 = 1;
		else if (has_file(cg->dirs[i], "cpu.cfs_quota_us"))
			cpu = cg->dirs[i];
	}
	assert_non_null(cpu);

	assert_int_equal(omt_cgroup_set_cpu_max(cg, 20000, 100000), 0);
	if (v2) {
		read_cg(cpu, "cpu.max", buf, sizeof(buf));
		assert_string_equal(buf, "20000 100000\n");
	} else {
		read_cg(cpu, "cpu.cfs_quota_us", buf, sizeof(buf));
		assert_string_equal(buf, "20000\n");
		read_cg(cpu, "cpu.cfs_period_us", buf, sizeof(buf));
		assert_string_equal(buf, "100000\n");
	}

	/*
	 * 50 ms of CPU in the cgroup, counted. (Whether the quota bit can't be
	 * told on a busy host: at the lowest weight there the child may never
	 * get its 20 ms a period.)
	 */
	assert_int_equal(omt_cgroup_cpu_usage_ns(cg, &before), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec t;
		long long start;

		if (omt_cgroup_join(cg, getpid()))
			_exit(1);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
		start = t.tv_sec * 1000000000LL + t.tv_nsec;
		do
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
		while (t.tv_sec * 1000000000LL + t.tv_nsec - start < 50000000);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(omt_cgroup_cpu_usage_ns(cg, &after), 0);
	assert_true(after - before >= 50000000);
	assert_true(after - before < 5000000000ULL);

	assert_int_equal(omt_cgroup_set_cpu_max(cg, -1, 100000), 0);
	if (v2) {
		read_cg(cpu, "cpu.max", buf, sizeof(buf));
		assert_string_equal(buf, "max 100000\n");
	} else {
		read_cg(cpu, "cpu.cfs_quota_us", buf, sizeof(buf));
		assert_string_equal(buf, "-1\n");
	}
	/* Below the kernel's 1 ms the write fails, and says so. */
	assert_true(omt_cgroup_set_cpu_max(cg, 10, 100000) < 0);
}

static void put_cg(const char *dir, const char *file, const char *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	assert_int_equal(fclose(f), 0);
}

/*
 * The formats of the layouts this host doesn't have, on plain files: pure
 * v2 (cpu.max, usage_usec), and v1 with cpuacct beside cpu.
 */
static void test_cpu_files(void **state)
{
	static const char *const files[] = { "cpu.max", "cpu.stat", "cpuacct.usage" };
	struct omt_cgroup cg = { .n_dirs = 1, .v2_fd = -1 };
	char dir[] = "/tmp/omt-cgroup-test.XXXXXX", buf[64], path[128];
	uint64_t ns = 0;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cg.v2, sizeof(cg.v2), "%s", dir);
	snprintf(cg.dirs[0], sizeof(cg.dirs[0]), "%s", dir);
	assert_int_equal(omt_cgroup_set_cpu_max(&cg, 20000, 100000), -ENOENT);
	assert_int_equal(omt_cgroup_cpu_usage_ns(&cg, &ns), -ENOENT);

	put_cg(dir, "cpu.max", "");
	assert_int_equal(omt_cgroup_set_cpu_max(&cg, -1, 100000), 0);
	read_cg(dir, "cpu.max", buf, sizeof(buf));
	assert_string_equal(buf, "max 100000");
	put_cg(dir, "cpu.max", "");
	assert_int_equal(omt_cgroup_set_cpu_max(&cg, 25000, 100000), 0);
	read_cg(dir, "cpu.max", buf, sizeof(buf));
	assert_string_equal(buf, "25000 100000");
	put_cg(dir, "cpu.stat", "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n");
	assert_int_equal(omt_cgroup_cpu_usage_ns(&cg, &ns), 0);
	assert_int_equal(ns, 1234567000ULL);

	/* v1: cpu.stat without usage_usec, cpuacct.usage in ns. */
	put_cg(dir, "cpu.stat", "nr_periods 3\nnr_throttled 1\nthrottled_time 5\n");
	put_cg(dir, "cpuacct.usage", "987654321\n");
	assert_int_equal(omt_cgroup_cpu_usage_ns(&cg, &ns), 0);
	assert_int_equal(ns, 987654321ULL);

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect6_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sock_create_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sendmsg_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skb_egress_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_cgroup_unaffected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_max, setup_job, teardown_job),
		cmocka_unit_test(test_cpu_files),
	};

	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
