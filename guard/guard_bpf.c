// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../lib/log.h"
#include "guard.skel.h"
#include "guard_bpf.h"

#define BPFFS "/sys/fs/bpf"

int omt_bpffs_ensure(void)
{
	struct statfs st;

	if (statfs(BPFFS, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", BPFFS, "bpf", 0, "mode=0700") < 0) {
		pr_err("mount bpffs on %s: %s", BPFFS, strerror(errno));
		return -errno;
	}
	pr_info("mounted bpffs on %s", BPFFS);
	return 0;
}

static int pin_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;
	char path[256];
	int err;

	/* dir may be a job's, under OMT_PIN_DIR/jobs/: make the parents too. */
	if (strncmp(dir, OMT_PIN_DIR "/", sizeof(OMT_PIN_DIR)) == 0) {
		mkdir(OMT_PIN_DIR, 0700);
		mkdir(OMT_PIN_DIR "/jobs", 0700);
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	bpf_object__for_each_map(map, obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		if (access(path, F_OK) == 0) {
			pr_err("%s is pinned already: another omerta-loader runs, or a "
			       "killed one left its guard in place; 'omerta-loader cleanup' "
			       "removes it", path);
			return -EEXIST;
		}
		err = bpf_map__pin(map, path);
		if (err)
			return err;
	}
	return 0;
}

static void unpin_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
		if (!bpf_map__is_internal(map) && bpf_map__is_pinned(map))
			bpf_map__unpin(map, NULL);
	rmdir(dir);
	/* The shared parents go with the last user (ENOTEMPTY before). */
	rmdir(OMT_PIN_DIR "/jobs");
	rmdir(OMT_PIN_DIR);
}

int omt_guard_load(struct guard_bpf **out, const char *pin_dir)
{
	struct guard_bpf *skel;
	int err;

	skel = guard_bpf__open();
	if (!skel)
		return -errno;
	err = guard_bpf__load(skel);
	if (err)
		goto fail;
	if (pin_dir) {
		err = pin_maps(skel->obj, pin_dir);
		if (err) {
			/* Leave what someone else pinned; remove only our pins. */
			struct bpf_map *map;

			bpf_object__for_each_map(map, skel->obj)
				if (bpf_map__is_pinned(map))
					bpf_map__unpin(map, NULL);
			goto fail;
		}
	}
	*out = skel;
	return 0;
fail:
	guard_bpf__destroy(skel);
	return err;
}

void omt_guard_unload(struct guard_bpf *skel, const char *pin_dir)
{
	if (!skel)
		return;
	if (pin_dir)
		unpin_maps(skel->obj, pin_dir);
	guard_bpf__destroy(skel);
}

int omt_guard_move_pins(struct guard_bpf *skel, const char *from, const char *to)
{
	char path[256];
	struct bpf_map *map;
	int err;

	if (rename(from, to) < 0)
		return -errno;
	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map) || !bpf_map__is_pinned(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", to, bpf_map__name(map));
		if ((err = bpf_map__set_pin_path(map, path)))
			return err;
	}
	return 0;
}

void omt_guard_maps_of(struct guard_bpf *skel, struct omt_guard_maps *maps)
{
	maps->policy = bpf_map__fd(skel->maps.omt_policy);
	maps->flows = bpf_map__fd(skel->maps.omt_flows);
	maps->totals = bpf_map__fd(skel->maps.omt_totals);
	maps->ratelimit = bpf_map__fd(skel->maps.omt_ratelimit);
	maps->vm = bpf_map__fd(skel->maps.omt_vm);
	maps->vm_counts = bpf_map__fd(skel->maps.omt_vm_counts);
}

/* omt_vm_counts back to zero on every CPU. */
static int vm_counts_clear(int fd)
{
	int ncpu = libbpf_num_possible_cpus(), err;
	__u32 zero = 0;
	void *z;

	if (fd < 0)
		return 0;
	if (ncpu < 1)
		return ncpu;
	z = calloc(ncpu, sizeof(struct omt_vm_counts));
	if (!z)
		return -ENOMEM;
	err = bpf_map_update_elem(fd, &zero, z, BPF_ANY) < 0 ? -errno : 0;
	free(z);
	return err;
}

/* omt_vm's entry, or a zeroed one (ifindex 0) when it can't be read. */
static void vm_read(int fd, struct omt_vm *vm)
{
	__u32 zero = 0;

	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, vm) < 0)
		memset(vm, 0, sizeof(*vm));
}

static int vm_write(int fd, const struct omt_vm *vm)
{
	__u32 zero = 0;

	return bpf_map_update_elem(fd, &zero, vm, BPF_ANY) < 0 ? -errno : 0;
}

static int prog_is_ours(__u32 id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd, ours;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return 0;
	ours = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	       strncmp(info.name, "omt_", 4) == 0;
	close(fd);
	return ours;
}

static int tc_hook_for(__u32 ifindex, enum bpf_tc_attach_point where,
		       struct bpf_tc_hook *hook)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = where;
	return 0;
}

static int tc_attach_one(__u32 ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = OMT_TC_HANDLE,
		    .priority = OMT_TC_PRIORITY, .prog_fd = prog_fd);

	tc_hook_for(ifindex, where, &hook);
	return bpf_tc_attach(&hook, &opts);
}

static int tc_detach_one(__u32 ifindex, enum bpf_tc_attach_point where)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = OMT_TC_HANDLE,
		    .priority = OMT_TC_PRIORITY);
	int err;

	tc_hook_for(ifindex, where, &hook);
	err = bpf_tc_query(&hook, &opts);
	if (err)
		return err == -ENOENT || err == -EINVAL || err == -ENODEV ? 0 : err;
	if (!prog_is_ours(opts.prog_id))
		return 0;
	opts.prog_id = 0;
	opts.prog_fd = 0;
	opts.flags = 0;
	return bpf_tc_detach(&hook, &opts);
}

static int xdp_detach(__u32 ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	__u32 id, flags;
	int err, fd;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err == -ENODEV ? 0 : err;
	if (q.attach_mode == XDP_ATTACHED_SKB) {
		id = q.skb_prog_id;
		flags = XDP_FLAGS_SKB_MODE;
	} else if (q.attach_mode == XDP_ATTACHED_DRV) {
		id = q.drv_prog_id;
		flags = XDP_FLAGS_DRV_MODE;
	} else {
		return 0;
	}
	if (!id || !prog_is_ours(id))
		return 0;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	a.old_prog_fd = fd;
	err = bpf_xdp_detach(ifindex, flags, &a);
	close(fd);
	return err;
}

/* Deletes every key whose first __u32 (or __u64 subject) is ifindex. */
static void delete_entries_of(int fd, size_t key_size, __u32 ifindex, int subject64)
{
	unsigned char cur[64], next[64];
	int err;

	if (fd < 0 || key_size > sizeof(cur))
		return;
	err = bpf_map_get_next_key(fd, NULL, cur);
	while (!err) {
		__u64 owner;

		err = bpf_map_get_next_key(fd, cur, next);
		if (subject64) {
			memcpy(&owner, cur, sizeof(owner));
		} else {
			__u32 o32;

			memcpy(&o32, cur, sizeof(o32));
			owner = o32;
		}
		if (owner == ifindex)
			bpf_map_delete_elem(fd, cur);
		memcpy(cur, next, key_size);
	}
}

int omt_guard_detach(const struct omt_guard_maps *maps, __u32 ifindex)
{
	struct omt_policy pol = {};
	int err, ret = 0, own_clsact;

	own_clsact = bpf_map_lookup_elem(maps->policy, &ifindex, &pol) == 0 &&
		     (pol.flags & OMT_POL_OWN_CLSACT);

	err = xdp_detach(ifindex);
	if (err) {
		pr_warn("ifindex %u: detach XDP: %s", ifindex, strerror(-err));
		ret = err;
	}
	err = tc_detach_one(ifindex, BPF_TC_INGRESS);
	if (!err)
		err = tc_detach_one(ifindex, BPF_TC_EGRESS);
	if (err) {
		pr_warn("ifindex %u: detach tc: %s", ifindex, strerror(-err));
		ret = err;
	}
	if (own_clsact) {
		struct bpf_tc_hook hook;

		tc_hook_for(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS, &hook);
		err = bpf_tc_hook_destroy(&hook);
		if (err && err != -ENOENT && err != -EINVAL && err != -ENODEV) {
			pr_warn("ifindex %u: remove clsact qdisc: %s", ifindex,
				strerror(-err));
			ret = err;
		}
	}

	bpf_map_delete_elem(maps->policy, &ifindex);
	if (maps->vm >= 0) {
		struct omt_vm vm;

		vm_read(maps->vm, &vm);
		if (vm.ifindex == ifindex) {
			memset(&vm, 0, sizeof(vm));
			vm_write(maps->vm, &vm);
			vm_counts_clear(maps->vm_counts);
		}
	}
	delete_entries_of(maps->flows, sizeof(struct omt_flow_key), ifindex, 0);
	delete_entries_of(maps->totals, sizeof(struct omt_total_key), ifindex, 0);
	delete_entries_of(maps->ratelimit, sizeof(struct omt_rl_key), ifindex, 1);
	return ret;
}

int omt_guard_attach(struct guard_bpf *skel, __u32 ifindex, int use_xdp,
		     struct omt_policy *pol)
{
	struct omt_policy closed = { .flags = OMT_POL_NO_JOB };
	struct omt_guard_maps maps;
	struct bpf_tc_hook hook;
	int err;

	if (!pol)
		pol = &closed;

	omt_guard_maps_of(skel, &maps);
	/* A fresh start for this ifindex: no stale counters or rate limits. */
	delete_entries_of(maps.flows, sizeof(struct omt_flow_key), ifindex, 0);
	delete_entries_of(maps.totals, sizeof(struct omt_total_key), ifindex, 0);
	delete_entries_of(maps.ratelimit, sizeof(struct omt_rl_key), ifindex, 1);

	tc_hook_for(ifindex, BPF_TC_INGRESS, &hook);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	pol->flags &= ~(OMT_POL_OWN_CLSACT | OMT_POL_HOOK_XDP);
	if (!err)
		pol->flags |= OMT_POL_OWN_CLSACT;
	if (use_xdp)
		pol->flags |= OMT_POL_HOOK_XDP;
	err = bpf_map_update_elem(maps.policy, &ifindex, pol, BPF_ANY);
	if (!err) {
		struct omt_vm vm;

		/* The object's first interface: its frames skip the hash maps. */
		vm_read(maps.vm, &vm);
		if (!vm.ifindex || vm.ifindex == ifindex) {
			err = vm_counts_clear(maps.vm_counts);
			memset(&vm, 0, sizeof(vm));
			vm.ifindex = ifindex;
			vm.policy = *pol;
			if (!err)
				err = vm_write(maps.vm, &vm);
			if (err)
				bpf_map_delete_elem(maps.policy, &ifindex);
		}
	}
	if (err) {
		if (pol->flags & OMT_POL_OWN_CLSACT) {
			tc_hook_for(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS, &hook);
			bpf_tc_hook_destroy(&hook);
		}
		return err;
	}

	if (use_xdp)
		err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.omt_xdp_from_vm),
				     XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	else
		err = tc_attach_one(ifindex, BPF_TC_INGRESS,
				    bpf_program__fd(skel->progs.omt_tc_from_vm));
	if (err) {
		pr_err("ifindex %u: attach %s: %s%s", ifindex, use_xdp ? "XDP" : "tc ingress",
		       strerror(-err),
		       err == -EEXIST || err == -EBUSY ?
			       " (another program is attached there)" : "");
		goto undo;
	}
	err = tc_attach_one(ifindex, BPF_TC_EGRESS, bpf_program__fd(skel->progs.omt_tc_to_vm));
	if (err) {
		pr_err("ifindex %u: attach tc egress: %s", ifindex, strerror(-err));
		goto undo;
	}
	return 0;
undo:
	omt_guard_detach(&maps, ifindex);
	return err;
}

/* libbpf's own messages, one level below their libbpf rank. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum omt_log_level l = level == LIBBPF_WARN ? OMT_LOG_WARN : OMT_LOG_DEBUG;

	/* Netlink's extended acks: the caller decides and reports what failed. */
	if (strstr(fmt, "Kernel error message"))
		l = OMT_LOG_DEBUG;

	omt_vlog(l, fmt, ap);
	return 0;
}


void omt_bpf_log_init(void)
{
	libbpf_set_print(libbpf_print);
}

int omt_guard_set_policy(struct guard_bpf *skel, __u32 ifindex, const struct omt_policy *pol)
{
	const __u16 kept = OMT_POL_OWN_CLSACT | OMT_POL_HOOK_XDP;
	struct omt_policy now, next = *pol;
	int fd = bpf_map__fd(skel->maps.omt_policy);
	int vm_fd = bpf_map__fd(skel->maps.omt_vm);
	struct omt_vm vm;
	int err;

	if (bpf_map_lookup_elem(fd, &ifindex, &now) < 0)
		return -errno;
	next.flags = (next.flags & ~(kept | OMT_POL_NO_JOB)) | (now.flags & kept);
	vm_read(vm_fd, &vm);
	if (vm.ifindex == ifindex) {
		/*
		 * An array entry is copied in place, not swapped: write the
		 * addresses while still closed, then open it with the flags.
		 */
		vm.policy = next;
		vm.policy.flags |= now.flags & OMT_POL_NO_JOB;
		err = vm_write(vm_fd, &vm);
		if (!err) {
			vm.policy.flags = next.flags;
			err = vm_write(vm_fd, &vm);
		}
		if (err)
			return err;
	}
	return bpf_map_update_elem(fd, &ifindex, &next, BPF_EXIST) < 0 ? -errno : 0;
}
