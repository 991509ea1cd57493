// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The keys of the policy file: each one's value, its syntax and bounds,
 * and where it goes in struct omt_policy_cfg; the owner priority names.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../lib/parse.h"
#include "../proto/limits.h"
#include "parser.h"

/* An optional '-', then 1 to 9 digits: no '+', no spaces, no hex. */
static int parse_number(struct parser *p, const struct key *k, const char *v,
			long min, long max, long *out)
{
	int neg = *v == '-';
	uint64_t n;
	long x;

	if (omt_parse_digits(v + neg, 9, UINT64_MAX, &n))
		goto bad;
	x = neg ? -(long)n : (long)n;
	if (x < min || x > max)
		goto bad;
	*out = x;
	return 0;
bad:
	return policy_fail(p, "%s must be a number from %ld to %ld: %s", k->name, min, max,
			   policy_show(p, v));
}

static int parse_unsigned(struct parser *p, const struct key *k, const char *v, long min,
			  long max, unsigned *out)
{
	long n;
	int err = parse_number(p, k, v, min, max, &n);

	if (!err)
		*out = n;
	return err;
}

static int parse_priority(struct parser *p, const struct key *k, const char *v, int *out)
{
	long n;
	int err = parse_number(p, k, v, -1000, 1000, &n);

	if (!err)
		*out = n;
	return err;
}

static int parse_endpoint(struct parser *p, const struct key *k, const char *v,
			  uint8_t ip[4], uint16_t *port)
{
	if (omt_parse_endpoint(v, ip, port))
		return policy_fail(p, "%s must be IPv4:PORT, as in 127.0.0.1:7360: %s", k->name,
				   policy_show(p, v));
	return 0;
}

static int parse_path(struct parser *p, const struct key *k, const char *v, char *out)
{
	if (v[0] != '/' || strlen(v) >= OMT_POLICY_PATH_MAX)
		return policy_fail(p, "%s must be an absolute path: %s", k->name,
				   policy_show(p, v));
	strcpy(out, v);
	return 0;
}

/*
 * A directory the daemon makes its own: absolute, not / itself, each part
 * a name (no empty, "." or ".." parts, no trailing '/').
 */
static int parse_state_dir(struct parser *p, const struct key *k, const char *v)
{
	const char *part = v, *end;
	size_t n;

	if (v[0] != '/' || !v[1] || strlen(v) >= OMT_POLICY_PATH_MAX)
		goto bad;
	while (*part) {
		part++;
		end = strchrnul(part, '/');
		n = end - part;
		if (!n || (n == 1 && part[0] == '.') || (n == 2 && !strncmp(part, "..", 2)))
			goto bad;
		part = end;
	}
	strcpy(p->out->state_dir, v);
	return 0;
bad:
	return policy_fail(p, "%s must be an absolute path other than /, without empty, '.' or "
			   "'..' parts: %s", k->name, policy_show(p, v));
}

static int parse_storage_budget(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 1, OMT_POLICY_STORAGE_BUDGET_MAX_MIB,
			      &p->out->storage_budget_mib);
}

static int parse_listen(struct parser *p, const struct key *k, const char *v)
{
	return parse_endpoint(p, k, v, p->out->listen_ip, &p->out->listen_port);
}

static int parse_metrics_listen(struct parser *p, const struct key *k, const char *v)
{
	p->out->has_metrics = 1;
	return parse_endpoint(p, k, v, p->out->metrics_ip, &p->out->metrics_port);
}

static int parse_key_path(struct parser *p, const struct key *k, const char *v)
{
	return parse_path(p, k, v, p->out->key_path);
}

static int parse_audit_log(struct parser *p, const struct key *k, const char *v)
{
	return parse_path(p, k, v, p->out->audit_log);
}

static int parse_max_vms(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 1, 256, &p->out->max_vms);
}

static int parse_warm_vms(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 0, 256, &p->out->warm_vms);
}

static int parse_max_timeout(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 1, 7 * 24 * 3600, &p->out->max_timeout_s);
}

static int parse_max_description(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 1, 65536, &p->out->max_description);
}

static struct omt_network *cur_network(struct parser *p)
{
	return &p->out->networks[p->out->n_networks - 1];
}

static struct omt_consumer *cur_consumer(struct parser *p)
{
	return &p->out->consumers[p->out->n_consumers - 1];
}

static int parse_network_priority(struct parser *p, const struct key *k, const char *v)
{
	return parse_priority(p, k, v, &cur_network(p)->priority);
}

static int parse_consumer_priority(struct parser *p, const struct key *k, const char *v)
{
	return parse_priority(p, k, v, &cur_consumer(p)->priority);
}

/*
 * CIDR[,CIDR...], blanks allowed around each: at most
 * OMT_POLICY_MAX_ENDPOINTS, each a.b.c.d/N without host bits (a typo such
 * as 192.168.1.5/16 would open more than meant).
 */
static int parse_endpoints(struct parser *p, const struct key *k, const char *v)
{
	struct omt_network *net = cur_network(p);
	char item[OMT_POLICY_MAX_LINE + 1];
	const char *s = v, *end;
	struct omt_cidr4 *c;
	uint32_t ip, mask;
	size_t n;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		end = s + strcspn(s, ",");
		n = end - s;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		memcpy(item, s, n);
		item[n] = '\0';
		if (net->n_endpoints == OMT_POLICY_MAX_ENDPOINTS)
			return policy_fail(p, "%s has more than %d CIDRs: %s", k->name,
					   OMT_POLICY_MAX_ENDPOINTS, policy_show(p, v));
		c = &net->endpoints[net->n_endpoints];
		if (omt_parse_cidr4(item, c))
			return policy_fail(p, "%s must be CIDR[,CIDR...], as in 192.168.1.0/24: %s",
					   k->name, policy_show(p, item));
		ip = omt_ipv4_u32(c->ip);
		mask = omt_prefix_mask(c->prefix);
		if (ip & ~mask)
			return policy_fail(p, "%s: %s has host bits set (its network is "
					   "%u.%u.%u.%u/%u)", k->name, policy_show(p, item),
					   (ip & mask) >> 24, (ip & mask) >> 16 & 255,
					   (ip & mask) >> 8 & 255, ip & mask & 255, c->prefix);
		net->n_endpoints++;
		if (!*end)
			return 0;
		s = end + 1;
	}
}

static int parse_word(struct parser *p, const struct key *k, const char *v,
		      const char *const *words, int n, const char *choices)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(v, words[i]))
			return i;
	return policy_fail(p, "%s must be %s: %s", k->name, choices, policy_show(p, v));
}

static int parse_owner_word(struct parser *p, const struct key *k, const char *v,
			    enum omt_owner_priority *out)
{
	int i = parse_word(p, k, v, omt_owner_priority_words, OMT_OWNER_N_PRIORITIES, "idle, pause, checkpoint or kill");

	if (i >= 0)
		*out = i;
	return i < 0 ? i : 0;
}

static int parse_owner_priority(struct parser *p, const struct key *k, const char *v)
{
	return parse_owner_word(p, k, v, &p->out->owner_priority);
}

static int parse_network_owner_priority(struct parser *p, const struct key *k, const char *v)
{
	return parse_owner_word(p, k, v, &cur_network(p)->owner_priority);
}

static int parse_owner_idle(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 1, OMT_OWNER_MAX_IDLE_S, &p->out->owner_idle_s);
}

static int parse_owner_source(struct parser *p, const struct key *k, const char *v)
{
	int i = parse_word(p, k, v, omt_owner_source_words, OMT_OWNER_N_SOURCES,
			   "auto, logind, input or cpu");

	if (i >= 0)
		strcpy(p->out->owner_source, omt_owner_source_words[i]);
	return i < 0 ? i : 0;
}

static int parse_vm_uids(struct parser *p, const struct key *k, const char *v)
{
	if (omt_uid_range_parse(v, &p->out->vm_uids))
		return policy_fail(p, "%s must be FIRST-LAST, %u <= FIRST <= LAST <= %u, "
				      "without 65534: %s", k->name, OMT_VM_UIDS_FIRST_MIN,
				   OMT_VM_UIDS_LAST_MAX, policy_show(p, v));
	return 0;
}

static int parse_power_cap_vm(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 0, 100000, &p->out->power_cap_vm_w);
}

static int parse_power_cap_total(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 0, 100000, &p->out->power_cap_total_w);
}

static int parse_tls(struct parser *p, const struct key *k, const char *v)
{
	if (!strcasecmp(v, "on"))
		p->out->tls = 1;
	else if (!strcasecmp(v, "off"))
		p->out->tls = 0;
	else
		return policy_fail(p, "%s must be on or off: %s", k->name, policy_show(p, v));
	return 0;
}

static int parse_allow(struct parser *p, const struct key *k, const char *v)
{
	if (!strcasecmp(v, "yes"))
		cur_consumer(p)->allow = 1;
	else if (!strcasecmp(v, "no"))
		cur_consumer(p)->allow = 0;
	else
		return policy_fail(p, "%s must be yes or no: %s", k->name, policy_show(p, v));
	return 0;
}

int policy_valid_name(const char *s, size_t n)
{
	size_t i;

	if (!n || n >= OMT_POLICY_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

int policy_fail_name(struct parser *p, const char *s, size_t n)
{
	return policy_fail(p, "a network name is 1 to %d letters, digits, '_', '-' or '.': %s",
			   OMT_POLICY_NAME_MAX - 1, policy_show_mem(p, s, n));
}

static int parse_network(struct parser *p, const struct key *k, const char *v)
{
	(void)k;
	if (!policy_valid_name(v, strlen(v)))
		return policy_fail_name(p, v, strlen(v));
	strcpy(cur_consumer(p)->network, v);
	p->consumer_lines[p->out->n_consumers - 1].network = p->line;
	return 0;
}

static int parse_max_cpus(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 1, 64, &cur_consumer(p)->max_cpus);
}

static int parse_max_memory(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 64, 65536, &cur_consumer(p)->max_memory_mib);
}

static int parse_max_jobs(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 1, 1000, &cur_consumer(p)->max_jobs);
}

static int parse_consumer_storage_budget(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 1, OMT_POLICY_STORAGE_BUDGET_MAX_MIB,
			      &cur_consumer(p)->storage_budget_mib);
}

const struct key policy_keys[] = {
	{ "listen", SEC_PROVIDER, POLICY_REQUIRED, parse_listen },
	{ "key", SEC_PROVIDER, POLICY_REQUIRED, parse_key_path },
	{ "audit_log", SEC_PROVIDER, POLICY_REQUIRED, parse_audit_log },
	{ "metrics_listen", SEC_PROVIDER, 0, parse_metrics_listen },
	{ "max_vms", SEC_PROVIDER, 0, parse_max_vms },
	{ "warm_vms", SEC_PROVIDER, 0, parse_warm_vms },
	{ "max_timeout_s", SEC_PROVIDER, 0, parse_max_timeout },
	{ "max_description", SEC_PROVIDER, 0, parse_max_description },
	{ "owner_priority", SEC_PROVIDER, 0, parse_owner_priority },
	{ "owner_idle_s", SEC_PROVIDER, 0, parse_owner_idle },
	{ "owner_source", SEC_PROVIDER, 0, parse_owner_source },
	{ "power_cap_vm_w", SEC_PROVIDER, 0, parse_power_cap_vm },
	{ "power_cap_total_w", SEC_PROVIDER, 0, parse_power_cap_total },
	{ "vm_uids", SEC_PROVIDER, 0, parse_vm_uids },
	{ "tls", SEC_PROVIDER, 0, parse_tls },
	{ "state_dir", SEC_PROVIDER, 0, parse_state_dir },
	{ "storage_budget_mib", SEC_PROVIDER, 0, parse_storage_budget },
	{ "priority", SEC_NETWORK, 0, parse_network_priority },
	{ "owner_priority", SEC_NETWORK, 0, parse_network_owner_priority },
	{ "endpoints", SEC_NETWORK, 0, parse_endpoints },
	{ "allow", SEC_CONSUMER, POLICY_REQUIRED, parse_allow },
	{ "network", SEC_CONSUMER, 0, parse_network },
	{ "priority", SEC_CONSUMER, 0, parse_consumer_priority },
	{ "max_cpus", SEC_CONSUMER, 0, parse_max_cpus },
	{ "max_memory_mib", SEC_CONSUMER, 0, parse_max_memory },
	{ "max_jobs", SEC_CONSUMER, 0, parse_max_jobs },
	{ "storage_budget_mib", SEC_CONSUMER, 0, parse_consumer_storage_budget },
};
_Static_assert(sizeof(policy_keys) / sizeof(policy_keys[0]) == POLICY_N_KEYS,
	       "POLICY_N_KEYS counts the keys");
