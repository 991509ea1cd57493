/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One exec job, shared by the files of exec/: what it was asked
 * (proto/exec_args.h), then its parts in the order they come to be: the
 * job's files read, the host's side set up (setup.c), the VM started
 * (vm.c), and while it runs (loop.c) its link to the agent (agent.c), the
 * watchdogs (watchdog.c), the owner (owner.c) and the control socket
 * (control.c); in the end, what happened (result.c).
 */
#ifndef OMERTA_EXEC_JOB_H
#define OMERTA_EXEC_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "../host/jobdir.h"
#include "../host/vmnet.h"
#include "../proto/exec_args.h"
#include "../proto/exec_result.h"
#include "../proto/guest_msg.h"
#include "../proto/outcome.h"
#include "../vmctl/cgroup.h"
#include "../vmctl/initrd.h"
#include "../vmctl/qemu.h"
#include "../vmctl/qmp.h"
#include "../vpn/wgconf.h"

struct bpf_link;
struct cgroup_bpf;
struct guard_bpf;
struct omt_outfiles;
struct omt_owner;
struct ring_buffer;

/* The VM: running, its vCPUs stopped (QMP stop), or saved to a file and gone. */
enum vm_state { VM_RUNNING, VM_PAUSED, VM_SAVED };

/* The job's files, read before anything is set up, until the initramfs holds them. */
struct job_files {
	struct omt_wgconf wg;		/* the VM's tunnel, parsed: kept for the whole job */
	char *wg_text;			/* ... and as the guest gets it */
	size_t wg_len;
	char *script;			/* --script's, or NULL */
	size_t script_len;
	/* The inputs as initramfs entries: the directory, then each file. */
	struct omt_initrd_file inputs[1 + OMT_JOB_MAX_INPUTS];
	char *input_data[OMT_JOB_MAX_INPUTS], *input_names[OMT_JOB_MAX_INPUTS];
	int n_inputs;			/* entries in inputs */
};

/* The cgroup guard's programs (bpf/cgroup.bpf.c), each attached to the job's cgroup. */
#define OMT_CG_PROGS 6

/* The host's side of the job: its directory, cgroup, guards, tap, socket. */
struct job_host {
	char id[OMT_JOB_ID_LEN + 1], dir[300], pin_dir[128];
	char checkpoint[400];		/* --checkpoint, or dir's "checkpoint" */
	const char *image_dir;
	struct omt_cgroup cg;
	uint64_t cgroup_id;
	struct guard_bpf *guard;
	struct cgroup_bpf *cgguard;
	struct bpf_link *cg_links[OMT_CG_PROGS];
	struct ring_buffer *rb;		/* both guards' rogue events */
	struct omt_vmnet net;
	int ctl_fd;
	int owner_fd;			/* the job directory's lock (omt_jobdir_hold) */
	int vm_uid_fd;			/* the lock on QEMU's uid (host/vmuid.h) */
};

/* The VM: what it boots from, and its QEMU. */
struct job_vm {
	const char *accel;		/* "kvm" or "tcg" */
	uid_t uid;			/* QEMU's uid, of --vm-uids; its gid the same */
	gid_t gid;
	int kernel_fd, initrd_fd, image_fd, console_fd;	/* image_fd: the debian disk, or -1 */
	char image_sha256[65];
	char jail[320];			/* JOBDIR/jail: QEMU's root (vmctl/qemu.h) */
	struct omt_vm_spec spec;	/* how QEMU was started: a restore starts it the same way */
	pid_t qemu;
	int pidfd, agent_fd, qmp_fd;
	struct omt_qmp qmp;
	enum vm_state state;
	unsigned int checkpoints, restores;
	int64_t stopped_since_ns, stopped_total_ns;
};

/* What the agent says, line by line. */
struct job_link {
	char buf[OMT_MSG_MAX_LINE + 1];
	size_t len;
	struct omt_msg msg;
	bool heard;			/* anything at all */
	enum omt_stage stage;		/* the last it reported */
};

/* The workload's /job/output, into --output. */
struct job_output {
	struct omt_outfiles *files;	/* NULL without --output */
	bool done;
	char error[OMT_EXEC_RESULT_MAX_ERROR + 1];	/* "" when none */
};

/* The machine's owner, unless --owner-priority idle. */
struct job_owner {
	struct omt_owner *watch;
	bool active, stopped_for;	/* the VM is stopped because of them */
	int64_t resume_at_ns;		/* they went idle: the VM goes on then */
};

/* When things happened (CLOCK_MONOTONIC ns; 0: not yet). */
struct job_clock {
	int64_t loader_start_ns, start_ns, kill_ns, event_ns, workload_ns, rogue_kill_ns;
	int64_t vpn_seen_ns;		/* the endpoint last heard from */
	uint64_t vpn_rx_packets;	/* ... as the guard counted it */
	int64_t mono_to_real_ns;
};

/* What happened. */
struct job_end {
	enum omt_outcome outcome;
	int interrupted_by;		/* the signal, for INTERRUPTED */
	bool have_exit, guest_error;
	int exit_status, exit_signal;
	unsigned int rogue_events;
	uint64_t output_bytes, tunnel_bytes_in, tunnel_bytes_out;
};

/* A warm VM (--warm-fd): booted before its job, which then comes on warm_fd. */
struct job_warm {
	char id[OMT_JOB_ID_LEN + 1];	/* what the VM was set up under: its cgroup, QEMU, tap */
	char *args;			/* the job's arguments as read; args.* point into it */
	char **argv;
	bool ready;			/* the agent waits: "ready" said on warm_fd */
	int64_t ready_ns;
};

struct job {
	struct omt_exec_args args;
	struct job_warm warm;		/* unused for a cold start */
	const sigset_t *sigmask;	/* the signals exec_main blocked */
	struct job_files files;
	struct job_host host;
	struct job_vm vm;
	struct job_link link;
	struct job_output output;
	struct job_owner owner;
	struct job_clock t;
	struct job_end end;
	unsigned int n_up;		/* set-up steps begun (setup.c) */
	int ep;				/* the loop's epoll */
	bool ended;			/* the VM is gone for good: the loop ends */
};

/* setup.c: every resource in order, and back. */
int job_setup(struct job *j, char *err, size_t errlen);
void job_teardown(struct job *j);

/*
 * warm.c: a warm VM's steps (setup.c runs them). warm_wait returns
 * -ECANCELED for no job (EOF on warm_fd before any), and ends the VM on
 * anything else that goes wrong before the job came. The job's arguments
 * it reads are what j->args points into, to the end: warm_free last.
 */
int warm_wait(struct job *j, char *err, size_t errlen);
void warm_free(struct job *j);
int warm_take_id(struct job *j, char *err, size_t errlen);
int warm_send_job(struct job *j, char *err, size_t errlen);

/* jobfiles.c: each read 0 or -errno with err set, each undone by the next. */
int jobfiles_read_vpn_config(struct job *j, char *err, size_t errlen);
void jobfiles_forget_vpn_config(struct job *j);	/* its text wiped */
int jobfiles_read_script(struct job *j, char *err, size_t errlen);
void jobfiles_free_script(struct job *j);
int jobfiles_read_inputs(struct job *j, char *err, size_t errlen);
void jobfiles_free_inputs(struct job *j);
/*
 * job.json, wg0.conf, the script and the inputs after the base image, as
 * j->vm.initrd_fd; then all read but the parsed WireGuard config is let go.
 */
int jobfiles_build_initrd(struct job *j, char *err, size_t errlen);
/* A warm VM's: the base image alone, as j->vm.initrd_fd. */
int jobfiles_base_initrd(struct job *j, char *err, size_t errlen);
/* The same files as jobfiles_build_initrd, as a newc archive alone (a sealed memfd). */
int jobfiles_segment(struct job *j, int *fd, char *err, size_t errlen);

/* image.c: opens the --image's root filesystem and logs its hash. */
int image_open(struct job *j, char *err, size_t errlen);

/* vm.c */
int vm_spawn(struct job *j, char *err, size_t errlen);
void vm_kill(struct job *j, enum omt_outcome why);
int vm_pause(struct job *j, char *msg, size_t len);
int vm_checkpoint(struct job *j, char *msg, size_t len);
int vm_restore(struct job *j, char *msg, size_t len);
int vm_resume(struct job *j, char *msg, size_t len);

/* agent.c: reads what the agent says, and acts on it. */
void on_agent(struct job *j);

/* watchdog.c */
int on_rogue(void *job, void *data, size_t size);
void on_tick(struct job *j);

/* owner.c */
int owner_open(struct job *j, char *err, size_t errlen);
void on_owner(struct job *j);
void owner_tick(struct job *j);

/* control.c */
void on_control(struct job *j);

/* loop.c */
/* A signal read from sfd (a signalfd): the VM stops, the job interrupted. */
void on_signal(struct job *j, int sfd);
void watch(struct job *j, int fd);
void unwatch_close(struct job *j, int *fd);
int job_run(struct job *j, const sigset_t *mask);

/* result.c */
void job_count_guard(struct job *j);
int job_exit_code(const struct job *j);
void job_write_result(const struct job *j, int code);
void job_log_console_tail(const struct job *j);

#endif
