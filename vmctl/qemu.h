/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Starting a job's QEMU microvm: accelerator choice, argv (no shell), and a
 * child in a jail of its own: new mount, PID, IPC, UTS and network
 * namespaces (the tap's fd works from any; nothing else of the host's
 * network is in reach, abstract UNIX sockets and netlink included), its
 * root a read-only tmpfs holding only what QEMU loads (its binary, the
 * libraries, its firmware, /dev/null, /dev/urandom, /dev/kvm under KVM)
 * and a /proc of its own PID namespace, where it is PID 1. The child joins
 * the job's cgroup, takes its limits (open files, threads, no core, no
 * file over 1 MiB), drops to the VM's own uid and gid, arms
 * PR_SET_PDEATHSIG, sets no_new_privs and execs QEMU under -sandbox with
 * an empty environment and nothing but the file descriptors it is handed.
 */
#ifndef OMERTA_QEMU_H
#define OMERTA_QEMU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"

#define OMT_QEMU_BIN "qemu-system-x86_64"
/* What QEMU may have open at once, and its threads (vCPUs, I/O workers: up to 64). */
#define OMT_QEMU_MAX_FILES 256
#define OMT_QEMU_MAX_THREADS(cpus) (128 + (cpus))

/*
 * want: "auto", "kvm" or "tcg". Sets *accel to "kvm" or "tcg" and why to
 * the reason. -ENODEV (with why) when "kvm" is asked for and can't work.
 */
int omt_accel_choose(const char *want, const char **accel, char *why, size_t whylen);

/*
 * The host's TSC rate in kHz, measured against CLOCK_MONOTONIC (0 where
 * there is no TSC). Under TCG the guest's TSC is the host's: telling the
 * guest kernel its rate (tsc_early_khz=) spares it calibrating against the
 * emulated PIT, which fails on a loaded host, and then the boot hangs
 * ("tsc: Unable to calibrate against PIT"; seen in ~1 of 40 boots here, in
 * nearly all under full CPU load).
 */
unsigned long omt_host_tsc_khz(void);

struct omt_vm_spec {
	const char *name;		/* job id */
	const char *accel;		/* "kvm" | "tcg" */
	unsigned int cpus;
	unsigned int memory_mib;
	int kernel_fd, initrd_fd;	/* readable files (memfds) */
	int disk_fd;			/* a read-only virtio-blk disk (the image), or -1 */
	int tap_fd;
	int agent_fd;			/* connected socket: virtio-serial port omerta.0 */
	int qmp_fd;			/* connected socket: QMP */
	int console_fd;			/* QEMU's stdout/stderr: the serial console */
	uint8_t mac[6];
	unsigned long tsc_khz;		/* TCG: the host's TSC rate; 0: let the guest calibrate */
	uid_t uid;			/* the VM's own (host/vmuid.h) */
	gid_t gid;
	gid_t kvm_gid;			/* supplementary group for /dev/kvm; 0: none */
	const char *jail;		/* an empty directory: the jail's root is mounted on it */
	const struct omt_cgroup *cg;
	int incoming;			/* start paused, waiting for migrate-incoming (a restore) */
};


/*
 * Starts QEMU in its jail. On success *pid (in our PID namespace) and
 * *pidfd are set.
 * Failures in the child before exec come back as -errno with err set.
 */
int omt_qemu_spawn(const struct omt_vm_spec *s, pid_t *pid, int *pidfd, char *err,
		   size_t errlen);

#endif
