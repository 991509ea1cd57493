/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How a job ended, as exec writes it to its --result file at the end and
 * the daemon reads it (and copies it into the audit log): one JSON object,
 *
 *   {"job":"0a1b2c3d","outcome":"done","exit_status":0,"workload_exited":true,
 *    "rogue_events":0,"duration_s":4.2,"tunnel_bytes_in":1234,
 *    "tunnel_bytes_out":567,"output_bytes":12,"boot_s":2.1,"stopped_s":0.0,
 *    "checkpoints":0,"restores":0,"image":"debian","image_sha256":"<hex>",
 *    "output_error":"...","rogue_kill_s":0.004}
 *
 * job is "" when the set-up failed before the job had an id; boot_s (QEMU
 * started to the workload started), image_sha256, output_error and
 * rogue_kill_s (rogue frame to QEMU dead) appear only when known.
 */
#ifndef OMERTA_EXEC_RESULT_H
#define OMERTA_EXEC_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "job_id.h"
#include "outcome.h"
#include "workload.h"

#define OMT_EXEC_RESULT_MAX_BYTES (64 * 1024)
#define OMT_EXEC_RESULT_MAX_ERROR 599	/* output_error, bytes */

struct omt_exec_result {
	char job[OMT_JOB_ID_LEN + 1];
	enum omt_outcome outcome;
	int exit_status;		/* exec's: 0..255 */
	bool workload_exited;
	uint64_t rogue_events;
	double duration_s;		/* QEMU started to the end; 0 if it never started */
	uint64_t tunnel_bytes_in, tunnel_bytes_out;
	uint64_t output_bytes;		/* the workload's stdout and stderr */
	bool has_boot_s;
	double boot_s;
	double stopped_s;		/* paused or checkpointed */
	unsigned int checkpoints, restores;
	enum omt_job_image image;	/* DEFAULT is written as debian */
	char image_sha256[65];		/* "" when not known */
	char output_error[OMT_EXEC_RESULT_MAX_ERROR + 1];	/* "" when none */
	bool has_rogue_kill_s;
	double rogue_kill_s;
};

/* r as a new JSON object (the keys above, in that order), or NULL (ENOMEM). */
json_object *omt_exec_result_json(const struct omt_exec_result *r);
/* Writes r to path. 0, or -EIO with json-c's reason in err. */
int omt_exec_result_write(const char *path, const struct omt_exec_result *r, char *err,
			  size_t errlen);
/*
 * Parses len bytes (no NUL needed). 0; -E2BIG past OMT_EXEC_RESULT_MAX_BYTES;
 * -EINVAL with the key that is missing or bad in err.
 */
int omt_exec_result_parse(const char *json, size_t len, struct omt_exec_result *out,
			  char *err, size_t errlen);
/* Reads and parses path: 0, or -errno with err (-ENOENT: exec wrote none). */
int omt_exec_result_read(const char *path, struct omt_exec_result *out, char *err,
			 size_t errlen);

#endif
