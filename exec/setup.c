// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A job's set-up as one ordered list of steps, each with its undo; the
 * teardown walks back from the last step begun, so every way out undoes
 * exactly what was done. A step's undo copes with its step having failed
 * half-way.
 *
 * The order: first what is only read and checked (the job's files, the
 * host's prerequisites), so that a refused job leaves nothing behind; then
 * the VM's shape, what its boot needs whatever the job (its directory,
 * image, cgroup, guards, console, control socket, tap); then the job's
 * spec (its output, its tunnel's NAT and guard policy, its files in the
 * initramfs); then the VM. The initramfs (job.json) is the one part of
 * the boot that still comes from the spec: a warm VM (warm_steps) boots
 * without it and gets the same files over its agent's channel.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../guard/guard_bpf.h"
#include "../host/control.h"
#include "../host/vmuid.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../owner/activity.h"
#include "cgroup.skel.h"
#include "guard.skel.h"
#include "job.h"
#include "outfiles.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ------------------------------------------------ read and checked first */

/*
 * The endpoint rules no policy opens (proto/endpoint.h), against this
 * host's addresses as they are now: the daemon checked them at admission,
 * but exec is also run by hand, and addresses change. (Private ranges are
 * the daemon's policy's to allow: exec has none.)
 */
static int check_endpoint(struct job *j, char *err, size_t errlen)
{
	struct omt_host_addrs host;
	char why[128];
	int e;

	if ((e = omt_vmnet_host_addrs(&host, err, errlen)))
		return e;
	e = omt_endpoint_check_host(j->files.wg.endpoint_ip, &host, why, sizeof(why));
	omt_host_addrs_free(&host);
	if (e)
		snprintf(err, errlen, "%s: refused: %s", j->args.job.vpn_config, why);
	return e;
}

static int choose_accel(struct job *j, char *err, size_t errlen)
{
	char why[200];
	int e = omt_accel_choose(j->args.vm.accel, &j->vm.accel, why, sizeof(why));

	if (e) {
		snprintf(err, errlen, "--accel %s: %s", j->args.vm.accel, why);
		return e;
	}
	pr_info("accelerator: %s (%s)", j->vm.accel, why);
	return 0;
}

/*
 * QEMU's uid and gid: one of --vm-uids that no other live VM on the host
 * has (host/vmuid.h), held until the job is gone. All taken: the job
 * waits for one (a daemon keeps its jobs queued instead), until a signal.
 */
static int take_vm_uid(struct job *j, char *err, size_t errlen)
{
	const struct omt_uid_range *r = &j->args.vm_uids;
	char why[200];
	sigset_t pending;
	int fd, said = 0;

	if ((fd = omt_vm_uid_check_unowned(r, why, sizeof(why)))) {
		snprintf(err, errlen, "--vm-uids %u-%u: %s; the range must own nothing on the host",
			 r->first, r->last, why);
		return fd;
	}
	while ((fd = omt_vm_uid_take(r, &j->vm.uid, err, errlen)) == -EAGAIN) {
		if (!said++)
			pr_info("every uid of --vm-uids %u-%u is taken: waiting for one", r->first,
				r->last);
		sigpending(&pending);
		if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
		    sigismember(&pending, SIGHUP)) {
			snprintf(err, errlen, "interrupted while waiting for a free uid of "
					      "--vm-uids %u-%u", r->first, r->last);
			return -EINTR;
		}
		usleep(200 * 1000);
	}
	if (fd < 0)
		return fd;
	j->vm.gid = j->vm.uid;
	j->host.vm_uid_fd = fd;
	pr_debug("job: QEMU's uid and gid %u", (unsigned)j->vm.uid);
	return 0;
}

static void give_back_vm_uid(struct job *j)
{
	close_fd(&j->host.vm_uid_fd);
}

static int check_forwarding(struct job *j, char *err, size_t errlen)
{
	(void)j;
	return omt_vmnet_check(err, errlen);
}

static int load_kernel(struct job *j, char *err, size_t errlen)
{
	char path[512];
	int e;

	snprintf(path, sizeof(path), "%s/vmlinuz", j->host.image_dir);
	if ((e = omt_memfd_from_file(path, "omerta-kernel", &j->vm.kernel_fd)))
		snprintf(err, errlen, "guest kernel %s: %s (build it with 'make')", path,
			 strerror(-e));
	return e;
}

static void close_kernel(struct job *j)
{
	close_fd(&j->vm.kernel_fd);
}

/* ------------------------------------------------------- the VM's shape */

static int make_jobdir(struct job *j, char *err, size_t errlen)
{
	const char *desc = j->args.job.description;
	struct job_host *h = &j->host;
	int e;

	omt_jobdir_reap_stale();
	if ((e = omt_jobdir_create(j->args.job_id, h->id, h->dir, sizeof(h->dir))) ||
	    (e = h->owner_fd = omt_jobdir_hold(h->dir)) < 0 ||
	    (e = omt_jobdir_write_pid(h->dir, "loader.pid", getpid()))) {
		snprintf(err, errlen, "job directory under %s: %s", OMT_JOBS_DIR, strerror(-e));
		return e;
	}
	if (j->args.checkpoint)
		snprintf(h->checkpoint, sizeof(h->checkpoint), "%s", j->args.checkpoint);
	else
		snprintf(h->checkpoint, sizeof(h->checkpoint), "%s/checkpoint", h->dir);
	omt_jobdir_write_text(h->dir, "description", desc);
	/* Its id made here when none was given (exec_main set a given one). */
	if (j->args.warm_fd < 0)
		omt_log_set_job(h->id);
	pr_info("job %s: %s%s%s", h->id, desc[0] ? "\"" : "", desc,
		desc[0] ? "\"" : "(no description)");
	return 0;
}

static void remove_jobdir(struct job *j)
{
	/* A checkpoint goes with its job, wherever --checkpoint put it. */
	if (j->host.checkpoint[0] && unlink(j->host.checkpoint) < 0 && errno != ENOENT)
		pr_warn("job %s: %s: %s", j->host.id, j->host.checkpoint, strerror(errno));
	if (j->host.dir[0])
		omt_jobdir_remove(j->host.dir);
	close_fd(&j->host.owner_fd);
}

static void close_image(struct job *j)
{
	close_fd(&j->vm.image_fd);
}

static int make_cgroup(struct job *j, char *err, size_t errlen)
{
	const struct omt_vm_shape *vm = &j->args.vm;

	return omt_cgroup_create(&j->host.cg, j->host.id, vm->cpus * 1000,
				 (uint64_t)(vm->memory_mib + 128) << 20, err, errlen);
}

static void remove_cgroup(struct job *j)
{
	if (j->host.cg.n_dirs && omt_cgroup_destroy(&j->host.cg))
		pr_warn("job %s: cgroup not removed: %s", j->host.id, strerror(errno));
}

/* Pinned while the job runs: bpftool and the daemon's metrics read them. */
static int load_guard(struct job *j, char *err, size_t errlen)
{
	struct job_host *h = &j->host;
	int e;

	snprintf(h->pin_dir, sizeof(h->pin_dir), "%s/%s", OMT_PIN_JOBS_DIR, h->id);
	if ((e = omt_bpffs_ensure()) || (e = omt_guard_load(&h->guard, h->pin_dir))) {
		snprintf(err, errlen, "load the guard: %s", strerror(-e));
		h->pin_dir[0] = '\0';
	}
	return e;
}

static void unload_guard(struct job *j)
{
	omt_guard_unload(j->host.guard, j->host.pin_dir[0] ? j->host.pin_dir : NULL);
}

static int attach_cgroup_guard(struct job *j, char *err, size_t errlen)
{
	struct job_host *h = &j->host;
	struct bpf_program *progs[OMT_CG_PROGS];
	struct stat st;
	int i, e = 0;

	h->cgguard = cgroup_bpf__open_and_load();
	if (!h->cgguard) {
		e = -errno;
		goto fail;
	}
	progs[0] = h->cgguard->progs.omt_cg_skb;
	progs[1] = h->cgguard->progs.omt_cg_connect4;
	progs[2] = h->cgguard->progs.omt_cg_sendmsg4;
	progs[3] = h->cgguard->progs.omt_cg_connect6;
	progs[4] = h->cgguard->progs.omt_cg_sendmsg6;
	progs[5] = h->cgguard->progs.omt_cg_sock_create;
	if (fstat(h->cg.v2_fd, &st) < 0) {
		e = -errno;
		goto fail;
	}
	h->cgroup_id = st.st_ino;
	for (i = 0; i < OMT_CG_PROGS; i++) {
		h->cg_links[i] = bpf_program__attach_cgroup(progs[i], h->cg.v2_fd);
		if (!h->cg_links[i]) {
			e = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "the cgroup guard on %s: %s", h->cg.v2, strerror(-e));
	return e;
}

static void detach_cgroup_guard(struct job *j)
{
	int i;

	for (i = 0; i < OMT_CG_PROGS; i++)
		bpf_link__destroy(j->host.cg_links[i]);
	cgroup_bpf__destroy(j->host.cgguard);
}

static int open_console(struct job *j, char *err, size_t errlen)
{
	char path[400];
	int e;

	snprintf(path, sizeof(path), "%s/console.log", j->host.dir);
	j->vm.console_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (j->vm.console_fd < 0) {
		e = -errno;
		snprintf(err, errlen, "console log %s: %s", path, strerror(errno));
		return e;
	}
	return 0;
}

static void close_console(struct job *j)
{
	close_fd(&j->vm.console_fd);
}

static int listen_control(struct job *j, char *err, size_t errlen)
{
	int e;

	j->host.ctl_fd = omt_control_listen(j->host.dir);
	if (j->host.ctl_fd < 0) {
		e = j->host.ctl_fd;
		snprintf(err, errlen, "control socket in %s: %s", j->host.dir, strerror(-e));
		return e;
	}
	return 0;
}

static void close_control(struct job *j)
{
	close_fd(&j->host.ctl_fd);
}

static int bring_up_tap(struct job *j, char *err, size_t errlen)
{
	int e = omt_vmnet_tap_up(&j->host.net, j->host.id, err, errlen);

	/* cleanup leaves the guard of a tap a live job records. */
	if (!e && (e = omt_jobdir_write_text(j->host.dir, "tap", j->host.net.tap)))
		snprintf(err, errlen, "%s/tap: %s", j->host.dir, strerror(-e));
	return e;
}

static void take_down_tap(struct job *j)
{
	omt_vmnet_down(&j->host.net);
}

/* ------------------------------------------------------- the job's spec */

_Static_assert((uint64_t)OMT_EXEC_MAX_OUTPUT_MIB << 20 == OMT_OUT_MAX_BYTES,
	       "--output-max's bound is what the guest sends at most");

static int open_output(struct job *j, char *err, size_t errlen)
{
	if (!j->args.job.output_dir)
		return 0;
	j->output.files = omt_outfiles_new(j->args.job.output_dir,
					   (uint64_t)j->args.job.output_max_mib << 20,
					   OMT_OUT_MAX_FILES, err, errlen);
	return j->output.files ? 0 : -EINVAL;
}

static void close_output(struct job *j)
{
	omt_outfiles_free(j->output.files);
	j->output.files = NULL;
}

static int set_up_nat(struct job *j, char *err, size_t errlen)
{
	return omt_vmnet_nat_up(&j->host.net, j->host.id, j->files.wg.endpoint_ip,
				j->files.wg.endpoint_port, err, errlen);
}

static void remove_nat(struct job *j)
{
	omt_vmnet_nat_down(&j->host.net);
}

/* The tap's policy: the VM's address, its gateway, and its tunnel's endpoint only. */
static void job_policy(const struct job *j, struct omt_policy *pol)
{
	const struct job_host *h = &j->host;

	*pol = (struct omt_policy){ .flags = OMT_POL_PEER_IP | OMT_POL_GATEWAY_IP };
	memcpy(pol->endpoint_ip, j->files.wg.endpoint_ip, 4);
	pol->endpoint_port = j->files.wg.endpoint_port;
	memcpy(pol->peer_ip, h->net.vm, 4);
	memcpy(pol->gateway_ip, h->net.gateway, 4);
}

/* pol NULL: a warm VM's tap, nothing let through until its job's policy. */
static int attach(struct job *j, struct omt_policy *pol, char *err, size_t errlen)
{
	struct job_host *h = &j->host;
	int e;

	/* XDP on a tap: measured cheapest there (docs/benchmarks.md). */
	if ((e = omt_guard_attach(h->guard, h->net.ifindex, 1, pol)))
		snprintf(err, errlen, "attach the guard to %s: %s", h->net.tap, strerror(-e));
	return e;
}

static int attach_guard(struct job *j, char *err, size_t errlen)
{
	struct omt_policy pol;

	job_policy(j, &pol);
	return attach(j, &pol, err, errlen);
}

static int attach_guard_closed(struct job *j, char *err, size_t errlen)
{
	return attach(j, NULL, err, errlen);
}

/* A warm VM's job is known: its policy, in one map update. */
static int open_guard(struct job *j, char *err, size_t errlen)
{
	struct omt_policy pol;
	int e;

	job_policy(j, &pol);
	if ((e = omt_guard_set_policy(j->host.guard, j->host.net.ifindex, &pol)))
		snprintf(err, errlen, "the guard's policy on %s: %s", j->host.net.tap,
			 strerror(-e));
	return e;
}

static void detach_guard(struct job *j)
{
	struct omt_guard_maps maps;

	if (!j->host.guard || !j->host.net.ifindex)
		return;
	job_count_guard(j);
	omt_guard_maps_of(j->host.guard, &maps);
	omt_guard_detach(&maps, j->host.net.ifindex);
}

static int open_events(struct job *j, char *err, size_t errlen)
{
	struct job_host *h = &j->host;
	int e;

	h->rb = ring_buffer__new(bpf_map__fd(h->guard->maps.omt_events), on_rogue, j, NULL);
	if (!h->rb || ring_buffer__add(h->rb, bpf_map__fd(h->cgguard->maps.omt_cg_events),
				       on_rogue, j)) {
		e = -errno;
		snprintf(err, errlen, "ring buffer: %s", strerror(errno));
		return e;
	}
	return 0;
}

static void close_events(struct job *j)
{
	ring_buffer__free(j->host.rb);
	j->host.rb = NULL;
}

static void close_initrd(struct job *j)
{
	close_fd(&j->vm.initrd_fd);
}

/* ------------------------------------------------------------------ the VM */

static int start_vm(struct job *j, char *err, size_t errlen)
{
	struct job_vm *vm = &j->vm;
	int e;

	vm->spec = (struct omt_vm_spec){
		.name = j->host.id, .accel = vm->accel, .cpus = j->args.vm.cpus,
		.memory_mib = j->args.vm.memory_mib, .kernel_fd = vm->kernel_fd,
		.initrd_fd = vm->initrd_fd, .tap_fd = j->host.net.tap_fd,
		.console_fd = vm->console_fd, .uid = vm->uid, .gid = vm->gid, .cg = &j->host.cg,
		.disk_fd = vm->image_fd, .jail = vm->jail,
		.mac = { 0x52, 0x54, 0x00 },
	};
	/* The jail's root is mounted on it in QEMU's own mount namespace only. */
	snprintf(vm->jail, sizeof(vm->jail), "%s/jail", j->host.dir);
	if (mkdir(vm->jail, 0700) < 0) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", vm->jail, strerror(errno));
		return e;
	}
	if (strcmp(vm->accel, "kvm") == 0) {
		struct group *kvm = getgrnam("kvm");

		vm->spec.kvm_gid = kvm ? kvm->gr_gid : 0;
	} else {
		vm->spec.tsc_khz = omt_host_tsc_khz();
	}
	if (getrandom(vm->spec.mac + 3, 3, 0) != 3) {
		e = -errno;
		snprintf(err, errlen, "the VM's MAC address: getrandom: %s", strerror(errno));
		return e;
	}
	j->t.start_ns = omt_mono_ns();
	if ((e = vm_spawn(j, err, errlen)))
		return e;
	pr_debug("job %s: QEMU %d started, %.3f s after the loader", j->host.id, (int)vm->qemu,
		 (omt_mono_ns() - j->t.loader_start_ns) / 1e9);
	return 0;
}

static void stop_vm(struct job *j)
{
	struct job_vm *vm = &j->vm;

	if (vm->qemu > 0) {
		kill(vm->qemu, SIGKILL);
		while (waitpid(vm->qemu, NULL, 0) < 0 && errno == EINTR)
			;
		vm->qemu = 0;
	}
	/* QEMU is dead: its tap goes now, while the guard is still on it. */
	omt_vmnet_tap_remove(&j->host.net);
	close_fd(&vm->pidfd);
	close_fd(&vm->agent_fd);
	close_fd(&vm->qmp_fd);
}

static void close_owner(struct job *j)
{
	omt_owner_close(j->owner.watch);
	j->owner.watch = NULL;
}

/* What the host needs and what the VM's shape needs, whatever the job: both lists. */
#define HOST_AND_SHAPE_STEPS \
	{ choose_accel, NULL }, \
	{ take_vm_uid, give_back_vm_uid }, \
	{ check_forwarding, NULL }, \
	{ load_kernel, close_kernel }, \
	{ make_jobdir, remove_jobdir }, \
	{ image_open, close_image }, \
	{ make_cgroup, remove_cgroup }, \
	{ load_guard, unload_guard }, \
	{ attach_cgroup_guard, detach_cgroup_guard }, \
	{ open_console, close_console }, \
	{ listen_control, close_control }, \
	{ bring_up_tap, take_down_tap }

static const struct step {
	int (*up)(struct job *j, char *err, size_t errlen);
	void (*down)(struct job *j);
} steps[] = {
	{ jobfiles_read_vpn_config, jobfiles_forget_vpn_config },
	{ check_endpoint, NULL },
	{ jobfiles_read_script, jobfiles_free_script },
	{ jobfiles_read_inputs, jobfiles_free_inputs },
	HOST_AND_SHAPE_STEPS,

	{ open_output, close_output },
	{ set_up_nat, remove_nat },
	{ attach_guard, detach_guard },
	{ open_events, close_events },
	{ jobfiles_build_initrd, close_initrd },

	{ start_vm, stop_vm },
	{ owner_open, close_owner },
};

/*
 * A warm VM: its shape first, as far as its agent waiting for a job
 * (warm.c), with a guard that lets nothing through; then the job's spec,
 * in the same order as above, and its files over the agent's channel.
 */
static const struct step warm_steps[] = {
	HOST_AND_SHAPE_STEPS,
	{ attach_guard_closed, detach_guard },
	{ open_events, close_events },
	{ jobfiles_base_initrd, close_initrd },
	{ start_vm, stop_vm },

	{ warm_wait, NULL },	/* its arguments outlive the teardown: exec_main frees them */
	{ warm_take_id, NULL },
	{ jobfiles_read_vpn_config, jobfiles_forget_vpn_config },
	{ check_endpoint, NULL },
	{ jobfiles_read_script, jobfiles_free_script },
	{ jobfiles_read_inputs, jobfiles_free_inputs },
	{ open_output, close_output },
	{ set_up_nat, remove_nat },
	{ open_guard, NULL },
	{ warm_send_job, NULL },
	{ owner_open, close_owner },
};

#define N_STEPS(list) (sizeof(list) / sizeof((list)[0]))

int job_setup(struct job *j, char *err, size_t errlen)
{
	const struct step *list = j->args.warm_fd >= 0 ? warm_steps : steps;
	size_t n = j->args.warm_fd >= 0 ? N_STEPS(warm_steps) : N_STEPS(steps);
	int e;

	for (j->n_up = 0; j->n_up < n;)
		if ((e = list[j->n_up++].up(j, err, errlen)))
			return e;
	return 0;
}

void job_teardown(struct job *j)
{
	const struct step *list = j->args.warm_fd >= 0 ? warm_steps : steps;

	while (j->n_up > 0)
		if (list[--j->n_up].down)
			list[j->n_up].down(j);
}
