// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../api/keys.h"
#include "../lib/parse.h"
#include "../lib/text.h"
#include "providers.h"

#define FIELD_MAX 128

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next blank-separated field of [*p, end): its start in *f, its length (0 at the end). */
static size_t next_field(const char **p, const char *end, const char **f)
{
	while (*p < end && is_blank(**p))
		(*p)++;
	for (*f = *p; *p < end && !is_blank(**p); (*p)++)
		;
	return *p - *f;
}

/* The field as a C string in buf: 0, or -EINVAL when too long or holding a NUL. */
static int field_str(const char *f, size_t n, char buf[FIELD_MAX + 1])
{
	if (n > FIELD_MAX || memchr(f, '\0', n))
		return -EINVAL;
	memcpy(buf, f, n);
	buf[n] = '\0';
	return 0;
}

static int bad(char *err, size_t errlen, unsigned int line, const char *what, const char *f,
	       size_t n)
{
	char q[OMT_QUOTE_SIZE(60)];

	snprintf(err, errlen, "line %u: %s: %s", line, what, omt_quote_mem(q, f, n, 60, 1));
	return -EINVAL;
}

int cli_provider_address(const char *s, uint8_t ip[4], uint16_t *port, int *plain)
{
	*plain = !strncmp(s, "http://", 7);
	if (*plain)
		s += 7;
	else if (!strncmp(s, "https://", 8))
		s += 8;
	return omt_parse_endpoint(s, ip, port) ? -EINVAL : 0;
}

/* One line, [s, end) with the comment cut, into *p. 1 a provider, 0 none, or -EINVAL. */
static int parse_line(const char *s, const char *end, unsigned int line, struct cli_provider *p,
		      char *err, size_t errlen)
{
	char buf[FIELD_MAX + 1];
	const char *f;
	size_t n;

	memset(p, 0, sizeof(*p));
	p->line = line;
	n = next_field(&s, end, &f);
	if (!n)
		return 0;
	if (field_str(f, n, buf) || cli_provider_address(buf, p->ip, &p->port, &p->plain))
		return bad(err, errlen, line, "not [https://|http://]IPv4:PORT", f, n);
	snprintf(p->hostport, sizeof(p->hostport), "%u.%u.%u.%u:%u", p->ip[0], p->ip[1], p->ip[2],
		 p->ip[3], p->port);
	n = next_field(&s, end, &f);
	if (n) {
		if (field_str(f, n, buf) || omt_key_from_b64(buf, p->key))
			return bad(err, errlen, line, "not a base64 32-byte provider key", f, n);
		p->has_key = 1;
	}
	n = next_field(&s, end, &f);
	if (n)
		return bad(err, errlen, line, "more than an address and a key", f, n);
	return 1;
}

int cli_providers_parse(const char *buf, size_t len, struct cli_provider *out, size_t *n,
			char *err, size_t errlen)
{
	const char *p = buf, *end = buf + len, *eol, *hash;
	unsigned int line = 0;
	size_t i;
	int r;

	*n = 0;
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	for (; p < end; p = eol + 1) {
		line++;
		eol = memchr(p, '\n', end - p);
		if (!eol)
			eol = end;
		hash = memchr(p, '#', eol - p);
		r = parse_line(p, hash ? hash : eol, line, &out[*n], err, errlen);
		if (r < 0)
			goto fail;
		if (!r)
			continue;
		for (i = 0; i < *n; i++) {
			if (!strcmp(out[i].hostport, out[*n].hostport)) {
				snprintf(err, errlen, "line %u: %s is listed already (line %u)", line,
					 out[i].hostport, out[i].line);
				goto fail;
			}
		}
		if (*n == CLI_PROVIDERS_MAX) {
			snprintf(err, errlen, "line %u: more than %d providers", line,
				 CLI_PROVIDERS_MAX);
			goto fail;
		}
		(*n)++;
	}
	return 0;
fail:
	*n = 0;
	return -EINVAL;
}
