// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The policy's decisions: who is admitted (and with which endpoint), the
 * description rule, queue order.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../lib/text.h"
#include "../lib/utf8.h"
#include "parser.h"

const struct omt_network *policy_find_network(const struct omt_policy_cfg *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_networks; i++)
		if (!strcmp(c->networks[i].name, name))
			return &c->networks[i];
	return NULL;
}

static const struct omt_consumer *find_consumer(const struct omt_policy_cfg *c,
						const uint8_t *key)
{
	size_t i;

	for (i = 0; key && i < c->n_consumers; i++)
		if (!memcmp(c->consumers[i].key, key, OMT_POLICY_KEY_LEN))
			return &c->consumers[i];
	return NULL;
}

__attribute__((format(printf, 2, 3)))
static int refuse(struct omt_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->admit = 0;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	return 0;
}

int omt_policy_decide(const struct omt_policy_cfg *c, const struct omt_job_ask *ask,
		      unsigned running_jobs, struct omt_decision *d)
{
	const struct omt_consumer *con;
	const struct omt_network *net;

	if (!c || !ask || !d || !ask->host)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	con = find_consumer(c, ask->consumer_key);
	if (!con)
		return refuse(d, "unknown consumer key");
	d->consumer = con;
	d->consumer_priority = con->priority;
	if (!con->allow)
		return refuse(d, "consumer denied by policy");
	net = policy_find_network(c, con->network);
	if (!net)	/* omt_policy_parse makes sure it is there */
		return refuse(d, "network '%s' is not declared", con->network);
	d->network_priority = net->priority;
	snprintf(d->network, sizeof(d->network), "%s", net->name);
	d->owner_priority = net->owner_priority == OMT_OWNER_INHERIT ? c->owner_priority :
								       net->owner_priority;

	if (omt_description_check(ask->description ? ask->description : "",
				  c->max_description, d->reason, sizeof(d->reason)))
		return 0;
	if (omt_endpoint_check(ask->endpoint_ip, ask->host, net->name, net->endpoints,
			       net->n_endpoints, d->reason, sizeof(d->reason)))
		return 0;
	if (!ask->cpus)
		return refuse(d, "cpus must be at least 1");
	if (ask->cpus > con->max_cpus)
		return refuse(d, "cpus %u over this consumer's max_cpus %u", ask->cpus,
			      con->max_cpus);
	if (!ask->memory_mib)
		return refuse(d, "memory_mib must be at least 1");
	if (ask->memory_mib > con->max_memory_mib)
		return refuse(d, "memory_mib %u over this consumer's max_memory_mib %u",
			      ask->memory_mib, con->max_memory_mib);
	if (!ask->timeout_s)
		return refuse(d, "timeout_s must be at least 1");
	if (ask->timeout_s > c->max_timeout_s)
		return refuse(d, "timeout_s %u over this provider's max_timeout_s %u",
			      ask->timeout_s, c->max_timeout_s);
	if (running_jobs >= con->max_jobs)
		return refuse(d, "consumer has %u jobs queued or running, its max_jobs is %u",
			      running_jobs, con->max_jobs);
	d->admit = 1;
	return 0;
}

static int is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int omt_description_check(const char *s, size_t max, char *reason, size_t len)
{
	size_t n = strlen(s), i;
	uint32_t cp;
	int step;

	if (!n) {
		omt_errf(reason, len, "description is empty");
		return -EINVAL;
	}
	if (n > max) {
		omt_errf(reason, len, "description is %zu bytes, over %zu", n, max);
		return -EINVAL;
	}
	for (i = 0; i < n; i += step) {
		step = omt_utf8_next(s + i, n - i, &cp);
		if (step < 0) {
			omt_errf(reason, len, "description is not valid UTF-8 (at byte %zu)", i);
			return -EINVAL;
		}
		if (is_control(cp)) {
			omt_errf(reason, len, "description has a control character U+%04" PRIX32
				 " (at byte %zu)", cp, i);
			return -EINVAL;
		}
	}
	if (reason && len)
		reason[0] = '\0';
	return 0;
}

int omt_queue_cmp(const struct omt_queue_key *a, const struct omt_queue_key *b)
{
	if (a->network_priority != b->network_priority)
		return a->network_priority > b->network_priority ? -1 : 1;
	if (a->consumer_priority != b->consumer_priority)
		return a->consumer_priority > b->consumer_priority ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}
