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
 *   two); description, cpus, memory_mib and timeout_s may be left out. And,
 *   each optional, what exec takes for the workload:
 *     "image":"minimal"|"debian" (exec's default: debian),
 *     "language":"sh"|"bash"|"python" (only with "script"; bash and python
 *       need the debian image),
 *     "inputs":[{"name":"data.txt","data":"<base64>"},...] (files the
 *       workload finds read-only in /job/input/NAME; NAME a file name of
 *       printable ASCII, unique; at most 64, 8 MiB decoded in all),
 *     "output":true (bring back what the workload leaves in /job/output).
 * Its answer (201):
 *   {"job":"0a1b2c3d","vm_public_key":"<base64>","state":"queued"}
 * GET /v1/jobs/ID:
 *   {"job":"0a1b2c3d","state":"done","outcome":"done","exit_status":0}
 *   (outcome and exit_status only once known), and once a checkpoint or a
 *   restore has been asked of the job, the last one:
 *   "control":{"action":"checkpoint","state":"done","message":
 *              "checkpointed to /run/omerta/jobs/0a1b2c3d/checkpoint (94.0 MiB in 0.61 s)"}
 *   action 1..32 of [a-z0-9_] ("checkpoint", "restore"); state "running"
 *   (under way: wait and ask again), "done" or "failed"; message (printable
 *   ASCII, at most OMT_JOB_MAX_CONTROL_MESSAGE bytes) the job's exec's
 *   answer, or why it gave none, once there is one.
 * POST /v1/jobs/ID/checkpoint and /restore (no body): started, answered at
 *   once (202) with the status above, its control "running".
 * GET /v1/jobs/ID/output?stdout=N&stderr=M: the two streams are kept apart,
 * each read from its own byte offset:
 *   {"stdout":"<base64>","stderr":"<base64>","stdout_next":N2,
 *    "stderr_next":M2,"done":false}
 *   with at most OMT_JOB_CHUNK_MAX bytes per stream; *_next is the offset to
 *   ask for next (the offset asked plus the bytes given). "done":true means
 *   the job has ended and both chunks reach the end of their stream.
 * GET /v1/jobs/ID/files, once the job is done, for a job that asked for
 * "output": the whole of its /job/output in one answer:
 *   {"files":[{"path":"a/b.txt","mode":420,"data":"<base64>"},...],
 *    "dirs":["a",...],"error":"..."}
 *   paths relative, '/'-separated, without "." or ".." (proto/guest_msg.h's
 *   rule) and UTF-8; dirs parent first; mode 0..0777; at most
 *   OMT_JOB_FILES_MAX_ENTRIES files and dirs and OMT_JOB_FILES_MAX_BYTES of
 *   data; "error" (printable ASCII) when exec refused part of the output.
 *
 * The answers are parsed by the consumer, and bounded as well, but unknown
 * fields are skipped there so that the provider can add some. json-c keeps
 * the last of two equal keys.
 */
#ifndef OMERTA_JOB_H
#define OMERTA_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/parse.h"		/* struct omt_cidr4 */
#include "../proto/job_id.h"
#include "../proto/limits.h"
#include "../proto/workload.h"

/* The job's own bounds and defaults (OMT_JOB_*CPUS, ..._INPUTS): proto/limits.h. */
#define OMT_JOB_MAX_BODY (12 * 1024 * 1024)	/* the inputs' base64 is most of it */
#define OMT_JOB_MAX_ALLOWED_IPS 16
#define OMT_JOB_MAX_OUTCOME 32		/* [a-z0-9_] */
#define OMT_JOB_CHUNK_MAX (64 * 1024)	/* output bytes per stream and answer */
#define OMT_JOB_MAX_ANSWER (256 * 1024)	/* any answer body the consumer parses... */
#define OMT_JOB_FILES_MAX_ANSWER (128 * 1024 * 1024)	/* ... but the files' */
#define OMT_JOB_FILES_MAX_BYTES (64 * 1024 * 1024)	/* data in one files answer */
#define OMT_JOB_FILES_MAX_ENTRIES 10000	/* files and dirs in it, as exec's --output */
#define OMT_JOB_FILES_MAX_ERROR 1024
#define OMT_JOB_MAX_CONTROL_MESSAGE 512	/* exec's answer line fits */

struct omt_job_vpn {
	uint8_t endpoint_ip[4];		/* the consumer's WireGuard server (any address:
					   the policy decides, proto/endpoint.h) */
	uint16_t endpoint_port;
	uint8_t public_key[32];		/* ... and its key */
	struct omt_cidr4 vm_address;	/* the VM's tunnel address, prefix 8..30 */
	struct omt_cidr4 allowed_ips[OMT_JOB_MAX_ALLOWED_IPS];	/* host bits cleared */
	unsigned int n_allowed_ips;	/* 1..16 */
	uint8_t consumer_address[4];	/* the consumer's end, in vm_address's subnet */
};

/* enum omt_job_image and enum omt_job_language: proto/workload.h. */

struct omt_job_input {
	char *name;			/* omt_job_input_name_check() holds */
	uint8_t *data;			/* len bytes; may be freed (NULL) once used */
	size_t len;
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
	enum omt_job_image image;
	enum omt_job_language language;	/* DEFAULT with a command */
	struct omt_job_input *inputs;	/* n_inputs, names unique */
	unsigned int n_inputs;		/* 0..OMT_JOB_MAX_INPUTS */
	int output;			/* bring /job/output back */
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

enum omt_job_control_state {
	OMT_JOB_CONTROL_NONE,		/* none asked yet: no "control" */
	OMT_JOB_CONTROL_RUNNING,
	OMT_JOB_CONTROL_DONE,
	OMT_JOB_CONTROL_FAILED,
	OMT_JOB__CONTROL_STATE_COUNT,
};

/* The last checkpoint or restore asked of a job, and how it went. */
struct omt_job_control {
	enum omt_job_control_state state;
	char action[OMT_JOB_MAX_OUTCOME + 1];	/* 1..32 of [a-z0-9_], unless NONE */
	char message[OMT_JOB_MAX_CONTROL_MESSAGE + 1];	/* printable ASCII; "": none yet */
};

struct omt_job_status {
	char job[OMT_JOB_ID_LEN + 1];
	enum omt_job_state state;
	char outcome[OMT_JOB_MAX_OUTCOME + 1];	/* "" when not known yet */
	int exit_status;			/* 0..255, or -1 when not known yet */
	struct omt_job_control control;
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

struct omt_job_file {
	char *path;			/* omt_job_file_path_check() holds */
	unsigned int mode;		/* 0..0777 */
	uint8_t *data;
	size_t len;
};

/* GET /v1/jobs/ID/files. */
struct omt_job_files {
	struct omt_job_file *files;
	size_t n_files;
	char **dirs;			/* paths, parent first */
	size_t n_dirs;
	char error[OMT_JOB_FILES_MAX_ERROR + 1];	/* "" when none */
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
/* "running", "done", "failed"; "none" for NONE and "unknown" out of range. */
const char *omt_job_control_state_name(enum omt_job_control_state s);
/* "minimal", "sh", ...; NULL for DEFAULT and for what is out of range. */
/* 0 and *out if s names one ("debian", "python"), else -EINVAL. */
/*
 * An input's name: 1..OMT_JOB_MAX_INPUT_NAME bytes of printable ASCII,
 * no '/', not "." or "..". 0 or -EINVAL.
 */
int omt_job_input_name_check(const char *s, size_t len);
/*
 * A path of the files answer: proto/guest_msg.h's (relative, no "." or
 * "..", no NUL, bounded) and valid UTF-8 (JSON carries nothing else).
 * 0, or -EINVAL / -E2BIG.
 */
int omt_job_file_path_check(const char *s, size_t len);
/* 0 if s is OMT_JOB_ID_LEN lowercase hex digits, else -EINVAL. */
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
/*
 * The files answer, of at most OMT_JOB_FILES_MAX_ANSWER bytes. On success
 * free it with omt_job_files_free. format refuses (-EINVAL) what parse
 * would: a bad path, mode or error text, too many entries or bytes.
 */
int omt_job_files_parse(const char *json, size_t len, struct omt_job_files *out, char *err,
			size_t errlen);
int omt_job_files_format(const struct omt_job_files *f, char **json_out);
void omt_job_files_free(struct omt_job_files *f);

#endif
