/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A job's bounds and defaults, in one place: what a consumer may ask of
 * the API (api/job.h), what exec takes from its operator (its options), and
 * what the policy may narrow further. Where the two differ, OMT_JOB_* is
 * the consumer's and OMT_EXEC_* exec's own.
 */
#ifndef OMERTA_LIMITS_H
#define OMERTA_LIMITS_H

/* The VM's shape. */
#define OMT_JOB_MIN_CPUS 1
#define OMT_JOB_MAX_CPUS 64
#define OMT_JOB_DEFAULT_CPUS 1
#define OMT_JOB_MIN_MEMORY_MIB 64
#define OMT_JOB_MAX_MEMORY_MIB 65536
#define OMT_JOB_DEFAULT_MEMORY_MIB 256
/* Its writable space, in its memory: at most (and by default) half of it. */
#define OMT_EXEC_MIN_SCRATCH_MIB 16
#define OMT_EXEC_MAX_SCRATCH_MIB 65536

/* How long it may take. exec's --timeout 0 is "never"; a consumer's is 1 or more. */
#define OMT_JOB_MIN_TIMEOUT_S 1
#define OMT_JOB_MAX_TIMEOUT_S 604800
#define OMT_JOB_DEFAULT_TIMEOUT_S 600
#define OMT_EXEC_MAX_VPN_TIMEOUT_S 86400	/* the default comes from the keepalive */
#define OMT_EXEC_MAX_HANDSHAKE_TIMEOUT_S 600
#define OMT_EXEC_DEFAULT_HANDSHAKE_TIMEOUT_S 10
#define OMT_EXEC_MAX_BOOT_TIMEOUT_S 3600
#define OMT_EXEC_DEFAULT_BOOT_TIMEOUT_S 60
/* The owner idle this long, a VM stopped for them goes on. */
#define OMT_OWNER_MAX_IDLE_S 86400
#define OMT_OWNER_DEFAULT_IDLE_S 60

/* The workload. */
#define OMT_JOB_MAX_DESCRIPTION 4096	/* bytes; policy may want fewer */
#define OMT_JOB_MAX_ARGS 64
#define OMT_JOB_MAX_ARG 4096		/* bytes per argument */
#define OMT_JOB_MAX_SCRIPT (1024 * 1024)	/* the consumer's and exec's --script */
#define OMT_EXEC_MAX_ENV 16
#define OMT_EXEC_MAX_ENV_VALUE 4095	/* bytes */
#define OMT_JOB_MAX_INPUTS 64		/* the consumer's and exec's --input */
#define OMT_JOB_MAX_INPUT_NAME 255
#define OMT_JOB_MAX_INPUT_BYTES (8 * 1024 * 1024)	/* decoded, all inputs together */
/* exec's --input files, all together (they travel in the VM's initramfs). */
#define OMT_EXEC_MAX_INPUT_BYTES (64ULL << 20)
/* exec's --output: what it takes of /job/output at most (the guest's own bound). */
#define OMT_EXEC_MAX_OUTPUT_MIB 256

#endif
