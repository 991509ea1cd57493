// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-frame cost of the guard from BPF_PROG_TEST_RUN, against the cheapest
 * program of the same hook, measured in the same run: rounds alternate
 * between the programs and the median of each is kept. The guard is attached
 * to loopback in a network namespace of the bench's own, as an exec attaches
 * it to a VM's tap (the object's first interface: omt_vm). With
 * OMT_BASELINE_GUARD=FILE (another build's guard.bpf.o), that object runs in
 * the same rounds, its policy written to its omt_policy as that build did.
 *   guard_cost [ROUNDS] [REPEAT]
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../bpf/omerta_abi.h"
#include "../guard/guard_bpf.h"
#include "bench_min.skel.h"
#include "guard.skel.h"

#define LO 1

struct frame {
	uint8_t b[256];
	uint32_t len;
};

/* Ethernet/IPv4/UDP from 10.0.0.2 to 192.0.2.7:51820 with payload bytes. */
static void udp_frame(struct frame *f, uint16_t dport, uint8_t first, uint32_t payload)
{
	uint8_t *ip = f->b + 14, *u = ip + 20;
	uint16_t tot = 28 + payload;

	memset(f->b, 0, sizeof(f->b));
	memcpy(f->b, "\x02\x00\x00\x00\x00\x01\x52\x54\x00\x12\x34\x56\x08\x00", 14);
	ip[0] = 0x45;
	ip[2] = tot >> 8;
	ip[3] = tot & 0xff;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\x0a\x00\x00\x02\xc0\x00\x02\x07", 8);
	u[0] = 0x9c; u[1] = 0x40;
	u[2] = dport >> 8;
	u[3] = dport & 0xff;
	u[4] = (8 + payload) >> 8;
	u[5] = (8 + payload) & 0xff;
	u[8] = first;
	f->len = 14 + tot;
}

static double run_ns(int prog_fd, struct frame *f, uint32_t repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		fprintf(stderr, "guard_cost: test run: %s\n", strerror(errno));
		exit(1);
	}
	return o.duration;	/* average ns per run */
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Another build's guard object, loaded as it is, its policy in omt_policy. */
static struct bpf_object *baseline_open(const char *path, const struct omt_policy *pol,
					int *xdp_fd, int *tc_fd)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_map *m;
	uint32_t key = LO;

	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "guard_cost: baseline %s: %s\n", path, strerror(errno));
		exit(1);
	}
	m = bpf_object__find_map_by_name(obj, "omt_policy");
	if (!m || bpf_map_update_elem(bpf_map__fd(m), &key, pol, BPF_ANY)) {
		fprintf(stderr, "guard_cost: baseline %s: no omt_policy\n", path);
		exit(1);
	}
	*xdp_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "omt_xdp_from_vm"));
	*tc_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "omt_tc_from_vm"));
	return obj;
}

#define N_PROGS 10

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 15;
	uint32_t repeat = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000;
	struct omt_policy pol = { .endpoint_ip = { 192, 0, 2, 7 }, .peer_ip = { 10, 0, 0, 2 },
				  .gateway_ip = { 10, 0, 0, 1 }, .endpoint_port = 51820,
				  .flags = OMT_POL_PEER_IP | OMT_POL_GATEWAY_IP };
	const char *base_path = getenv("OMT_BASELINE_GUARD");
	struct bpf_object *base = NULL;
	struct omt_guard_maps maps;
	struct bench_min_bpf *min;
	struct guard_bpf *g;
	struct frame wg, rogue;
	double *v[N_PROGS];
	/* Programs in rounds: [0..5] as before, [6..9] the baseline's. */
	const char *names[N_PROGS] = { "xdp minimal", "xdp guard pass", "xdp guard drop",
				       "tc minimal", "tc guard pass", "tc guard drop",
				       "xdp base pass", "xdp base drop", "tc base pass",
				       "tc base drop" };
	int base_of[N_PROGS] = { 0, 0, 0, 3, 3, 3, 0, 0, 3, 3 };
	int fds[N_PROGS], n = 6, i, r;

	if (rounds < 1 || rounds > 1000 || repeat < 1) {
		fprintf(stderr, "usage: guard_cost [ROUNDS 1..1000] [REPEAT >= 1]\n");
		return 2;
	}
	omt_bpf_log_init();
	/* Our own loopback (ifindex 1) to attach to, gone when we exit. */
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "guard_cost: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	min = bench_min_bpf__open_and_load();
	g = guard_bpf__open_and_load();
	if (!min || !g) {
		fprintf(stderr, "guard_cost: load: %s\n", strerror(errno));
		return 1;
	}
	if (omt_guard_attach(g, LO, 1, &pol)) {
		fprintf(stderr, "guard_cost: attach to the namespace's loopback failed\n");
		return 1;
	}
	udp_frame(&wg, 51820, 4, 128);		/* WireGuard transport data */
	udp_frame(&rogue, 53, 0, 40);		/* a DNS query: wrong_port */

	fds[0] = bpf_program__fd(min->progs.omt_min_xdp);
	fds[1] = fds[2] = bpf_program__fd(g->progs.omt_xdp_from_vm);
	fds[3] = bpf_program__fd(min->progs.omt_min_tc);
	fds[4] = fds[5] = bpf_program__fd(g->progs.omt_tc_from_vm);
	if (base_path) {
		base = baseline_open(base_path, &pol, &fds[6], &fds[8]);
		fds[7] = fds[6];
		fds[9] = fds[8];
		n = N_PROGS;
	}
	for (i = 0; i < n; i++)
		v[i] = calloc(rounds, sizeof(double));
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++)
			v[i][r] = run_ns(fds[i], (i < 6 ? i % 3 == 2 : i % 2 == 1) ? &rogue : &wg,
					 repeat);

	printf("BPF_PROG_TEST_RUN, %d rounds x %u runs, median ns per frame\n", rounds, repeat);
	for (i = 0; i < n; i++) {
		double m = median(v[i], rounds), b = median(v[base_of[i]], rounds);

		printf("  %-16s %7.1f ns  %5.2fx minimal\n", names[i], m, m / b);
	}
	printf("  %-16s %7.2fx\n", "tc/xdp pass", median(v[4], rounds) / median(v[1], rounds));
	if (base) {
		printf("  %-16s %7.2fx\n", "xdp pass/base", median(v[1], rounds) / median(v[6], rounds));
		printf("  %-16s %7.2fx\n", "tc pass/base", median(v[4], rounds) / median(v[8], rounds));
		bpf_object__close(base);
	}
	omt_guard_maps_of(g, &maps);
	omt_guard_detach(&maps, LO);
	guard_bpf__destroy(g);
	bench_min_bpf__destroy(min);
	return 0;
}
