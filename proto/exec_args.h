/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * exec's command line, its interface to whoever starts it (the daemon, an
 * operator): the options, their bounds, defaults and messages, and the
 * usage text, here only. The daemon builds an argv from the struct
 * (omt_exec_argv_new), exec parses it back (omt_exec_args_parse).
 *
 * The struct keeps apart the VM's shape (what its boot needs) and the job's
 * spec (what it runs, and how it reaches its consumer), so that a VM can
 * be shaped before its job is known.
 */
#ifndef OMERTA_EXEC_ARGS_H
#define OMERTA_EXEC_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "limits.h"
#include "owner_priority.h"
#include "vm_uids.h"
#include "workload.h"

/* The VM's shape. */
struct omt_vm_shape {
	enum omt_job_image image;	/* --image; DEFAULT: debian */
	unsigned int cpus;		/* --cpus */
	unsigned int memory_mib;	/* --memory */
	unsigned int scratch_mib;	/* --scratch; 0: half of memory_mib */
	const char *accel;		/* --accel: "auto", "kvm", "tcg" */
	unsigned int boot_timeout;	/* --boot-timeout, s */
};

/* The job's spec. */
struct omt_job_args {
	const char *vpn_config;		/* --vpn-config FILE (wg-quick), required */
	const char *script;		/* --script FILE, or NULL for command */
	enum omt_job_language language;	/* --language; DEFAULT: sh */
	char **command;			/* -- COMMAND [ARG...], NULL-terminated, or NULL */
	const char *env[OMT_EXEC_MAX_ENV];	/* --env NAME=VALUE */
	unsigned int n_env;
	const char *inputs[OMT_JOB_MAX_INPUTS];	/* --input FILE */
	unsigned int n_inputs;
	const char *output_dir;		/* --output DIR, or NULL */
	unsigned int output_max_mib;	/* --output-max: OMT_EXEC_MAX_OUTPUT_MIB */
	const char *description;	/* --description TEXT, "" */
	unsigned int timeout;		/* --timeout, s; 0: never */
	unsigned int vpn_timeout;	/* --vpn-timeout, s; 0: from the config's keepalive */
	unsigned int handshake_timeout;	/* --handshake-timeout, s */
	bool firewall;			/* --guest-firewall on|off */
};

struct omt_exec_args {
	struct omt_vm_shape vm;
	struct omt_job_args job;
	/* Who started exec, and how it tells them. */
	const char *job_id;		/* --job-id, or NULL: a random one */
	const char *result;		/* --result FILE (proto/exec_result.h), or NULL */
	const char *checkpoint;		/* --checkpoint FILE, or NULL: JOBDIR/checkpoint */
	int stdout_fd, stderr_fd;	/* --stdout-fd, --stderr-fd: 1, 2 */
	bool json;			/* --json: rogue events as JSON on stderr */
	/* The machine's owner first. */
	enum omt_owner_priority owner_priority;	/* --owner-priority: IDLE */
	unsigned int owner_idle;	/* --owner-idle, s */
	const char *owner_source;	/* --owner-source: "auto" */
	/* The host's. */
	struct omt_uid_range vm_uids;	/* --vm-uids: OMT_VM_UIDS_DEFAULT_* */
	/*
	 * --warm-fd: a warm VM. Only the shape (and --job-id, --vm-uids) is
	 * given; exec boots the VM until its agent waits, says "ready" on FD,
	 * then reads the job's own exec arguments from FD (NUL-terminated
	 * strings, argv[0] "omerta-loader" first, until EOF). EOF before any:
	 * no job, exec ends. -1: a cold start, the job on the command line.
	 */
	int warm_fd;
};

/* What a warm VM writes on --warm-fd once it waits for its job. */
#define OMT_WARM_READY "ready\n"
/* The most a job's arguments on --warm-fd may take. */
#define OMT_WARM_MAX_ARGS (256 << 10)

/* The defaults: what no option at all means. */
void omt_exec_args_init(struct omt_exec_args *a);
/*
 * Parses exec's argv (argv[0] is the verb, "exec"; getopt starts afresh)
 * into a, whose strings point into argv. It checks what exec needs of the
 * host too: that --stdout-fd and --stderr-fd are open, --output a
 * directory. 0; 1 for --help (the usage is on stdout); -EINVAL with the
 * message ("exec: --cpus must be a number from 1 to 64: 'lots'") on stderr.
 */
int omt_exec_args_parse(int argc, char **argv, struct omt_exec_args *a);
/*
 * The argv that runs a ("omerta-loader", "exec", options, then --script
 * FILE or -- COMMAND...), NULL-terminated, in one allocation: free() it;
 * its strings are a's own but for the numbers. Options at their default
 * are left out, but --cpus, --memory, --timeout and --description. 0 or
 * -ENOMEM.
 */
int omt_exec_argv_new(const struct omt_exec_args *a, char ***argv_out);
/*
 * Whether a job of shape job may take a warm VM of shape warm: the same
 * image, cpus, memory, scratch and accelerator (QEMU can't change them).
 */
bool omt_vm_shape_same(const struct omt_vm_shape *warm, const struct omt_vm_shape *job);

#endif
