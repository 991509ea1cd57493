// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The provider's small answers (job.h): accept (201), status and output. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/b64.h"
#include "job.h"
#include "json.h"
#include "keys.h"

#define CHUNK_B64_LEN OMT_B64_LEN(OMT_JOB_CHUNK_MAX)

static const char *const stream_names[2] = { "stdout", "stderr" };
static const char *const stream_next_names[2] = { "stdout_next", "stderr_next" };

static int outcome_check(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i == OMT_JOB_MAX_OUTCOME ||
		    !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return -EINVAL;
	return i ? 0 : -EINVAL;
}

static int job_member(struct api_parser *p, json_object *o, char job[OMT_JOB_ID_LEN + 1])
{
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = api_str_member(p, o, "job", "job", 64, &v, &s, &n);
	if (err)
		return err;
	if (omt_job_id_validate(s))
		return api_fail(p, "job is not %d lowercase hex digits: %s", OMT_JOB_ID_LEN,
				api_show(p, v));
	memcpy(job, s, OMT_JOB_ID_LEN + 1);
	return 0;
}

static int state_member(struct api_parser *p, json_object *o, enum omt_job_state *state)
{
	const char *s;
	json_object *v;
	size_t n;
	int i, err;

	err = api_str_member(p, o, "state", "state", 64, &v, &s, &n);
	if (err)
		return err;
	for (i = 0; i < OMT_JOB__STATE_COUNT; i++) {
		if (!strcmp(s, omt_job_state_name(i))) {
			*state = i;
			return 0;
		}
	}
	return api_fail(p, "state is not one of queued, running, done, failed, cancelled: %s",
			api_show(p, v));
}

static int accept_fields(struct api_parser *p, json_object *o, void *out)
{
	struct omt_job_accept *a = out;
	const char *s;
	json_object *v;
	size_t n;
	int err;

	err = job_member(p, o, a->job);
	if (!err)
		err = api_str_member(p, o, "vm_public_key", "vm_public_key", 64, &v, &s, &n);
	if (!err && omt_key_from_b64(s, a->vm_public_key))
		err = api_fail(p, "vm_public_key is not a base64 32-byte key: %s", api_show(p, v));
	if (!err)
		err = state_member(p, o, &a->state);
	return err;
}

int omt_job_accept_parse(const char *json, size_t len, struct omt_job_accept *out,
			 char *err, size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = api_parse_answer(json, len, OMT_JOB_MAX_ANSWER, err, errlen, accept_fields, out);
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

int omt_job_accept_format(const struct omt_job_accept *a, char **json_out)
{
	char key[OMT_KEY_B64_LEN + 1];
	json_object *o;
	int err;

	*json_out = NULL;
	if (!memchr(a->job, '\0', sizeof(a->job)) || omt_job_id_validate(a->job) ||
	    (unsigned int)a->state >= OMT_JOB__STATE_COUNT)
		return -EINVAL;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	omt_key_b64(a->vm_public_key, key);
	err = api_add_str(o, "job", a->job);
	if (!err)
		err = api_add_str(o, "vm_public_key", key);
	if (!err)
		err = api_add_str(o, "state", omt_job_state_name(a->state));
	return api_finish(o, err, OMT_JOB_MAX_ANSWER, json_out);
}

/* The status's "control" member, when there is one; unknown members in it are skipped. */
static int control_member(struct api_parser *p, json_object *o, struct omt_job_control *c)
{
	const char *s;
	json_object *ctl, *v;
	size_t n;
	int i, err;

	if (!api_member(o, "control", &ctl))
		return 0;
	if (!json_object_is_type(ctl, json_type_object))
		return api_fail(p, "control must be an object: %s", api_show_json(p, ctl));
	err = api_str_member(p, ctl, "action", "control.action", 64, &v, &s, &n);
	if (err)
		return err;
	if (outcome_check(s))
		return api_fail(p, "control.action is not 1..%d of [a-z0-9_]: %s",
				OMT_JOB_MAX_OUTCOME, api_show(p, v));
	memcpy(c->action, s, n + 1);
	err = api_str_member(p, ctl, "state", "control.state", 64, &v, &s, &n);
	if (err)
		return err;
	for (i = OMT_JOB_CONTROL_RUNNING; i < OMT_JOB__CONTROL_STATE_COUNT; i++)
		if (!strcmp(s, omt_job_control_state_name(i)))
			c->state = i;
	if (c->state == OMT_JOB_CONTROL_NONE)
		return api_fail(p, "control.state is not one of running, done, failed: %s",
				api_show(p, v));
	if (!api_member(ctl, "message", &v))
		return 0;
	err = api_str_value(p, v, "control.message", OMT_JOB_MAX_CONTROL_MESSAGE, &s, &n);
	if (!err && !api_printable(s, n))
		err = api_fail(p, "control.message is not printable ASCII: %s", api_show(p, v));
	if (!err)
		memcpy(c->message, s, n + 1);
	return err;
}

static int status_fields(struct api_parser *p, json_object *o, void *out)
{
	struct omt_job_status *st = out;
	const char *s;
	json_object *v;
	int64_t x;
	size_t n;
	int err;

	err = job_member(p, o, st->job);
	if (!err)
		err = state_member(p, o, &st->state);
	if (!err && api_member(o, "outcome", &v)) {
		err = api_str_value(p, v, "outcome", 64, &s, &n);
		if (!err && outcome_check(s))
			err = api_fail(p, "outcome is not 1..%d of [a-z0-9_]: %s",
				       OMT_JOB_MAX_OUTCOME, api_show(p, v));
		if (!err)
			memcpy(st->outcome, s, n + 1);
	}
	st->exit_status = -1;
	if (!err && api_member(o, "exit_status", NULL)) {
		err = api_int_member(p, o, "exit_status", "exit_status", 0, 255, &x);
		if (!err)
			st->exit_status = x;
	}
	if (!err)
		err = control_member(p, o, &st->control);
	return err;
}

int omt_job_status_parse(const char *json, size_t len, struct omt_job_status *out,
			 char *err, size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = api_parse_answer(json, len, OMT_JOB_MAX_ANSWER, err, errlen, status_fields, out);
	if (ret) {
		memset(out, 0, sizeof(*out));
		out->exit_status = -1;
	}
	return ret;
}

/* What control_member would refuse: -EINVAL, else 0. */
static int control_check(const struct omt_job_control *c)
{
	if ((unsigned int)c->state >= OMT_JOB__CONTROL_STATE_COUNT)
		return -EINVAL;
	if (c->state == OMT_JOB_CONTROL_NONE)
		return 0;
	if (!memchr(c->action, '\0', sizeof(c->action)) || outcome_check(c->action) ||
	    !memchr(c->message, '\0', sizeof(c->message)) ||
	    !api_printable(c->message, strlen(c->message)))
		return -EINVAL;
	return 0;
}

static int control_add(json_object *o, const struct omt_job_control *c)
{
	json_object *ctl;
	int err;

	if (c->state == OMT_JOB_CONTROL_NONE)
		return 0;
	ctl = json_object_new_object();
	err = api_add(o, "control", ctl);
	if (!err)
		err = api_add_str(ctl, "action", c->action);
	if (!err)
		err = api_add_str(ctl, "state", omt_job_control_state_name(c->state));
	if (!err && c->message[0])
		err = api_add_str(ctl, "message", c->message);
	return err;
}

int omt_job_status_format(const struct omt_job_status *s, char **json_out)
{
	json_object *o;
	int err;

	*json_out = NULL;
	if (!memchr(s->job, '\0', sizeof(s->job)) || omt_job_id_validate(s->job) ||
	    (unsigned int)s->state >= OMT_JOB__STATE_COUNT ||
	    !memchr(s->outcome, '\0', sizeof(s->outcome)) ||
	    (s->outcome[0] && outcome_check(s->outcome)) ||
	    s->exit_status < -1 || s->exit_status > 255 || control_check(&s->control))
		return -EINVAL;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	err = api_add_str(o, "job", s->job);
	if (!err)
		err = api_add_str(o, "state", omt_job_state_name(s->state));
	if (!err && s->outcome[0])
		err = api_add_str(o, "outcome", s->outcome);
	if (!err && s->exit_status >= 0)
		err = api_add_int(o, "exit_status", s->exit_status);
	if (!err)
		err = control_add(o, &s->control);
	return api_finish(o, err, OMT_JOB_MAX_ANSWER, json_out);
}

static int output_fields(struct api_parser *p, json_object *o, void *out)
{
	struct omt_job_output *put = out;
	json_object *v;
	int i, err = 0;

	for (i = 0; i < 2 && !err; i++) {
		const char *name = stream_names[i], *s;
		int64_t next;
		size_t n;

		err = api_str_member(p, o, name, name, CHUNK_B64_LEN, &v, &s, &n);
		if (err)
			return err;
		err = omt_b64_decode(s, n, put->stream[i].data, OMT_JOB_CHUNK_MAX,
				     &put->stream[i].len);
		if (err == -E2BIG)
			return api_fail(p, "%s holds more than %d bytes: %s", name,
					OMT_JOB_CHUNK_MAX, api_show(p, v));
		if (err)
			return api_fail(p, "%s is not base64: %s", name, api_show(p, v));
		err = api_int_member(p, o, stream_next_names[i], stream_next_names[i], 0, INT64_MAX,
				     &next);
		if (!err && (uint64_t)next < put->stream[i].len)
			err = api_fail(p, "%s is less than the %zu bytes of %s: %" PRId64,
				       stream_next_names[i], put->stream[i].len, name, next);
		put->stream[i].next = next;
	}
	if (err)
		return err;
	if (!api_member(o, "done", &v))
		return api_fail(p, "done is missing");
	if (!json_object_is_type(v, json_type_boolean))
		return api_fail(p, "done must be true or false: %s", api_show_json(p, v));
	put->done = json_object_get_boolean(v);
	return 0;
}

int omt_job_output_parse(const char *json, size_t len, struct omt_job_output *out,
			 char *err, size_t errlen)
{
	int ret, i;

	for (i = 0; i < 2; i++)
		out->stream[i].next = out->stream[i].len = 0;
	out->done = 0;
	ret = api_parse_answer(json, len, OMT_JOB_MAX_ANSWER, err, errlen, output_fields, out);
	if (ret) {
		for (i = 0; i < 2; i++)
			out->stream[i].next = out->stream[i].len = 0;
		out->done = 0;
	}
	return ret;
}

int omt_job_output_format(const struct omt_job_output *o, char **json_out)
{
	char *b64 = NULL;
	json_object *j;
	int i, err = 0;

	*json_out = NULL;
	for (i = 0; i < 2; i++)
		if (o->stream[i].len > OMT_JOB_CHUNK_MAX || o->stream[i].next > INT64_MAX ||
		    o->stream[i].next < o->stream[i].len)
			return -EINVAL;
	j = json_object_new_object();
	b64 = malloc(CHUNK_B64_LEN + 1);
	if (!j || !b64) {
		json_object_put(j);
		free(b64);
		return -ENOMEM;
	}
	for (i = 0; i < 2 && !err; i++) {
		sodium_bin2base64(b64, CHUNK_B64_LEN + 1, o->stream[i].data, o->stream[i].len,
				  sodium_base64_VARIANT_ORIGINAL);
		err = api_add_str(j, stream_names[i], b64);
	}
	for (i = 0; i < 2 && !err; i++)
		err = api_add_int(j, stream_next_names[i], o->stream[i].next);
	if (!err)
		err = api_add(j, "done", json_object_new_boolean(o->done));
	free(b64);
	return api_finish(j, err, OMT_JOB_MAX_ANSWER, json_out);
}
