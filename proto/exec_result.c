// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/file.h"
#include "../lib/json.h"
#include "exec_result.h"

json_object *omt_exec_result_json(const struct omt_exec_result *r)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "job", json_object_new_string(r->job));
	json_object_object_add(o, "outcome", json_object_new_string(omt_outcome_name(r->outcome)));
	json_object_object_add(o, "exit_status", json_object_new_int(r->exit_status));
	json_object_object_add(o, "workload_exited", json_object_new_boolean(r->workload_exited));
	json_object_object_add(o, "rogue_events", json_object_new_int64(r->rogue_events));
	json_object_object_add(o, "duration_s", json_object_new_double(r->duration_s));
	json_object_object_add(o, "tunnel_bytes_in", json_object_new_int64(r->tunnel_bytes_in));
	json_object_object_add(o, "tunnel_bytes_out", json_object_new_int64(r->tunnel_bytes_out));
	json_object_object_add(o, "output_bytes", json_object_new_int64(r->output_bytes));
	if (r->has_boot_s)
		json_object_object_add(o, "boot_s", json_object_new_double(r->boot_s));
	json_object_object_add(o, "stopped_s", json_object_new_double(r->stopped_s));
	json_object_object_add(o, "checkpoints", json_object_new_int(r->checkpoints));
	json_object_object_add(o, "restores", json_object_new_int(r->restores));
	json_object_object_add(o, "image",
			       json_object_new_string(omt_image_name(omt_image_resolve(r->image))));
	if (r->image_sha256[0])
		json_object_object_add(o, "image_sha256", json_object_new_string(r->image_sha256));
	if (r->output_error[0])
		json_object_object_add(o, "output_error", json_object_new_string(r->output_error));
	if (r->has_rogue_kill_s)
		json_object_object_add(o, "rogue_kill_s", json_object_new_double(r->rogue_kill_s));
	return o;
}

int omt_exec_result_write(const char *path, const struct omt_exec_result *r, char *err,
			  size_t errlen)
{
	json_object *o = omt_exec_result_json(r);
	int e = 0;

	if (!o || json_object_to_file_ext(path, o, JSON_C_TO_STRING_PLAIN) < 0) {
		snprintf(err, errlen, "%s", o ? json_util_get_last_err() : strerror(ENOMEM));
		e = -EIO;
	}
	json_object_put(o);
	return e;
}

/* A string member copied into out (size bytes with the NUL); absent: "". */
static int copy_string(json_object *o, const char *key, char *out, size_t size)
{
	const char *s;
	int e = omt_json_string(o, key, size - 1, &s);

	if (e == -ENOENT)
		s = "";
	else if (e)
		return e;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int u64(json_object *o, const char *key, uint64_t *out)
{
	int64_t v;
	int e = omt_json_int(o, key, 0, INT64_MAX, &v);

	*out = v;
	return e;
}

/* The optional numbers. */
static int maybe_double(json_object *o, const char *key, bool *has, double *out)
{
	int e = omt_json_double(o, key, out);

	*has = e == 0;
	return e == -ENOENT ? 0 : e;
}

static int parse_obj(json_object *o, struct omt_exec_result *r, const char **bad)
{
	const char *s = NULL;
	int64_t v;
	int e;

#define KEY(k, call) if ((*bad = k), (e = (call))) return e
	KEY("job", copy_string(o, "job", r->job, sizeof(r->job)));
	if (r->job[0] && omt_job_id_validate(r->job))
		return -EINVAL;
	KEY("outcome", omt_json_string(o, "outcome", 32, &s));
	KEY("outcome", omt_outcome_parse(s, &r->outcome));
	KEY("exit_status", omt_json_int(o, "exit_status", 0, 255, &v));
	r->exit_status = v;
	KEY("workload_exited", omt_json_bool(o, "workload_exited", &r->workload_exited));
	KEY("rogue_events", u64(o, "rogue_events", &r->rogue_events));
	KEY("duration_s", omt_json_double(o, "duration_s", &r->duration_s));
	KEY("tunnel_bytes_in", u64(o, "tunnel_bytes_in", &r->tunnel_bytes_in));
	KEY("tunnel_bytes_out", u64(o, "tunnel_bytes_out", &r->tunnel_bytes_out));
	KEY("output_bytes", u64(o, "output_bytes", &r->output_bytes));
	KEY("boot_s", maybe_double(o, "boot_s", &r->has_boot_s, &r->boot_s));
	KEY("stopped_s", omt_json_double(o, "stopped_s", &r->stopped_s));
	KEY("checkpoints", omt_json_int(o, "checkpoints", 0, UINT32_MAX, &v));
	r->checkpoints = v;
	KEY("restores", omt_json_int(o, "restores", 0, UINT32_MAX, &v));
	r->restores = v;
	KEY("image", omt_json_string(o, "image", 32, &s));
	KEY("image", omt_image_parse(s, &r->image));
	KEY("image_sha256", copy_string(o, "image_sha256", r->image_sha256,
					sizeof(r->image_sha256)));
	KEY("output_error", copy_string(o, "output_error", r->output_error,
					sizeof(r->output_error)));
	KEY("rogue_kill_s", maybe_double(o, "rogue_kill_s", &r->has_rogue_kill_s,
					 &r->rogue_kill_s));
#undef KEY
	return 0;
}

int omt_exec_result_parse(const char *json, size_t len, struct omt_exec_result *out,
			  char *err, size_t errlen)
{
	const char *bad = NULL;
	json_object *o;
	int e;

	*out = (struct omt_exec_result){ 0 };
	if (len > OMT_EXEC_RESULT_MAX_BYTES)
		return -E2BIG;
	o = omt_json_parse_object(json, len, 4);
	if (!o) {
		snprintf(err, errlen, "not one JSON object");
		return -EINVAL;
	}
	e = parse_obj(o, out, &bad);
	json_object_put(o);
	if (e) {
		snprintf(err, errlen, "%s: %s", bad, e == -ENOENT ? "missing" : "bad value");
		*out = (struct omt_exec_result){ 0 };
		return -EINVAL;
	}
	return 0;
}

int omt_exec_result_read(const char *path, struct omt_exec_result *out, char *err,
			 size_t errlen)
{
	char *json, why[128];
	size_t len;
	int e;

	if ((e = omt_read_file(path, OMT_EXEC_RESULT_MAX_BYTES, &json, &len, err, errlen)))
		return e;
	e = omt_exec_result_parse(json, len, out, why, sizeof(why));
	free(json);
	if (e)
		snprintf(err, errlen, "%s: %s", path, why);
	return e;
}
