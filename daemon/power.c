// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Every TICK_S, from the main loop: the running VMs' share of the host's
 * energy (RAPL), the power caps as CPU quotas, and the sleep inhibitor (AC
 * may have gone). Reads small sysfs files only.
 */
#include <stdbool.h>
#include <sys/sysinfo.h>

#include "../lib/log.h"
#include "../owner/inhibit.h"
#include "../vmctl/cgroup.h"
#include "internal.h"

void power_tick(void)
{
	struct omt_energy_vm vms[OMT_MAX_VMS];
	struct omt_energy_quota q[OMT_MAX_VMS];
	struct djob *js[OMT_MAX_VMS];
	struct omt_energy_caps caps = { d.policy.power_cap_vm_w, d.policy.power_cap_total_w };
	struct omt_cgroup cg;
	size_t n = 0, i;
	struct djob *j;

	omt_inhibit_update(d.inhibit, d.running > 0);
	for (j = d.jobs; j && n < OMT_MAX_VMS; j = j->next) {
		if (j->state != J_RUNNING || omt_cgroup_lookup(&cg, j->vm_id) ||
		    omt_cgroup_cpu_usage_ns(&cg, &j->energy.cpu_ns))
			continue;	/* not started yet, or gone */
		js[n] = j;
		vms[n++] = j->energy;
	}
	if (omt_energy_sample(d.energy, vms, n) || !omt_energy_available(d.energy))
		return;
	for (i = 0; i < n; i++) {
		js[i]->energy = vms[i];
		q[i] = (struct omt_energy_quota){ .watts = vms[i].watts,
						  .limit_us = js[i]->req.cpus * OMT_CPU_PERIOD_US,
						  .quota_us = js[i]->quota_us };
	}
	if (caps.vm_watts || caps.total_watts)
		omt_energy_cap_quota(&caps, q, n, get_nprocs());
	else	/* no caps (any more: a reload): a VM held back gets its own quota back */
		for (i = 0; i < n; i++)
			q[i].new_quota_us = q[i].quota_us < 0 ? q[i].quota_us : q[i].limit_us;
	for (i = 0; i < n; i++) {
		if (q[i].new_quota_us == js[i]->quota_us)
			continue;
		if (omt_cgroup_lookup(&cg, js[i]->vm_id) == 0 &&
		    omt_cgroup_set_cpu_max(&cg, q[i].new_quota_us < 0 ? q[i].limit_us :
						q[i].new_quota_us, OMT_CPU_PERIOD_US) == 0) {
			job_log(OMT_LOG_DEBUG, js[i], "%.1f W: CPU quota %ld us per %ld us",
				q[i].watts, q[i].new_quota_us, OMT_CPU_PERIOD_US);
			js[i]->quota_us = q[i].new_quota_us;
		}
	}
}

unsigned int power_capped_vms(void)
{
	unsigned int n = 0;
	struct djob *j;

	for (j = d.jobs; j; j = j->next)
		n += j->state == J_RUNNING && j->quota_us >= 0 &&
		     j->quota_us < (long)j->req.cpus * OMT_CPU_PERIOD_US;
	return n;
}
