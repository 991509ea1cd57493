/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * omerta swarm's state, shared by its main thread (consumer/swarm.c) and
 * its pilot threads (consumer/pilots.c). Each pilot slot is a thread that
 * keeps one pilot going: it picks a provider (the fewest pilots, none in
 * back-off), submits, follows the job to its end and starts over.
 * struct swarm's lock guards the providers' counts and back-off; each
 * provider's http_lock makes its requests one at a time, so that its key
 * is pinned once.
 */
#ifndef OMERTA_CLI_SWARM_H
#define OMERTA_CLI_SWARM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../api/job.h"
#include "../vpn/wg.h"
#include "http.h"
#include "providers.h"

#define PASSWORD_INPUT "swarm-password"	/* the pilot's /job/input/ name */

/* The signal that asks us to stop (SIGINT, SIGTERM, SIGHUP), or 0. */
extern atomic_int swarm_signal;

struct provider {
	struct cli_provider where;
	struct cli_http http;
	pthread_mutex_t http_lock;
	/* under swarm.lock: */
	unsigned int live;		/* pilots submitted and not ended */
	unsigned int failures;		/* in a row */
	uint64_t not_before_ms;		/* back-off, omt_mono_ms() */
};

struct swarm {
	/* set before the pilots start, read-only after */
	struct provider *providers;
	size_t n_providers;
	unsigned int workers, cpus, memory_mib, timeout_s;
	uint16_t port;
	uint8_t endpoint_ip[4];		/* --endpoint-ip, when has_endpoint_ip */
	int has_endpoint_ip;
	char *description;
	char *password;
	size_t password_len;
	struct omt_wg_dev wg;
	char ifname[16];
	uint8_t subnet;			/* 10.77.subnet.0/24, us .1 */
	uint16_t wg_port;
	uint8_t wg_public[32];
	/* the pilots */
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* back-off over, or stopping */
	size_t next;			/* where the search for a provider starts */
	atomic_int stopping;
};

struct pilot {
	struct swarm *s;
	unsigned int slot;
	pthread_t thread;
	struct provider *p;
	char job[OMT_JOB_ID_LEN + 1];
	uint8_t vm_key[32];
	int peer;			/* vm_key is a peer of ours */
};

/* The pilot threads (none when NULL is returned, having said why). */
struct pilot *pilots_start(struct swarm *s);
/* Every pilot cancelled (each thread does its own) and its thread gone; pl freed. */
void pilots_stop(struct swarm *s, struct pilot *pl);

#endif
