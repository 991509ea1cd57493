/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the guest agent is told about its job: the files exec puts in the
 * job's initramfs segment, and the one that says what to run, job.json:
 *
 *   {"eth0":{"address":"10.213.0.2","prefix":24,"gateway":"10.213.0.1"},
 *    "firewall":true,"handshake_timeout":10,"image":"debian","scratch_mib":128,
 *    "output":false,"argv":["sh","-c","..."],"env":{"OMERTA_CONSUMER_IP":"10.77.0.1"}}
 *
 * eth0 is the VM's link to the host (its only route leads to the WireGuard
 * endpoint); firewall the guest's own nftables; handshake_timeout seconds
 * to wait for the first handshake; image which root filesystem (the debian
 * one is a disk, /dev/vda); scratch_mib the size of its writable space;
 * output whether to send /job/output back; argv and env the workload.
 *
 * exec formats it (a trusted host), the agent parses it; its argv comes
 * from the consumer, so the parse bounds every field all the same.
 */
#ifndef OMERTA_JOB_SPEC_H
#define OMERTA_JOB_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workload.h"

/* The job's files in its initramfs, as paths without the leading '/'. */
#define OMT_JOB_SPEC_FILE "job/job.json"
#define OMT_JOB_WG_FILE "job/wg0.conf"	/* the VM's WireGuard config (wg-quick) */
#define OMT_JOB_SCRIPT_FILE "job/script"	/* --script's file, when there is one */
#define OMT_JOB_INPUT_DIR "job/input"	/* the inputs, read-only */

#define OMT_JOB_SPEC_MAX_BYTES (16 << 20)	/* job.json: an exec argv fits escaped */
#define OMT_JOB_SPEC_MAX_ARGS 256
#define OMT_JOB_SPEC_MAX_ENV 16		/* exec's --env */
#define OMT_JOB_SPEC_MAX_ENV_VALUE 4095	/* bytes */

struct omt_job_spec {
	uint8_t eth_ip[4], gateway[4];
	uint8_t eth_prefix;		/* 1..32 */
	bool firewall;			/* absent: true */
	unsigned int handshake_timeout;	/* 1..600 s; absent: 10 */
	enum omt_job_image image;	/* absent: minimal; DEFAULT is written as debian */
	unsigned int scratch_mib;	/* 1..65536; absent: 64 */
	bool output;
	char **argv;			/* 1..OMT_JOB_SPEC_MAX_ARGS, NULL-terminated */
	char **env;			/* "NAME=VALUE", NULL-terminated; NULL for none */
};

/*
 * An environment entry as exec's --env and the spec take it: NAME=VALUE,
 * NAME of A-Z, 0-9 and _ not starting with a digit, VALUE at most
 * OMT_JOB_SPEC_MAX_ENV_VALUE bytes. 0 or -EINVAL.
 */
int omt_job_env_check(const char *s);

/*
 * The JSON of s, NUL-terminated, in *json_out (free() it); env entries
 * without '=' are left out, a repeated NAME keeps its last VALUE. It does
 * not check the bounds: the parse does, in the guest. 0 or -ENOMEM.
 */
int omt_job_spec_format(const struct omt_job_spec *s, char **json_out);
/*
 * Parses job.json's len bytes (no NUL needed) into out. 0; -E2BIG past
 * OMT_JOB_SPEC_MAX_BYTES; -EINVAL with what is wrong in err ("missing or
 * bad eth0/argv", "argv has 300 elements", ...); -ENOMEM. On success free
 * it with omt_job_spec_free.
 */
int omt_job_spec_parse(const char *json, size_t len, struct omt_job_spec *out, char *err,
		       size_t errlen);
/* Frees what the parse allocated, and zeroes s. */
void omt_job_spec_free(struct omt_job_spec *s);

#endif
