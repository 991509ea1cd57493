/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The JSON bodies of the job API.
 *
 * POST /v1/jobs, from the consumer (untrusted; unknown fields are refused):
 *   {"description":"render frames","command":["sh","-c","echo hi"],
 *    "cpus":1,"memory_mib":256,"timeout_s":600,
 *    "vpn":{"endpoint":"203.0.113.5:51820","public_key":"<base64>",
 *           "vm_address":"10.77.0.2/24","allowed_ips":["10.77.0.0/24"],
 *           "consumer_address":"10.77.0.1"}}
 *   with "script":"#!/bin/sh\n..." instead of "command" (exactly one of the
 *   two); description, cpus, memory_mib and timeout_s may be left out.
 * Its answer (201):
 *   {"job":"0a1b2c3d","vm_public_key":"<base64>","state":"queued"}
 * GET /v1/jobs/ID:
 *   {"job":"0a1b2c3d","state":"done","outcome":"done","exit_status":0}
 *   (outcome and exit_status only once known)
 * GET /v1/jobs/ID/output?stdout=N&stderr=M: the two streams are kept apart,
 * each read from its own byte offset:
 *   {"stdout":"<base64>","stderr":"<base64>","stdout_next":N2,
 *    "stderr_next":M2,"done":false}
 *   with at most OMT_JOB_CHUNK_MAX bytes per stream; *_next is the offset to
 *   ask for next (the offset asked plus the bytes given). "done":true means
 *   the job has ended and both chunks reach the end of their stream.
 *
 * The answers are parsed by the consumer, and bounded as well, but unknown
 * fields are skipped there so that the provider can add some. json-c keeps
 * the last of two equal keys.
 */
#ifndef OMERTA_JOB_H
#define OMERTA_JOB_H

#include <stddef.h>
#include <stdint.h>

#define OMT_JOB_MAX_BODY (1024 * 1024)
#define OMT_JOB_MAX_DESCRIPTION 4096	/* bytes; policy may want fewer */
#define OMT_JOB_MAX_ARGS 64
#define OMT_JOB_MAX_ARG 4096		/* bytes per argument */
#define OMT_JOB_MAX_SCRIPT (1024 * 1024)
#define OMT_JOB_MAX_ALLOWED_IPS 16
#define OMT_JOB_MIN_CPUS 1
#define OMT_JOB_MAX_CPUS 64
#define OMT_JOB_MIN_MEMORY_MIB 64
#define OMT_JOB_MAX_MEMORY_MIB 65536
#define OMT_JOB_MIN_TIMEOUT_S 1
#define OMT_JOB_MAX_TIMEOUT_S 604800
#define OMT_JOB_DEFAULT_CPUS 1
#define OMT_JOB_DEFAULT_MEMORY_MIB 256
#define OMT_JOB_DEFAULT_TIMEOUT_S 600

#define OMT_JOB_ID_LEN 8		/* lowercase hex */
#define OMT_JOB_MAX_OUTCOME 32		/* [a-z0-9_] */
#define OMT_JOB_CHUNK_MAX (64 * 1024)	/* output bytes per stream and answer */
#define OMT_JOB_MAX_ANSWER (256 * 1024)	/* any answer body the consumer parses */

struct omt_cidr4 {
	uint8_t ip[4];
	uint8_t prefix;
};

struct omt_job_vpn {
	uint8_t endpoint_ip[4];		/* the consumer's WireGuard server */
	uint16_t endpoint_port;
	uint8_t public_key[32];		/* ... and its key */
	struct omt_cidr4 vm_address;	/* the VM's tunnel address, prefix 8..30 */
	struct omt_cidr4 allowed_ips[OMT_JOB_MAX_ALLOWED_IPS];	/* host bits cleared */
	unsigned int n_allowed_ips;	/* 1..16 */
	uint8_t consumer_address[4];	/* the consumer's end, in vm_address's subnet */
};

struct omt_job_request {
	char *description;		/* "" when absent; no control characters */
	char **command;			/* NULL-terminated argv, or NULL with a script */
	unsigned int n_command;		/* 1..64 with a command */
	char *script;			/* or NULL with a command */
	size_t script_len;		/* 1..OMT_JOB_MAX_SCRIPT */
	unsigned int cpus;
	unsigned int memory_mib;
	unsigned int timeout_s;
	struct omt_job_vpn vpn;
};

enum omt_job_state {
	OMT_JOB_QUEUED,
	OMT_JOB_RUNNING,
	OMT_JOB_DONE,
	OMT_JOB_FAILED,
	OMT_JOB_CANCELLED,
	OMT_JOB__STATE_COUNT,
};

struct omt_job_accept {
	char job[OMT_JOB_ID_LEN + 1];
	uint8_t vm_public_key[32];
	enum omt_job_state state;
};

struct omt_job_status {
	char job[OMT_JOB_ID_LEN + 1];
	enum omt_job_state state;
	char outcome[OMT_JOB_MAX_OUTCOME + 1];	/* "" when not known yet */
	int exit_status;			/* 0..255, or -1 when not known yet */
};

enum { OMT_JOB_STDOUT, OMT_JOB_STDERR };

/* About 128 KiB: better on the heap. */
struct omt_job_output {
	struct {
		uint64_t next;		/* <= INT64_MAX, >= len */
		size_t len;
		uint8_t data[OMT_JOB_CHUNK_MAX];
	} stream[2];			/* OMT_JOB_STDOUT, OMT_JOB_STDERR */
	int done;
};

/*
 * Parses a POST /v1/jobs body of len bytes (no NUL needed). 0; -E2BIG for
 * more than OMT_JOB_MAX_BODY bytes; -EINVAL with one line of printable
 * ASCII in err naming the field and its value ("cpus must be 1..64: 0");
 * or -ENOMEM. On success free it with omt_job_request_free.
 */
int omt_job_request_parse(const char *json, size_t len, struct omt_job_request *out,
			  char *err, size_t errlen);
/* Frees what omt_job_request_parse allocated, and zeroes r. */
void omt_job_request_free(struct omt_job_request *r);
/*
 * The JSON of r, NUL-terminated, in *json_out (free() it). It does not
 * check the values against the bounds: omt_job_request_parse of the result
 * does, and gives r back. 0, -EINVAL (neither or both of command and
 * script), -E2BIG (more than OMT_JOB_MAX_BODY) or -ENOMEM.
 */
int omt_job_request_format(const struct omt_job_request *r, char **json_out);

const char *omt_job_state_name(enum omt_job_state s);
/* 0 if s is OMT_JOB_ID_LEN lowercase hex digits, else -EINVAL. */
int omt_job_id_check(const char *s);
/* A query offset ("stdout=N"): canonical decimal up to INT64_MAX. 0 or -EINVAL. */
int omt_job_offset_parse(const char *s, uint64_t *out);

/* The answers: 0, or -EINVAL / -E2BIG with err set as above, or -ENOMEM. */
int omt_job_accept_parse(const char *json, size_t len, struct omt_job_accept *out,
			 char *err, size_t errlen);
int omt_job_accept_format(const struct omt_job_accept *a, char **json_out);
int omt_job_status_parse(const char *json, size_t len, struct omt_job_status *out,
			 char *err, size_t errlen);
int omt_job_status_format(const struct omt_job_status *s, char **json_out);
int omt_job_output_parse(const char *json, size_t len, struct omt_job_output *out,
			 char *err, size_t errlen);
int omt_job_output_format(const struct omt_job_output *o, char **json_out);

#endif
