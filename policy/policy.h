/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The provider's policy file: who may run jobs here, on which network, how
 * big, and in which order. An INI file read with inih:
 *
 *   [provider]                  listen, key, audit_log (required); max_vms,
 *                               warm_vms, max_timeout_s, max_description,
 *                               metrics_listen,
 *                               owner_priority, owner_idle_s, owner_source,
 *                               power_cap_vm_w, power_cap_total_w, vm_uids,
 *                               tls, state_dir, storage_budget_mib
 *   [network "NAME"]            priority, owner_priority, endpoints
 *   [consumer "ED25519 KEY"]    allow (required), network, priority,
 *                               max_cpus, max_memory_mib, max_jobs,
 *                               storage_budget_mib
 *
 * Default deny: a consumer key that is not listed is refused, as is one
 * listed with allow = no. An allowed consumer without `network` gets the
 * network named "default", which must then be declared; the file is
 * refused otherwise. A denied consumer needs no network.
 *
 * Strict on purpose, since a typo here decides who runs code on the host:
 * unknown sections and keys, a key given twice in a section, a section
 * declared twice and numbers out of range are all errors, each naming the
 * file, the line and the value in quotes. Keys and section types are
 * case-insensitive, network names are not. Comments are lines starting
 * with '#' or ';', or text after " #" or " ;". Lines may be indented (there
 * are no continuation lines); control characters other than tab are refused.
 */
#ifndef OMERTA_POLICY_H
#define OMERTA_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/parse.h"		/* struct omt_cidr4 */
#include "../proto/endpoint.h"		/* struct omt_host_addrs */
#include "../proto/owner_priority.h"	/* enum omt_owner_priority */
#include "../proto/vm_uids.h"		/* struct omt_uid_range */

#define OMT_POLICY_KEY_LEN 32
#define OMT_POLICY_NAME_MAX 64		/* network names: 1..63 of [A-Za-z0-9_.-] */
#define OMT_POLICY_PATH_MAX 256
/* inih reads lines into a 200-byte buffer, with room for "\r\n\0". */
#define OMT_POLICY_MAX_LINE 197
#define OMT_POLICY_MAX_FILE (1024 * 1024)
/* Where the daemon's jobs keep their files, and how much of it they may fill. */
#define OMT_POLICY_STATE_DIR "/var/lib/omerta"
#define OMT_POLICY_STORAGE_BUDGET_MIB 4096
#define OMT_POLICY_STORAGE_BUDGET_MAX_MIB (16 * 1024 * 1024)	/* 16 TiB */
#define OMT_POLICY_MAX_ENDPOINTS 16	/* CIDRs in a network's `endpoints` */

struct omt_network {
	char name[OMT_POLICY_NAME_MAX];
	int priority;			/* -1000..1000, default 0 */
	enum omt_owner_priority owner_priority;	/* default OMT_OWNER_INHERIT */
	/* Private and shared ranges its jobs' endpoints may be in (proto/endpoint.h). */
	struct omt_cidr4 endpoints[OMT_POLICY_MAX_ENDPOINTS];	/* no host bits */
	size_t n_endpoints;		/* default 0: none */
};

struct omt_consumer {
	uint8_t key[OMT_POLICY_KEY_LEN];	/* Ed25519 public key */
	char key_b64[45];
	int allow;
	char network[OMT_POLICY_NAME_MAX];	/* "" only when !allow */
	int priority;				/* -1000..1000, default 0 */
	unsigned max_cpus;			/* 1..64, default 1 */
	unsigned max_memory_mib;		/* 64..65536, default 512 */
	unsigned max_jobs;			/* 1..1000, default 1; queued or running */
	unsigned storage_budget_mib;		/* its share, 1..16 TiB; 0 (default): none */
};

struct omt_policy_cfg {
	uint8_t listen_ip[4];
	uint16_t listen_port;
	char key_path[OMT_POLICY_PATH_MAX];
	char audit_log[OMT_POLICY_PATH_MAX];
	int has_metrics;
	uint8_t metrics_ip[4];
	uint16_t metrics_port;
	unsigned max_vms;		/* 1..256, default 1 */
	unsigned warm_vms;		/* 0..max_vms, default 0: VMs booted ahead of their job */
	unsigned max_timeout_s;		/* 1..604800, default 3600 */
	unsigned max_description;	/* bytes, 1..65536, default 512 */
	enum omt_owner_priority owner_priority;	/* default OMT_OWNER_IDLE */
	unsigned owner_idle_s;		/* 1..86400, default 60: idle this long, the VM goes on */
	char owner_source[8];		/* "auto" (default), "logind", "input", "cpu" */
	unsigned power_cap_vm_w;	/* 0..100000, default 0: none */
	unsigned power_cap_total_w;	/* 0..100000, default 0: none */
	struct omt_uid_range vm_uids;	/* FIRST-LAST, OMT_VM_UIDS_DEFAULT_*; at least max_vms uids */
	int tls;			/* on (1, default): the API over TLS 1.3; off: plain HTTP */
	char state_dir[OMT_POLICY_PATH_MAX];	/* default OMT_POLICY_STATE_DIR */
	unsigned storage_budget_mib;	/* all jobs' files, 1..16 TiB, default 4096 */
	struct omt_network *networks;
	size_t n_networks;
	struct omt_consumer *consumers;
	size_t n_consumers;
};

/*
 * Parses len bytes of text (no NUL needed). 0, or -EINVAL with one line in
 * err: "NAME:LINE: max_vms must be a number from 1 to 256: 'lots'" (or
 * "line 7: ..." when name_for_errors is NULL), -ENOMEM; out is then empty.
 * err may be NULL. Free a parsed policy with omt_policy_free.
 */
int omt_policy_parse(const char *text, size_t len, const char *name_for_errors,
		     struct omt_policy_cfg *out, char *err, size_t errlen);
/*
 * Reads the regular file path (at most OMT_POLICY_MAX_FILE bytes) and
 * parses it, errors naming path. 0, -EINVAL, -EFBIG, -ENOMEM or the -errno
 * of open/read.
 */
int omt_policy_load(const char *path, struct omt_policy_cfg *out, char *err, size_t errlen);
void omt_policy_free(struct omt_policy_cfg *c);

/* What a request asks for. */
struct omt_job_ask {
	const uint8_t *consumer_key;	/* OMT_POLICY_KEY_LEN bytes */
	const char *description;
	unsigned cpus, memory_mib, timeout_s;
	uint8_t endpoint_ip[4];		/* its VPN endpoint's address */
	const struct omt_host_addrs *host;	/* this host's, read now; required */
};

struct omt_decision {
	int admit;
	char reason[256];		/* why not; "" when admitted */
	const struct omt_consumer *consumer;	/* NULL if unknown; points into the cfg */
	int network_priority, consumer_priority;
	char network[OMT_POLICY_NAME_MAX];
	enum omt_owner_priority owner_priority;	/* the network's, else the provider's */
};

/*
 * Whether c admits ask, given that the consumer has running_jobs jobs
 * queued or running now: the consumer, its network, the description, the
 * endpoint (proto/endpoint.h's rules, with the network's `endpoints`), the
 * resources. Fills d and returns 0 (d->admit says yes or no); -EINVAL if
 * an argument or ask->host is NULL. max_vms is not checked here: a job
 * over it waits in the queue.
 */
int omt_policy_decide(const struct omt_policy_cfg *c, const struct omt_job_ask *ask,
		      unsigned running_jobs, struct omt_decision *d);

/*
 * The description rule the provider can't turn off: non-empty, at most max
 * bytes, valid UTF-8, no control characters (C0, DEL, C1, U+2028, U+2029)
 * nor bidi controls (U+202A..U+202E, U+2066..U+2069): it ends up in logs
 * and on the operator's terminal. 0, or -EINVAL with the reason, e.g.
 * "description is 900 bytes, over 512". s is NUL-terminated: callers that
 * take it from JSON must refuse strings with a NUL inside.
 */
int omt_description_check(const char *s, size_t max, char *reason, size_t len);

/* Queue order: network priority desc, then consumer priority desc, then seq asc. */
struct omt_queue_key {
	int network_priority, consumer_priority;
	uint64_t seq;			/* arrival order */
};

/* <0, 0 or >0 as strcmp: a sorts before b when negative. */
int omt_queue_cmp(const struct omt_queue_key *a, const struct omt_queue_key *b);

#endif
