// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * GET /metrics (Prometheus text, on its own listener and thread): the
 * daemon's jobs and counts, kept in d under d.lock, and each running VM's
 * guard counters, read from its pinned maps without the lock.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../guard/totals.h"
#include "../host/vmuid.h"
#include "../lib/log.h"
#include "../proto/outcome.h"
#include "../telemetry/reasons.h"
#include "internal.h"

static const double boot_bounds[] = { 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20, 60 };
static const double kill_bounds[] = { 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1,
				       0.5, 1 };

#define MIB 1048576.0

/*
 * Every outcome a job can end with is a series from the start, at 0: a
 * series born at 1 shows no increase() to an alert rule.
 */
void metrics_init(void)
{
	enum omt_outcome o;

	_Static_assert(OMT_OUTCOME__COUNT - OMT_OUTCOME_DONE <=
		       sizeof(d.outcomes) / sizeof(d.outcomes[0]), "room for every outcome");
	for (o = OMT_OUTCOME_DONE; o < OMT_OUTCOME__COUNT; o++)
		snprintf(d.outcomes[o - OMT_OUTCOME_DONE].outcome, sizeof(d.outcomes[0].outcome), "%s",
			 omt_outcome_name(o));
	d.boot = (struct omt_histogram){ .bounds = boot_bounds,
					 .n = sizeof(boot_bounds) / sizeof(boot_bounds[0]) };
	d.kill = (struct omt_histogram){ .bounds = kill_bounds,
					 .n = sizeof(kill_bounds) / sizeof(kill_bounds[0]) };
}

static void count_outcome(const char *outcome)
{
	size_t i;

	for (i = 0; i < sizeof(d.outcomes) / sizeof(d.outcomes[0]); i++) {
		if (!d.outcomes[i].outcome[0])
			snprintf(d.outcomes[i].outcome, sizeof(d.outcomes[i].outcome), "%s", outcome);
		if (strcmp(d.outcomes[i].outcome, outcome) == 0) {
			d.outcomes[i].n++;
			return;
		}
	}
}

void metrics_job_ended(const char *outcome, const struct omt_exec_result *r)
{
	count_outcome(outcome);
	if (r && r->has_boot_s)
		omt_hist_observe(&d.boot, r->boot_s);
	if (r && r->has_rogue_kill_s)
		omt_hist_observe(&d.kill, r->rogue_kill_s);
}

/* One metric of the per-VM guard counters: packets, or bytes. */
static void guard_counters(struct omt_prom *p, const char *name, const char *help, int bytes,
			   char (*ids)[OMT_JOB_ID_LEN + 1], const struct omt_vm_totals *t,
			   const int *ok, unsigned int n)
{
	static const char *const verdicts[] = { "pass", "drop" };
	unsigned int k;
	int dir, v;

	omt_prom_help(p, name, "counter", help);
	for (k = 0; k < n; k++)
		for (dir = 0; ok[k] && dir < 2; dir++)
			for (v = 0; v < 2; v++)
				omt_prom_sample(p, name,
						bytes ? t[k].dir_verdict[dir][v].bytes :
							t[k].dir_verdict[dir][v].packets,
						"vm", ids[k], "direction", omt_direction_name(dir),
						"verdict", verdicts[v], NULL);
}

/* What d holds, and the ids of the running VMs (at most OMT_MAX_VMS) in ids. With d.lock held. */
static unsigned int daemon_metrics(struct omt_prom *p, char (*ids)[OMT_JOB_ID_LEN + 1])
{
	uint64_t reserved_mib, kept_mib;
	unsigned int n = 0;
	struct djob *j;
	size_t i;

	omt_prom_help(p, "omerta_vms_running", "gauge", "MicroVMs running now.");
	omt_prom_sample(p, "omerta_vms_running", d.running, NULL);
	omt_prom_help(p, "omerta_vms_warm", "gauge",
		      "Warm VMs: booted, or booting, ahead of a job (warm_vms); not in "
		      "omerta_vms_running.");
	omt_prom_sample(p, "omerta_vms_warm", warm_count(), NULL);
	omt_prom_help(p, "omerta_jobs_queued", "gauge", "Admitted jobs waiting for a VM.");
	for (i = 0, j = d.jobs; j; j = j->next)
		i += j->state == J_QUEUED;
	omt_prom_sample(p, "omerta_jobs_queued", i, NULL);
	omt_prom_help(p, "omerta_jobs_total", "counter", "Jobs that ended, by outcome.");
	for (i = 0; i < sizeof(d.outcomes) / sizeof(d.outcomes[0]) && d.outcomes[i].outcome[0]; i++)
		omt_prom_sample(p, "omerta_jobs_total", d.outcomes[i].n, "outcome",
				d.outcomes[i].outcome, NULL);
	omt_prom_help(p, "omerta_requests_refused_total", "counter",
		      "Requests refused: authentication, policy or description.");
	omt_prom_sample(p, "omerta_requests_refused_total",
			__atomic_load_n(&d.refused, __ATOMIC_RELAXED), NULL);
	omt_prom_help(p, "omerta_vms_power_capped", "gauge",
		      "Running VMs whose CPU quota the power caps (power_cap_vm_w, "
		      "power_cap_total_w) hold below their own cpus.");
	omt_prom_sample(p, "omerta_vms_power_capped", power_capped_vms(), NULL);
	jobs_storage_held(&reserved_mib, &kept_mib);
	omt_prom_help(p, "omerta_storage_budget_bytes", "gauge",
		      "The provider's storage budget for all jobs' files (storage_budget_mib).");
	omt_prom_sample(p, "omerta_storage_budget_bytes", d.policy.storage_budget_mib * MIB, NULL);
	omt_prom_help(p, "omerta_storage_reserved_bytes", "gauge",
		      "Storage budget that queued and running jobs hold: their declared needs.");
	omt_prom_sample(p, "omerta_storage_reserved_bytes", reserved_mib * MIB, NULL);
	omt_prom_help(p, "omerta_storage_kept_bytes", "gauge",
		      "Storage budget that finished jobs' files use (dropped, oldest first, "
		      "to make room).");
	omt_prom_sample(p, "omerta_storage_kept_bytes", kept_mib * MIB, NULL);
	for (j = d.jobs; j && n < OMT_MAX_VMS; j = j->next)
		if (j->state == J_RUNNING)
			memcpy(ids[n++], j->id, sizeof(ids[0]));
	omt_prom_help(p, "omerta_vm_energy_joules_total", "counter",
		      "Energy attributed to a running VM: the host's RAPL energy by its share of "
		      "busy CPU time (0 without RAPL).");
	for (j = d.jobs; j; j = j->next)
		if (j->state == J_RUNNING)
			omt_prom_sample(p, "omerta_vm_energy_joules_total", j->energy.joules, "vm",
					j->id, NULL);
	omt_prom_histogram(p, "omerta_vm_boot_seconds",
			   "QEMU start to the workload's start (VPN up), per job.", &d.boot);
	omt_prom_histogram(p, "omerta_rogue_kill_seconds",
			   "A rogue frame to its VM's QEMU dead, per killed job.", &d.kill);
	return n;
}

/* vm_uids: its size, and how many of it are taken on the host (any daemon's or exec's). */
static void vm_uid_metrics(struct omt_prom *p, const struct omt_uid_range *range)
{
	static bool said;
	long long taken = omt_vm_uid_count_taken(range);

	omt_prom_help(p, "omerta_vm_uids", "gauge", "The uids of vm_uids, the range VMs run as.");
	omt_prom_sample(p, "omerta_vm_uids", omt_uid_range_size(range), NULL);
	omt_prom_help(p, "omerta_vm_uids_taken", "gauge",
		      "The uids of vm_uids taken on this host: by a VM (any daemon's or exec's), "
		      "or a process running as one.");
	if (taken >= 0)
		omt_prom_sample(p, "omerta_vm_uids_taken", taken, NULL);
	else if (!said)
		pr_warn("metrics: vm_uids %u-%u: %s: %s; omerta_vm_uids_taken left out",
			range->first, range->last, OMT_VM_UID_LOCK, strerror((int)-taken));
	said = taken < 0;
}

static char *metrics_text(size_t *len)
{
	struct omt_prom p = {};
	struct omt_vm_totals *t = calloc(OMT_MAX_VMS, sizeof(*t));
	char (*ids)[OMT_JOB_ID_LEN + 1] = calloc(OMT_MAX_VMS, sizeof(*ids));
	int ok[OMT_MAX_VMS] = { 0 };
	struct omt_uid_range vm_uids;
	unsigned int n, k;
	int r;

	if (!t || !ids) {
		free(t);
		free(ids);
		return NULL;
	}
	pthread_mutex_lock(&d.lock);
	n = daemon_metrics(&p, ids);
	vm_uids = d.policy.vm_uids;
	pthread_mutex_unlock(&d.lock);

	/* The host's processes and locks, without the lock too. */
	vm_uid_metrics(&p, &vm_uids);

	/* The maps are read without the lock: a scrape never stalls the jobs. */
	for (k = 0; k < n; k++)
		ok[k] = omt_vm_totals_read(ids[k], &t[k]) == 0;
	guard_counters(&p, "omerta_guard_packets_total",
		       "Frames the guard saw on a running VM's tap, by direction and verdict.", 0, ids,
		       t, ok, n);
	guard_counters(&p, "omerta_guard_bytes_total",
		       "Bytes the guard saw on a running VM's tap, by direction and verdict.", 1, ids,
		       t, ok, n);
	omt_prom_help(&p, "omerta_rogue_events_total", "counter",
		      "Frames a running VM sent that the guard dropped, by reason.");
	for (k = 0; k < n; k++)
		for (r = 1; ok[k] && r < OMT_R__COUNT; r++)
			if (t[k].reason[r].packets)
				omt_prom_sample(&p, "omerta_rogue_events_total", t[k].reason[r].packets,
						"vm", ids[k], "reason", omt_reason_name(r), NULL);
	free(t);
	free(ids);
	if (p.failed) {
		omt_prom_free(&p);
		return NULL;
	}
	*len = p.len;
	return p.buf;
}

static enum MHD_Result metrics_handle(void *cls, struct MHD_Connection *c, const char *url,
				      const char *method, const char *version,
				      const char *upload, size_t *upload_len, void **con_cls)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;
	size_t len = 0;
	char *body;

	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if (strcmp(url, "/metrics") || (strcmp(method, "GET") && strcmp(method, "HEAD"))) {
		body = strdup("only GET /metrics here\n");
		len = body ? strlen(body) : 0;
		status = MHD_HTTP_NOT_FOUND;
	} else {
		body = metrics_text(&len);
	}
	if (!body)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct MHD_Daemon *metrics_start(const uint8_t ip[4], uint16_t port)
{
	struct sockaddr_in ma = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct MHD_Daemon *metrics;

	memcpy(&ma.sin_addr, ip, 4);
	metrics = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				   metrics_handle, NULL, MHD_OPTION_SOCK_ADDR, &ma,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32, MHD_OPTION_END);
	if (!metrics) {
		pr_err("metrics on %u.%u.%u.%u:%u: %s", ip[0], ip[1], ip[2], ip[3], port,
		       strerror(errno));
		return NULL;
	}
	pr_info("metrics on http://%u.%u.%u.%u:%u/metrics", ip[0], ip[1], ip[2], ip[3], port);
	return metrics;
}
