// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The provider's policy file (omt_policy_parse), its decisions (the
 * endpoint rules with each network's `endpoints` among them), and, on the
 * same bytes, the description rule every job request goes through.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/policy.h"

/* One line of printable ASCII: it goes to logs and terminals. */
static void check_message(const char *s, size_t size)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i == size - 1 || s[i] < 0x20 || s[i] > 0x7e)
			__builtin_trap();
	if (!i)
		__builtin_trap();
}

static void check_policy(struct omt_policy_cfg *c)
{
	static const struct omt_host_addrs no_host;
	struct omt_decision d;
	struct omt_job_ask ask;
	size_t i, j;

	if (c->max_vms < 1 || c->max_vms > 256 || !c->max_timeout_s || !c->max_description ||
	    !c->listen_port || c->key_path[0] != '/' || c->audit_log[0] != '/' ||
	    (c->has_metrics && !c->metrics_port))
		__builtin_trap();
	for (i = 0; i < c->n_networks; i++) {
		if (!c->networks[i].name[0] || c->networks[i].priority < -1000 ||
		    c->networks[i].priority > 1000)
			__builtin_trap();
		for (j = 0; j < i; j++)
			if (!strcmp(c->networks[i].name, c->networks[j].name))
				__builtin_trap();
		if (c->networks[i].n_endpoints > OMT_POLICY_MAX_ENDPOINTS)
			__builtin_trap();
		for (j = 0; j < c->networks[i].n_endpoints; j++) {
			const struct omt_cidr4 *e = &c->networks[i].endpoints[j];

			if (e->prefix > 32 || (omt_ipv4_u32(e->ip) & ~omt_prefix_mask(e->prefix)))
				__builtin_trap();
		}
	}
	for (i = 0; i < c->n_consumers; i++) {
		const struct omt_consumer *con = &c->consumers[i];

		if ((con->allow && !con->network[0]) || con->max_cpus < 1 || con->max_cpus > 64 ||
		    con->max_memory_mib < 64 || con->max_memory_mib > 65536 || con->max_jobs < 1 ||
		    con->max_jobs > 1000 || con->priority < -1000 || con->priority > 1000)
			__builtin_trap();
		/* The smallest job is admitted exactly when the consumer is allowed. */
		ask = (struct omt_job_ask){ con->key, "x", 1, 64, 1, { 203, 0, 113, 5 }, &no_host };
		if (omt_policy_decide(c, &ask, 0, &d) || d.admit != con->allow || d.consumer != con)
			__builtin_trap();
		/* Loopback never, whatever `endpoints` says; a private address as it says. */
		memcpy(ask.endpoint_ip, (uint8_t[]){ 127, 0, 0, 1 }, 4);
		if (omt_policy_decide(c, &ask, 0, &d) || d.admit)
			__builtin_trap();
		if (con->allow) {
			const struct omt_network *net = NULL;
			int listed = 0;

			for (j = 0; j < c->n_networks; j++)
				if (!strcmp(c->networks[j].name, con->network))
					net = &c->networks[j];
			memcpy(ask.endpoint_ip, (uint8_t[]){ 10, 1, 2, 3 }, 4);
			for (j = 0; net && j < net->n_endpoints; j++)
				listed |= omt_cidr4_has(&net->endpoints[j], ask.endpoint_ip);
			if (omt_policy_decide(c, &ask, 0, &d) || d.admit != listed)
				__builtin_trap();
			if (!d.admit)
				check_message(d.reason, sizeof(d.reason));
		}
		memcpy(ask.endpoint_ip, (uint8_t[]){ 203, 0, 113, 5 }, 4);
		if (d.admit && strcmp(d.network, con->network))
			__builtin_trap();
		if (!d.admit)
			check_message(d.reason, sizeof(d.reason));
		ask.cpus = con->max_cpus + 1;
		if (omt_policy_decide(c, &ask, 0, &d) || d.admit)
			__builtin_trap();
		ask.cpus = 1;
		if (omt_policy_decide(c, &ask, con->max_jobs, &d) || d.admit)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct omt_policy_cfg c;
	char err[256], reason[160], *s;
	size_t i, n;
	int ret;

	ret = omt_policy_parse((const char *)data, size, "fuzz.ini", &c, err, sizeof(err));
	if (ret == 0) {
		check_policy(&c);
		omt_policy_free(&c);
	} else {
		if (ret != -EINVAL && ret != -ENOMEM)
			__builtin_trap();
		if (c.networks || c.consumers || strncmp(err, "fuzz.ini", 8))
			__builtin_trap();
		check_message(err, sizeof(err));
	}

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = strlen(s);
	ret = omt_description_check(s, 64, reason, sizeof(reason));
	if (ret == 0) {
		if (!n || n > 64 || reason[0])
			__builtin_trap();
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || (unsigned char)s[i] > 0xf4)
				__builtin_trap();
	} else {
		if (ret != -EINVAL)
			__builtin_trap();
		check_message(reason, sizeof(reason));
	}
	free(s);
	return 0;
}
