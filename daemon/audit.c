// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The daemon's records in the audit log (policy/audit.h): every decision
 * on a request, and every admitted job's outcome.
 */
#include <errno.h>
#include <string.h>

#include "../api/keys.h"
#include "../lib/log.h"
#include "internal.h"

/* Thread-safe on its own (the audit log and the counter lock themselves). */
void audit_decision(const uint8_t *key, const char *network, const struct omt_job_request *r,
		    int admit, const char *reason, const char *job, const char *remote)
{
	json_object *o = json_object_new_object(), *res;
	char b64[45] = "";

	if (!admit)
		__atomic_fetch_add(&d.refused, 1, __ATOMIC_RELAXED);
	if (key)
		omt_key_b64(key, b64);
	json_object_object_add(o, "event", json_object_new_string("decision"));
	json_object_object_add(o, "consumer", key ? json_object_new_string(b64) : NULL);
	json_object_object_add(o, "network", network ? json_object_new_string(network) : NULL);
	json_object_object_add(o, "remote", json_object_new_string(remote));
	if (r) {
		json_object_object_add(o, "description", json_object_new_string(r->description));
		res = json_object_new_object();
		json_object_object_add(res, "cpus", json_object_new_int(r->cpus));
		json_object_object_add(res, "memory_mib", json_object_new_int(r->memory_mib));
		json_object_object_add(res, "timeout_s", json_object_new_int(r->timeout_s));
		json_object_object_add(o, "resources", res);
	}
	json_object_object_add(o, "decision", json_object_new_string(admit ? "admit" : "refuse"));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "job", job ? json_object_new_string(job) : NULL);
	if (omt_audit_write(d.audit, o))
		pr_err("audit log: %s", strerror(errno));
	json_object_put(o);
}

/*
 * exec's result as it wrote it, with who and which job; without one (the
 * job never ran, or exec left nothing), the daemon's word on how it ended.
 * Counted for the metrics too. With d.lock held.
 */
void audit_outcome(const struct djob *j, const struct omt_exec_result *r)
{
	json_object *o = r ? omt_exec_result_json(r) : json_object_new_object();

	metrics_job_ended(j->outcome, r);
	if (!o) {
		pr_err("audit log: job %s: out of memory", j->id);
		return;
	}
	json_object_object_add(o, "event", json_object_new_string("outcome"));
	json_object_object_add(o, "job", json_object_new_string(j->id));
	json_object_object_add(o, "consumer", json_object_new_string(j->consumer_b64));
	json_object_object_add(o, "network", json_object_new_string(j->network));
	if (!r) {
		json_object_object_add(o, "outcome", json_object_new_string(j->outcome));
		json_object_object_add(o, "exit_status", json_object_new_int(j->exit_status));
	}
	if (omt_audit_write(d.audit, o))
		pr_err("audit log: %s", strerror(errno));
	json_object_put(o);
}
