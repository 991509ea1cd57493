/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside the policy file's parser, internal to policy/: its state, shared
 * by the reading of lines and sections (read.c) and the keys' values
 * (values.c), and the table of keys.
 */
#ifndef OMERTA_POLICY_PARSER_H
#define OMERTA_POLICY_PARSER_H

#include <stddef.h>

#include "../lib/text.h"
#include "policy.h"

#define POLICY_NAME_SHOWN_MAX 32
#define POLICY_VALUE_SHOWN_MAX 64

enum section { SEC_NONE, SEC_PROVIDER, SEC_NETWORK, SEC_CONSUMER };

struct parser;
struct key {
	const char *name;
	enum section sect;
	unsigned int flags;
	int (*parse)(struct parser *p, const struct key *k, const char *v);
};

/* Keys a section must have, in the order their absence is reported. */
#define POLICY_REQUIRED 1

/* Every key of every section (values.c). */
#define POLICY_N_KEYS 27
extern const struct key policy_keys[POLICY_N_KEYS];

/* Where things were said, for errors about them after the whole file. */
struct consumer_lines {
	size_t sect, network;
};

struct parser {
	struct omt_policy_cfg *out;
	const char *text;
	size_t len, pos;
	size_t line;			/* the line last handed to inih, 1-based */
	size_t err_line;		/* the line the error is about, 0: none */
	int failed;
	int key_pending;		/* a key line inih has not passed to us yet */
	enum section sect;
	size_t sect_line;
	size_t key_line[POLICY_N_KEYS];	/* in the current section */
	size_t provider_line;
	size_t *network_lines;
	struct consumer_lines *consumer_lines;
	size_t networks_cap, consumers_cap;
	char cur[OMT_POLICY_MAX_LINE + 1];
	char msg[512];
	char shown[OMT_QUOTE_SIZE(POLICY_VALUE_SHOWN_MAX)];
};

/*
 * The first error wins: it is kept in p->msg with the line it is about.
 * Returns -EINVAL.
 */
int policy_fail_at(struct parser *p, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define policy_fail(p, ...) policy_fail_at(p, (p)->line, __VA_ARGS__)
/* n bytes of s in quotes, cut to POLICY_VALUE_SHOWN_MAX. One per message. */
const char *policy_show_mem(struct parser *p, const char *s, size_t n);
/* A value in quotes, cut to POLICY_VALUE_SHOWN_MAX. One per message. */
const char *policy_show(struct parser *p, const char *v);

/* 1 if the n bytes of s are a network name: 1..63 of [A-Za-z0-9_.-]. */
int policy_valid_name(const char *s, size_t n);
/* The error about a network name that is not one. -EINVAL. */
int policy_fail_name(struct parser *p, const char *s, size_t n);

/* The network of c named name, or NULL (decide.c). */
const struct omt_network *policy_find_network(const struct omt_policy_cfg *c, const char *name);

#endif
