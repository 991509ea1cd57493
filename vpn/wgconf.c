// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../lib/b64.h"
#include "../lib/file.h"
#include "../lib/parse.h"
#include "../lib/text.h"
#include "wgconf.h"

_Static_assert(OMT_WG_KEY_LEN == crypto_scalarmult_curve25519_BYTES,
	       "WireGuard keys are Curve25519 keys");

/* A name over 32 characters is not shown: any 32-byte key in base64 is 43 or more. */
#define NAME_SHOWN_MAX 32
#define VALUE_SHOWN_MAX 64

enum section { SEC_NONE, SEC_INTERFACE, SEC_PEER, SEC_N };

static const char *const section_names[SEC_N] = { "", "[Interface]", "[Peer]" };

enum {
	KEY_ONCE = 1,
	KEY_REQUIRED = 2,
	KEY_SECRET = 4,		/* never shown in an error */
};

struct parser;
struct key {
	const char *name;
	enum section sect;
	unsigned int flags;
	int (*parse)(struct parser *p, const struct key *k, char *v);
};

static int parse_private_key(struct parser *p, const struct key *k, char *v);
static int parse_address(struct parser *p, const struct key *k, char *v);
static int parse_listen_port(struct parser *p, const struct key *k, char *v);
static int parse_mtu(struct parser *p, const struct key *k, char *v);
static int parse_public_key(struct parser *p, const struct key *k, char *v);
static int parse_preshared_key(struct parser *p, const struct key *k, char *v);
static int parse_endpoint(struct parser *p, const struct key *k, char *v);
static int parse_allowed_ips(struct parser *p, const struct key *k, char *v);
static int parse_keepalive(struct parser *p, const struct key *k, char *v);
static int refuse_command(struct parser *p, const struct key *k, char *v);
static int ignore(struct parser *p, const struct key *k, char *v);

/* Required keys in the order their absence is reported. */
static const struct key keys[] = {
	{ "PrivateKey", SEC_INTERFACE, KEY_ONCE | KEY_REQUIRED | KEY_SECRET, parse_private_key },
	{ "Address", SEC_INTERFACE, KEY_REQUIRED, parse_address },
	{ "ListenPort", SEC_INTERFACE, KEY_ONCE, parse_listen_port },
	{ "MTU", SEC_INTERFACE, KEY_ONCE, parse_mtu },
	{ "DNS", SEC_INTERFACE, 0, ignore },
	{ "Table", SEC_INTERFACE, 0, ignore },
	{ "SaveConfig", SEC_INTERFACE, 0, ignore },
	{ "FwMark", SEC_INTERFACE, 0, ignore },
	{ "PreUp", SEC_INTERFACE, 0, refuse_command },
	{ "PostUp", SEC_INTERFACE, 0, refuse_command },
	{ "PreDown", SEC_INTERFACE, 0, refuse_command },
	{ "PostDown", SEC_INTERFACE, 0, refuse_command },
	{ "PublicKey", SEC_PEER, KEY_ONCE | KEY_REQUIRED, parse_public_key },
	{ "PresharedKey", SEC_PEER, KEY_ONCE | KEY_SECRET, parse_preshared_key },
	{ "Endpoint", SEC_PEER, KEY_ONCE | KEY_REQUIRED, parse_endpoint },
	{ "AllowedIPs", SEC_PEER, KEY_REQUIRED, parse_allowed_ips },
	{ "PersistentKeepalive", SEC_PEER, KEY_ONCE, parse_keepalive },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

struct parser {
	struct omt_wgconf *out;
	size_t line;			/* the line being parsed, 1-based */
	size_t err_line;		/* the line the error is about, 0: none */
	enum section sect;
	size_t sect_line[SEC_N];
	size_t key_line[N_KEYS];
	int have_address;
	char msg[512];
	char shown[OMT_QUOTE_SIZE(VALUE_SHOWN_MAX)];
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	p->err_line = p->line;
	return -EINVAL;
}

/*
 * s in quotes, for an error: cut to max bytes, and anything but printable
 * ASCII escaped, since the message ends up in logs and terminals. One per
 * message: it reuses p->shown.
 */
static const char *show(struct parser *p, const char *value)
{
	return omt_quote(p->shown, value, VALUE_SHOWN_MAX);
}

/* Text we do not recognise may be a key pasted in the wrong place. */
static const char *show_name(struct parser *p, const char *s)
{
	size_t n = strlen(s);

	if (n <= NAME_SHOWN_MAX)
		return omt_quote(p->shown, s, NAME_SHOWN_MAX);
	snprintf(p->shown, sizeof(p->shown), "(%zu characters, not shown)", n);
	return p->shown;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char *trim(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* "a.b.c.d/prefix" or "a.b.c.d" (a /32), as wg and ip(8) take them. */
static int parse_cidr4(const char *s, struct omt_wg_cidr *c)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t prefix = 32;
	char ip[16];

	if (n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (omt_parse_ipv4(ip, c->ip))
		return -EINVAL;
	if (slash && omt_parse_digits(slash + 1, 9, 32, &prefix))
		return -EINVAL;
	c->prefix = prefix;
	return 0;
}

/* The next comma-separated item of *rest, trimmed; NULL after the last. */
static char *next_item(char **rest)
{
	char *s = *rest, *comma;

	if (!s)
		return NULL;
	comma = strchr(s, ',');
	if (comma) {
		*comma = '\0';
		*rest = comma + 1;
	} else {
		*rest = NULL;
	}
	return trim(s);
}

static int parse_cidr_item(struct parser *p, const struct key *k, const char *item,
			   struct omt_wg_cidr *c)
{
	if (!*item)
		return fail(p, "%s has an empty entry", k->name);
	if (strchr(item, ':'))
		return fail(p, "%s: IPv6 is not supported: %s", k->name, show(p, item));
	if (parse_cidr4(item, c))
		return fail(p, "%s is not an IPv4 address/prefix: %s", k->name, show(p, item));
	return 0;
}

static int parse_b64_key(struct parser *p, const struct key *k, const char *v,
			 uint8_t out[OMT_WG_KEY_LEN])
{
	if (omt_b64_decode_exact(v, strlen(v), out, OMT_WG_KEY_LEN)) {
		sodium_memzero(out, OMT_WG_KEY_LEN);
		if (k->flags & KEY_SECRET)
			return fail(p, "%s is not a base64 32-byte key", k->name);
		return fail(p, "%s is not a base64 32-byte key: %s", k->name, show(p, v));
	}
	return 0;
}

static int parse_private_key(struct parser *p, const struct key *k, char *v)
{
	return parse_b64_key(p, k, v, p->out->private_key);
}

static int parse_public_key(struct parser *p, const struct key *k, char *v)
{
	return parse_b64_key(p, k, v, p->out->peer_public_key);
}

static int parse_preshared_key(struct parser *p, const struct key *k, char *v)
{
	p->out->has_preshared_key = 1;
	return parse_b64_key(p, k, v, p->out->preshared_key);
}

static int parse_address(struct parser *p, const struct key *k, char *v)
{
	struct omt_wg_cidr c;
	char *item;
	int err;

	while ((item = next_item(&v))) {
		err = parse_cidr_item(p, k, item, &c);
		if (err)
			return err;
		if (p->have_address)
			return fail(p, "Address: one IPv4 address only, this is a second one: %s",
				    show(p, item));
		p->out->address = c;
		p->have_address = 1;
	}
	return 0;
}

static int parse_allowed_ips(struct parser *p, const struct key *k, char *v)
{
	struct omt_wgconf *out = p->out;
	struct omt_wg_cidr c;
	char *item;
	int i, err;

	while ((item = next_item(&v))) {
		err = parse_cidr_item(p, k, item, &c);
		if (err)
			return err;
		if (out->n_allowed_ips == OMT_WG_MAX_ALLOWED_IPS)
			return fail(p, "AllowedIPs: more than %d, at %s", OMT_WG_MAX_ALLOWED_IPS,
				    show(p, item));
		for (i = 0; i < 4; i++) {
			int bits = c.prefix - 8 * i;

			if (bits <= 0)
				c.ip[i] = 0;
			else if (bits < 8)
				c.ip[i] &= 0xff << (8 - bits);
		}
		out->allowed_ips[out->n_allowed_ips++] = c;
	}
	return 0;
}

static int parse_endpoint(struct parser *p, const struct key *k, char *v)
{
	const char *colon = strchr(v, ':');
	size_t i, host_len;

	(void)k;
	if (v[0] == '[' || (colon && strchr(colon + 1, ':')))
		return fail(p, "Endpoint: IPv6 is not supported: %s", show(p, v));
	if (!omt_parse_endpoint(v, p->out->endpoint_ip, &p->out->endpoint_port))
		return 0;
	host_len = colon ? (size_t)(colon - v) : strlen(v);
	for (i = 0; i < host_len; i++)
		if ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z'))
			return fail(p, "Endpoint must be a literal IPv4:PORT, not a host name "
				    "(no DNS): %s", show(p, v));
	return fail(p, "Endpoint is not IPv4:PORT: %s", show(p, v));
}

static int parse_u16(struct parser *p, const struct key *k, const char *v,
		     unsigned long min, unsigned long max, uint16_t *out)
{
	uint64_t n;

	if (omt_parse_digits(v, 9, max, &n) || n < min)
		return fail(p, "%s is not a number from %lu to %lu: %s", k->name, min, max,
			    show(p, v));
	*out = n;
	return 0;
}

static int parse_listen_port(struct parser *p, const struct key *k, char *v)
{
	return parse_u16(p, k, v, 0, 65535, &p->out->listen_port);
}

/* 68: the least IPv4 allows; the kernel checks its own maximum. */
static int parse_mtu(struct parser *p, const struct key *k, char *v)
{
	return parse_u16(p, k, v, 68, 65535, &p->out->mtu);
}

static int parse_keepalive(struct parser *p, const struct key *k, char *v)
{
	if (!strcasecmp(v, "off")) {
		p->out->persistent_keepalive = 0;
		return 0;
	}
	return parse_u16(p, k, v, 0, 65535, &p->out->persistent_keepalive);
}

static int refuse_command(struct parser *p, const struct key *k, char *v)
{
	(void)v;
	return fail(p, "%s is a shell command, which Omerta never runs: remove it", k->name);
}

static int ignore(struct parser *p, const struct key *k, char *v)
{
	(void)p;
	(void)k;
	(void)v;
	return 0;
}

static int parse_section(struct parser *p, const char *s)
{
	enum section sect;

	if (!strcasecmp(s, "[Interface]"))
		sect = SEC_INTERFACE;
	else if (!strcasecmp(s, "[Peer]"))
		sect = SEC_PEER;
	else
		return fail(p, "unknown section %s", show_name(p, s));
	if (p->sect_line[sect])
		return fail(p, "a second %s (the first is on line %zu): %s", section_names[sect],
			    p->sect_line[sect], sect == SEC_PEER ?
			    "the VM talks to exactly one peer" : "there is one interface");
	p->sect_line[sect] = p->line;
	p->sect = sect;
	return 0;
}

static int parse_line(struct parser *p, char *s)
{
	const struct key *k = NULL;
	char *hash, *eq, *name, *value;
	size_t i;

	hash = strchr(s, '#');
	if (hash)
		*hash = '\0';
	s = trim(s);
	if (!*s)
		return 0;
	if (*s == '[')
		return parse_section(p, s);
	eq = strchr(s, '=');
	if (!eq)
		return fail(p, "expected 'Key = Value' or a [Section]: %s", show_name(p, s));
	*eq = '\0';
	name = trim(s);
	value = trim(eq + 1);
	if (!*name)
		return fail(p, "no key before '='");
	for (i = 0; i < N_KEYS && !k; i++)
		if (!strcasecmp(name, keys[i].name))
			k = &keys[i];
	if (!k)
		return fail(p, "unknown key %s%s%s", show_name(p, name),
			    p->sect ? " in " : "", section_names[p->sect]);
	if (p->sect == SEC_NONE)
		return fail(p, "%s comes before any section; it belongs in %s", k->name,
			    section_names[k->sect]);
	if (p->sect != k->sect)
		return fail(p, "%s belongs in %s, not in %s", k->name, section_names[k->sect],
			    section_names[p->sect]);
	i = k - keys;
	if ((k->flags & KEY_ONCE) && p->key_line[i])
		return fail(p, "%s is given twice (first on line %zu)", k->name, p->key_line[i]);
	if (!p->key_line[i])
		p->key_line[i] = p->line;
	return k->parse(p, k, value);
}

static int parse(struct parser *p, const char *buf, size_t len)
{
	char line[OMT_WGCONF_MAX_LINE + 1];
	size_t pos = 0, i;
	int err = 0;

	if (sodium_init() < 0) {
		snprintf(p->msg, sizeof(p->msg), "libsodium failed to initialise");
		return -ENOMEM;
	}
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = (nl ? (size_t)(nl - buf) : len) - pos;

		p->line++;
		if (n > OMT_WGCONF_MAX_LINE) {
			err = fail(p, "line longer than %d bytes", OMT_WGCONF_MAX_LINE);
			break;
		}
		if (memchr(buf + pos, '\0', n)) {
			err = fail(p, "line contains a NUL byte");
			break;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		err = parse_line(p, line);
		if (err)
			break;
		pos += n + 1;
	}
	sodium_memzero(line, sizeof(line));
	if (err)
		return err;

	p->line = 0;
	for (i = SEC_INTERFACE; i < SEC_N; i++)
		if (!p->sect_line[i])
			return fail(p, "no %s section", section_names[i]);
	for (i = 0; i < N_KEYS; i++) {
		if ((keys[i].flags & KEY_REQUIRED) && !p->key_line[i]) {
			p->line = p->sect_line[keys[i].sect];
			return fail(p, "%s has no %s", section_names[keys[i].sect], keys[i].name);
		}
	}
	return 0;
}

static int parse_into(const char *path, const char *buf, size_t len, struct omt_wgconf *out,
		      char *err, size_t errlen)
{
	struct parser p = { .out = out };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse(&p, buf, len);
	if (ret) {
		sodium_memzero(out, sizeof(*out));
		omt_errf_at(err, errlen, path, p.err_line, p.msg);
	}
	return ret;
}

int omt_wgconf_parse(const char *buf, size_t len, struct omt_wgconf *out,
		     char *err, size_t errlen)
{
	return parse_into(NULL, buf, len, out, err, errlen);
}

int omt_wgconf_load(const char *path, struct omt_wgconf *out, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int ret;

	sodium_memzero(out, sizeof(*out));
	ret = omt_read_file(path, OMT_WGCONF_MAX_FILE, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = parse_into(path, buf, len, out, err, errlen);
	sodium_memzero(buf, len);
	free(buf);
	return ret;
}

void omt_wgconf_clear(struct omt_wgconf *c)
{
	sodium_memzero(c, sizeof(*c));
}
