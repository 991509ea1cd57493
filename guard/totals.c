// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "totals.h"

/* omt_vm's entry when ifindex is its interface; else -ENOENT. */
static int vm_entry(int vm_fd, __u32 ifindex, struct omt_vm *vm)
{
	__u32 zero = 0;

	if (vm_fd < 0 || bpf_map_lookup_elem(vm_fd, &zero, vm) < 0)
		return -ENOENT;
	return vm->ifindex && vm->ifindex == ifindex ? 0 : -ENOENT;
}

/* omt_vm_counts summed over the CPUs. */
static int vm_counts_sum(int counts_fd, struct omt_vm_counts *sum)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, d, r;
	struct omt_vm_counts *per;
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (counts_fd < 0 || ncpu < 1)
		return -ENOENT;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(counts_fd, &zero, per) < 0) {
		free(per);
		return -errno;
	}
	for (cpu = 0; cpu < ncpu; cpu++) {
		for (d = 0; d < 2; d++) {
			for (r = 0; r < OMT_R__COUNT; r++) {
				sum->totals[d][r].packets += per[cpu].totals[d][r].packets;
				sum->totals[d][r].bytes += per[cpu].totals[d][r].bytes;
			}
			sum->tunnel[d].packets += per[cpu].tunnel[d].packets;
			sum->tunnel[d].bytes += per[cpu].tunnel[d].bytes;
		}
	}
	free(per);
	return 0;
}

int omt_guard_totals(int totals_fd, int vm_fd, int vm_counts_fd, __u32 ifindex,
		     struct omt_counter out[2][OMT_R__COUNT])
{
	struct omt_total_key k, next;
	struct omt_vm_counts sum;
	struct omt_counter c;
	struct omt_vm vm;
	int err;

	memset(out, 0, sizeof(struct omt_counter) * 2 * OMT_R__COUNT);
	if (vm_entry(vm_fd, ifindex, &vm) == 0 && vm_counts_sum(vm_counts_fd, &sum) == 0)
		memcpy(out, sum.totals, sizeof(sum.totals));
	if (totals_fd < 0)
		return 0;
	err = bpf_map_get_next_key(totals_fd, NULL, &k);
	while (!err) {
		if (k.ifindex == ifindex && k.direction <= OMT_DIR_TO_GUEST &&
		    k.reason < OMT_R__COUNT && bpf_map_lookup_elem(totals_fd, &k, &c) == 0) {
			out[k.direction][k.reason].packets += c.packets;
			out[k.direction][k.reason].bytes += c.bytes;
		}
		err = bpf_map_get_next_key(totals_fd, &k, &next);
		k = next;
	}
	return 0;
}

int omt_guard_tunnel_flow(int vm_fd, int vm_counts_fd, __u32 ifindex, int dir,
			  struct omt_flow_key *key, struct omt_counter *c)
{
	const struct omt_tunnel *t;
	struct omt_vm_counts sum;
	struct omt_vm vm;
	int err;

	if (dir != OMT_DIR_FROM_GUEST && dir != OMT_DIR_TO_GUEST)
		return -EINVAL;
	err = vm_entry(vm_fd, ifindex, &vm);
	if (err)
		return err;
	t = &vm.tunnel[dir];
	if (!t->set)
		return -ENOENT;
	err = vm_counts_sum(vm_counts_fd, &sum);
	if (err)
		return err;
	memset(key, 0, sizeof(*key));
	key->ifindex = ifindex;
	key->ethertype = 0x0800;
	key->proto = 17;	/* IPPROTO_UDP */
	key->direction = dir;
	key->reason = OMT_R_PASS;
	if (dir == OMT_DIR_FROM_GUEST) {
		memcpy(key->src_ip, t->ip, 4);
		key->src_port = t->port;
		memcpy(key->dst_ip, vm.policy.endpoint_ip, 4);
		key->dst_port = vm.policy.endpoint_port;
	} else {
		memcpy(key->src_ip, vm.policy.endpoint_ip, 4);
		key->src_port = vm.policy.endpoint_port;
		memcpy(key->dst_ip, t->ip, 4);
		key->dst_port = t->port;
	}
	*c = sum.tunnel[dir];
	return 0;
}

/* A pinned map of a job, or -1. */
static int open_job_pin(const char *job, const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s/%s", OMT_PIN_JOBS_DIR, job, name);
	return bpf_obj_get(path);
}

int omt_vm_totals_read(const char *job, struct omt_vm_totals *t)
{
	struct omt_counter all[2][OMT_R__COUNT];
	int fd, vm_fd, counts_fd, d, r, err;
	struct omt_vm vm;
	__u32 zero = 0;

	memset(t, 0, sizeof(*t));
	fd = open_job_pin(job, "omt_totals");
	if (fd < 0)
		return -errno;
	vm_fd = open_job_pin(job, "omt_vm");
	counts_fd = open_job_pin(job, "omt_vm_counts");
	/* A job's object guards one interface: omt_vm's, when it has one. */
	memset(&vm, 0, sizeof(vm));
	if (vm_fd >= 0)
		bpf_map_lookup_elem(vm_fd, &zero, &vm);
	err = 0;
	memset(all, 0, sizeof(all));
	if (vm.ifindex)
		err = omt_guard_totals(fd, vm_fd, counts_fd, vm.ifindex, all);
	else {
		/* No omt_vm (or not attached yet): every interface of omt_totals. */
		struct omt_total_key k, next;
		struct omt_counter c;
		int e = bpf_map_get_next_key(fd, NULL, &k);

		while (!e) {
			if (k.direction <= OMT_DIR_TO_GUEST && k.reason < OMT_R__COUNT &&
			    bpf_map_lookup_elem(fd, &k, &c) == 0) {
				all[k.direction][k.reason].packets += c.packets;
				all[k.direction][k.reason].bytes += c.bytes;
			}
			e = bpf_map_get_next_key(fd, &k, &next);
			k = next;
		}
	}
	for (d = 0; d < 2; d++) {
		for (r = 0; r < OMT_R__COUNT; r++) {
			struct omt_counter *dv = &t->dir_verdict[d][r != OMT_R_PASS];

			dv->packets += all[d][r].packets;
			dv->bytes += all[d][r].bytes;
			if (d == OMT_DIR_FROM_GUEST && r != OMT_R_PASS)
				t->reason[r] = all[d][r];
		}
	}
	if (counts_fd >= 0)
		close(counts_fd);
	if (vm_fd >= 0)
		close(vm_fd);
	close(fd);
	return err;
}
