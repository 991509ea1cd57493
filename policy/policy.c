// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <sodium.h>

#include "../lib/file.h"
#include "../lib/parse.h"
#include "../lib/text.h"
#include "policy.h"

_Static_assert(OMT_POLICY_MAX_LINE + 3 <= INI_MAX_LINE, "a line must fit inih's buffer");
_Static_assert(OMT_POLICY_KEY_LEN == crypto_sign_PUBLICKEYBYTES, "consumers are Ed25519 keys");

#define NAME_SHOWN_MAX 32
#define VALUE_SHOWN_MAX 64

enum section { SEC_NONE, SEC_PROVIDER, SEC_NETWORK, SEC_CONSUMER };

static const char *const section_names[] = { "", "[provider]", "[network]", "[consumer]" };

struct parser;
struct key {
	const char *name;
	enum section sect;
	unsigned int flags;
	int (*parse)(struct parser *p, const struct key *k, const char *v);
};

static int parse_listen(struct parser *p, const struct key *k, const char *v);
static int parse_metrics_listen(struct parser *p, const struct key *k, const char *v);
static int parse_key_path(struct parser *p, const struct key *k, const char *v);
static int parse_audit_log(struct parser *p, const struct key *k, const char *v);
static int parse_max_vms(struct parser *p, const struct key *k, const char *v);
static int parse_max_timeout(struct parser *p, const struct key *k, const char *v);
static int parse_max_description(struct parser *p, const struct key *k, const char *v);
static int parse_network_priority(struct parser *p, const struct key *k, const char *v);
static int parse_allow(struct parser *p, const struct key *k, const char *v);
static int parse_network(struct parser *p, const struct key *k, const char *v);
static int parse_consumer_priority(struct parser *p, const struct key *k, const char *v);
static int parse_max_cpus(struct parser *p, const struct key *k, const char *v);
static int parse_max_memory(struct parser *p, const struct key *k, const char *v);
static int parse_max_jobs(struct parser *p, const struct key *k, const char *v);
static int parse_owner_priority(struct parser *p, const struct key *k, const char *v);
static int parse_network_owner_priority(struct parser *p, const struct key *k, const char *v);
static int parse_owner_idle(struct parser *p, const struct key *k, const char *v);
static int parse_owner_source(struct parser *p, const struct key *k, const char *v);
static int parse_power_cap_vm(struct parser *p, const struct key *k, const char *v);
static int parse_power_cap_total(struct parser *p, const struct key *k, const char *v);

/* Keys a section must have, in the order their absence is reported. */
#define REQUIRED 1

static const struct key keys[] = {
	{ "listen", SEC_PROVIDER, REQUIRED, parse_listen },
	{ "key", SEC_PROVIDER, REQUIRED, parse_key_path },
	{ "audit_log", SEC_PROVIDER, REQUIRED, parse_audit_log },
	{ "metrics_listen", SEC_PROVIDER, 0, parse_metrics_listen },
	{ "max_vms", SEC_PROVIDER, 0, parse_max_vms },
	{ "max_timeout_s", SEC_PROVIDER, 0, parse_max_timeout },
	{ "max_description", SEC_PROVIDER, 0, parse_max_description },
	{ "owner_priority", SEC_PROVIDER, 0, parse_owner_priority },
	{ "owner_idle_s", SEC_PROVIDER, 0, parse_owner_idle },
	{ "owner_source", SEC_PROVIDER, 0, parse_owner_source },
	{ "power_cap_vm_w", SEC_PROVIDER, 0, parse_power_cap_vm },
	{ "power_cap_total_w", SEC_PROVIDER, 0, parse_power_cap_total },
	{ "priority", SEC_NETWORK, 0, parse_network_priority },
	{ "owner_priority", SEC_NETWORK, 0, parse_network_owner_priority },
	{ "allow", SEC_CONSUMER, REQUIRED, parse_allow },
	{ "network", SEC_CONSUMER, 0, parse_network },
	{ "priority", SEC_CONSUMER, 0, parse_consumer_priority },
	{ "max_cpus", SEC_CONSUMER, 0, parse_max_cpus },
	{ "max_memory_mib", SEC_CONSUMER, 0, parse_max_memory },
	{ "max_jobs", SEC_CONSUMER, 0, parse_max_jobs },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

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
	size_t key_line[N_KEYS];	/* in the current section */
	size_t provider_line;
	size_t *network_lines;
	struct consumer_lines *consumer_lines;
	size_t networks_cap, consumers_cap;
	char cur[OMT_POLICY_MAX_LINE + 1];
	char msg[512];
	char shown[VALUE_SHOWN_MAX * 4 + 8];
};

__attribute__((format(printf, 3, 4)))
static int fail_at(struct parser *p, size_t line, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	p->err_line = line;
	p->failed = -EINVAL;
	return -EINVAL;
}

#define fail(p, ...) fail_at(p, (p)->line, __VA_ARGS__)

static int fail_nomem(struct parser *p)
{
	if (!p->failed) {
		snprintf(p->msg, sizeof(p->msg), "out of memory");
		p->err_line = 0;
		p->failed = -ENOMEM;
	}
	return -ENOMEM;
}

/*
 * s in quotes for an error, cut to max bytes, anything but printable ASCII
 * escaped: the message ends up in logs and terminals. One per message.
 */
static const char *quote(struct parser *p, const char *s, size_t n, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	char *o = p->shown;
	size_t i;

	*o++ = '\'';
	for (i = 0; i < n && i < max; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			*o++ = c;
		} else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	if (i < n) {
		memcpy(o, "...", 3);
		o += 3;
	}
	*o++ = '\'';
	*o = '\0';
	return p->shown;
}

static const char *show(struct parser *p, const char *v)
{
	return quote(p, v, strlen(v), VALUE_SHOWN_MAX);
}

static const char *show_name(struct parser *p, const char *v)
{
	return quote(p, v, strlen(v), NAME_SHOWN_MAX);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* An optional '-', then 1 to 9 digits: no '+', no spaces, no hex. */
static int parse_int(const char *s, long min, long max, long *out)
{
	int neg = *s == '-';
	long v = 0;
	size_t i;

	s += neg;
	if (!*s || strlen(s) > 9)
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_number(struct parser *p, const struct key *k, const char *v, long min,
			long max, long *out)
{
	if (parse_int(v, min, max, out))
		return fail(p, "%s must be a number from %ld to %ld: %s", k->name, min, max,
			    show(p, v));
	return 0;
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
		return fail(p, "%s must be IPv4:PORT, as in 127.0.0.1:7360: %s", k->name,
			    show(p, v));
	return 0;
}

static int parse_path(struct parser *p, const struct key *k, const char *v, char *out)
{
	if (v[0] != '/' || strlen(v) >= OMT_POLICY_PATH_MAX)
		return fail(p, "%s must be an absolute path: %s", k->name, show(p, v));
	strcpy(out, v);
	return 0;
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

const char *const omt_owner_priority_names[OMT_OWNER_KILL + 1] = {
	[OMT_OWNER_IDLE] = "idle", [OMT_OWNER_PAUSE] = "pause",
	[OMT_OWNER_CHECKPOINT] = "checkpoint", [OMT_OWNER_KILL] = "kill",
};

const char *omt_owner_priority_name(enum omt_owner_priority p)
{
	return p >= OMT_OWNER_IDLE && p <= OMT_OWNER_KILL ? omt_owner_priority_names[p] : "inherit";
}

static int parse_word(struct parser *p, const struct key *k, const char *v,
		      const char *const *words, int n, const char *choices)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(v, words[i]))
			return i;
	return fail(p, "%s must be %s: %s", k->name, choices, show(p, v));
}

static int parse_owner_word(struct parser *p, const struct key *k, const char *v,
			    enum omt_owner_priority *out)
{
	int i = parse_word(p, k, v, omt_owner_priority_names, 4, "idle, pause, checkpoint or kill");

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
	return parse_unsigned(p, k, v, 1, 86400, &p->out->owner_idle_s);
}

static int parse_owner_source(struct parser *p, const struct key *k, const char *v)
{
	static const char *const sources[] = { "auto", "logind", "input", "cpu" };
	int i = parse_word(p, k, v, sources, 4, "auto, logind, input or cpu");

	if (i >= 0)
		strcpy(p->out->owner_source, sources[i]);
	return i < 0 ? i : 0;
}

static int parse_power_cap_vm(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 0, 100000, &p->out->power_cap_vm_w);
}

static int parse_power_cap_total(struct parser *p, const struct key *k, const char *v)
{
	return parse_unsigned(p, k, v, 0, 100000, &p->out->power_cap_total_w);
}

static int parse_allow(struct parser *p, const struct key *k, const char *v)
{
	if (!strcasecmp(v, "yes"))
		cur_consumer(p)->allow = 1;
	else if (!strcasecmp(v, "no"))
		cur_consumer(p)->allow = 0;
	else
		return fail(p, "%s must be yes or no: %s", k->name, show(p, v));
	return 0;
}

static int valid_name(const char *s, size_t n)
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

static int fail_name(struct parser *p, const char *s, size_t n)
{
	return fail(p, "a network name is 1 to %d letters, digits, '_', '-' or '.': %s",
		    OMT_POLICY_NAME_MAX - 1, quote(p, s, n, VALUE_SHOWN_MAX));
}

static int parse_network(struct parser *p, const struct key *k, const char *v)
{
	(void)k;
	if (!valid_name(v, strlen(v)))
		return fail_name(p, v, strlen(v));
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

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	const struct key *k = NULL;
	size_t i;

	(void)section;	/* cut at 49 bytes by inih: we follow sections ourselves */
	p->key_pending = 0;
	if (p->failed)
		return 0;
	if (!*name)
		return !fail(p, "no key before '='");
	for (i = 0; i < N_KEYS && !k; i++)
		if (keys[i].sect == p->sect && !strcasecmp(name, keys[i].name))
			k = &keys[i];
	if (!k && p->sect == SEC_NONE)
		return !fail(p, "%s comes before any section", show_name(p, name));
	if (!k)
		return !fail(p, "unknown key %s in %s", show_name(p, name), section_names[p->sect]);
	i = k - keys;
	if (p->key_line[i])
		return !fail(p, "%s is given twice in this section (first on line %zu)", k->name,
			     p->key_line[i]);
	p->key_line[i] = p->line;
	return !k->parse(p, k, value);
}

/* Checks what only the end of a section tells: its required keys. */
static int end_section(struct parser *p)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (keys[i].sect == p->sect && (keys[i].flags & REQUIRED) && !p->key_line[i])
			return fail_at(p, p->sect_line, "%s has no %s", section_names[p->sect],
				       keys[i].name);
	return 0;
}

static int grow(struct parser *p, void **arr, void **lines, size_t n, size_t *cap,
		size_t size, size_t line_size)
{
	size_t cap2 = *cap ? *cap * 2 : 8;
	void *a, *l;

	if (n < *cap)
		return 0;
	a = realloc(*arr, cap2 * size);
	if (!a)
		return fail_nomem(p);
	*arr = a;
	l = realloc(*lines, cap2 * line_size);
	if (!l)
		return fail_nomem(p);
	*lines = l;
	*cap = cap2;
	return 0;
}

static int add_network(struct parser *p, const char *name, size_t n)
{
	struct omt_policy_cfg *c = p->out;
	struct omt_network *net;
	size_t i;

	if (!valid_name(name, n))
		return fail_name(p, name, n);
	for (i = 0; i < c->n_networks; i++)
		if (strlen(c->networks[i].name) == n && !memcmp(c->networks[i].name, name, n))
			return fail(p, "network '%s' is declared twice (first on line %zu)",
				    c->networks[i].name, p->network_lines[i]);
	if (grow(p, (void **)&c->networks, (void **)&p->network_lines, c->n_networks,
		 &p->networks_cap, sizeof(*c->networks), sizeof(*p->network_lines)))
		return -ENOMEM;
	net = &c->networks[c->n_networks];
	memset(net, 0, sizeof(*net));
	net->owner_priority = OMT_OWNER_INHERIT;
	memcpy(net->name, name, n);
	p->network_lines[c->n_networks++] = p->line;
	return 0;
}

static int add_consumer(struct parser *p, const char *b64, size_t n)
{
	struct omt_policy_cfg *c = p->out;
	uint8_t key[OMT_POLICY_KEY_LEN];
	struct omt_consumer *con;
	size_t i, key_len;

	if (sodium_base642bin(key, sizeof(key), b64, n, NULL, &key_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) || key_len != sizeof(key))
		return fail(p, "a consumer is named by its base64 32-byte Ed25519 public key: %s",
			    quote(p, b64, n, VALUE_SHOWN_MAX));
	/* Another kind of key pasted here (a WireGuard key) is likely not a point. */
	if (!crypto_core_ed25519_is_valid_point(key))
		return fail(p, "not an Ed25519 public key: %s", quote(p, b64, n, VALUE_SHOWN_MAX));
	for (i = 0; i < c->n_consumers; i++)
		if (!memcmp(c->consumers[i].key, key, sizeof(key)))
			return fail(p, "consumer '%s' is listed twice (first on line %zu)",
				    c->consumers[i].key_b64, p->consumer_lines[i].sect);
	if (grow(p, (void **)&c->consumers, (void **)&p->consumer_lines, c->n_consumers,
		 &p->consumers_cap, sizeof(*c->consumers), sizeof(*p->consumer_lines)))
		return -ENOMEM;
	con = &c->consumers[c->n_consumers];
	memset(con, 0, sizeof(*con));
	memcpy(con->key, key, sizeof(key));
	sodium_bin2base64(con->key_b64, sizeof(con->key_b64), key, sizeof(key),
			  sodium_base64_VARIANT_ORIGINAL);
	con->max_cpus = 1;
	con->max_memory_mib = 512;
	con->max_jobs = 1;
	p->consumer_lines[c->n_consumers].sect = p->line;
	p->consumer_lines[c->n_consumers++].network = 0;
	return 0;
}

/*
 * [provider], [network "NAME"] or [consumer "KEY"], blanks allowed around
 * the parts, then only a comment. inih would cut the name at 49 bytes (a
 * consumer key is 44), so sections are read here.
 */
static int parse_section(struct parser *p, const char *s)
{
	static const char usage[] = "a section is [provider], [network \"NAME\"] or "
				    "[consumer \"KEY\"]";
	const char *word, *name = NULL, *q = s + 1;
	size_t word_len, name_len = 0;
	enum section sect;
	int err;

	while (is_blank(*q))
		q++;
	word = q;
	while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))
		q++;
	word_len = q - word;
	while (is_blank(*q))
		q++;
	if (*q == '"') {
		name = ++q;
		q = strchr(q, '"');
		if (!q)
			return fail(p, "%s: %s", usage, show(p, s));
		name_len = q++ - name;
		while (is_blank(*q))
			q++;
	}
	if (*q != ']')
		return fail(p, "%s: %s", usage, show(p, s));
	q++;
	while (is_blank(*q))
		q++;
	if (*q && *q != '#' && *q != ';')
		return fail(p, "text after the section header: %s", show(p, s));

	if (word_len == 8 && !strncasecmp(word, "provider", 8))
		sect = SEC_PROVIDER;
	else if (word_len == 7 && !strncasecmp(word, "network", 7))
		sect = SEC_NETWORK;
	else if (word_len == 8 && !strncasecmp(word, "consumer", 8))
		sect = SEC_CONSUMER;
	else
		return fail(p, "unknown section %s", show(p, s));
	if ((sect == SEC_PROVIDER) != !name)
		return fail(p, "%s: %s", usage, show(p, s));

	err = end_section(p);
	if (err)
		return err;
	if (sect == SEC_PROVIDER && p->provider_line)
		return fail(p, "[provider] is given twice (first on line %zu)", p->provider_line);
	if (sect == SEC_PROVIDER)
		p->provider_line = p->line;
	else if (sect == SEC_NETWORK)
		err = add_network(p, name, name_len);
	else
		err = add_consumer(p, name, name_len);
	if (err)
		return err;
	p->sect = sect;
	p->sect_line = p->line;
	memset(p->key_line, 0, sizeof(p->key_line));
	return 0;
}

/*
 * inih's reader: hands it one line at a time so that we count lines, and
 * prepares the line. Leading blanks go (inih would take an indented line
 * for the continuation of the previous value), as do a " #" comment and
 * the line end. An error ends the input.
 */
static char *reader(char *str, int num, void *user)
{
	struct parser *p = user;
	const char *s, *nl;
	char *line = p->cur;
	size_t n, i;

	if (p->key_pending)
		fail(p, "expected 'key = value' or a [section]: %s", show(p, p->cur));
	if (p->failed || p->pos >= p->len)
		return NULL;
	s = p->text + p->pos;
	nl = memchr(s, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - s) : p->len - p->pos;
	p->pos += n + 1;
	p->line++;
	if (p->line == 1 && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
		s += 3;
		n -= 3;
	}
	if (n && s[n - 1] == '\r')
		n--;
	if (n > OMT_POLICY_MAX_LINE || n + 2 > (size_t)num) {
		fail(p, "line longer than %d bytes", OMT_POLICY_MAX_LINE);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
			fail(p, "control character in line: %s", quote(p, s, n, VALUE_SHOWN_MAX));
			return NULL;
		}
	}
	while (n && is_blank(*s)) {
		s++;
		n--;
	}
	memcpy(line, s, n);
	line[n] = '\0';
	if (line[0] == '[') {
		if (parse_section(p, line))
			return NULL;
	} else if (line[0] && line[0] != '#' && line[0] != ';') {
		for (i = 1; i < n; i++) {
			if (line[i] == '#' && is_blank(line[i - 1])) {
				line[i] = '\0';
				break;
			}
		}
		p->key_pending = 1;
	}
	snprintf(str, num, "%s\n", line);
	return str;
}

static const struct omt_network *find_network(const struct omt_policy_cfg *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_networks; i++)
		if (!strcmp(c->networks[i].name, name))
			return &c->networks[i];
	return NULL;
}

static int parse(struct parser *p)
{
	struct omt_policy_cfg *c = p->out;
	size_t i;
	int ret;

	if (sodium_init() < 0) {
		snprintf(p->msg, sizeof(p->msg), "libsodium failed to initialise");
		return -ENOMEM;
	}
	ret = ini_parse_stream(reader, p, handler, p);
	if (p->key_pending)
		fail(p, "expected 'key = value' or a [section]: %s", show(p, p->cur));
	if (ret == -2)
		fail_nomem(p);
	else if (ret)
		fail_at(p, ret, "inih could not read this line");
	if (p->failed)
		return p->failed;

	p->line = 0;
	if (end_section(p))
		return p->failed;
	if (!p->provider_line)
		return fail(p, "no [provider] section");
	for (i = 0; i < c->n_consumers; i++) {
		struct omt_consumer *con = &c->consumers[i];

		if (con->network[0]) {
			if (!find_network(c, con->network))
				return fail_at(p, p->consumer_lines[i].network,
					       "network '%s' is not declared", con->network);
		} else if (con->allow) {
			if (!find_network(c, "default"))
				return fail_at(p, p->consumer_lines[i].sect,
					       "consumer '%s' has no network, and there is no "
					       "[network \"default\"]", con->key_b64);
			strcpy(con->network, "default");
		}
	}
	return 0;
}

int omt_policy_parse(const char *text, size_t len, const char *name_for_errors,
		     struct omt_policy_cfg *out, char *err, size_t errlen)
{
	struct parser p = { .out = out, .text = text, .len = len };
	int ret;

	memset(out, 0, sizeof(*out));
	out->max_vms = 1;
	out->max_timeout_s = 3600;
	out->max_description = 512;
	out->owner_idle_s = 60;
	strcpy(out->owner_source, "auto");
	ret = parse(&p);
	free(p.network_lines);
	free(p.consumer_lines);
	if (ret) {
		omt_policy_free(out);
		omt_errf_at(err, errlen, name_for_errors, p.err_line, p.msg);
	}
	return ret;
}

int omt_policy_load(const char *path, struct omt_policy_cfg *out, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = omt_read_file(path, OMT_POLICY_MAX_FILE, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = omt_policy_parse(buf, len, path, out, err, errlen);
	free(buf);
	return ret;
}

void omt_policy_free(struct omt_policy_cfg *c)
{
	free(c->networks);
	free(c->consumers);
	c->networks = NULL;
	c->consumers = NULL;
	c->n_networks = 0;
	c->n_consumers = 0;
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

	if (!c || !ask || !d)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	con = find_consumer(c, ask->consumer_key);
	if (!con)
		return refuse(d, "unknown consumer key");
	d->consumer = con;
	d->consumer_priority = con->priority;
	if (!con->allow)
		return refuse(d, "consumer denied by policy");
	net = find_network(c, con->network);
	if (!net)	/* omt_policy_parse makes sure it is there */
		return refuse(d, "network '%s' is not declared", con->network);
	d->network_priority = net->priority;
	snprintf(d->network, sizeof(d->network), "%s", net->name);
	d->owner_priority = net->owner_priority == OMT_OWNER_INHERIT ? c->owner_priority :
								       net->owner_priority;

	if (omt_description_check(ask->description ? ask->description : "",
				  c->max_description, d->reason, sizeof(d->reason)))
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

static int no_reason(char *reason, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int no_reason(char *reason, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (reason && len) {
		va_start(ap, fmt);
		vsnprintf(reason, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * The code point of the UTF-8 sequence at s, and its length in *n; -1 if
 * it is not valid: truncated, overlong, a surrogate or over U+10FFFF.
 */
static long utf8_next(const unsigned char *s, size_t *n)
{
	static const long min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len, i;
	long cp;

	if (s[0] < 0x80) {
		*n = 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return -1;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n = len;
	return cp;
}

static int is_control(long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int omt_description_check(const char *s, size_t max, char *reason, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i, step;
	long cp;

	if (!n)
		return no_reason(reason, len, "description is empty");
	if (n > max)
		return no_reason(reason, len, "description is %zu bytes, over %zu", n, max);
	for (i = 0; i < n; i += step) {
		cp = utf8_next(u + i, &step);
		if (cp < 0)
			return no_reason(reason, len, "description is not valid UTF-8 (at byte %zu)",
					 i);
		if (is_control(cp))
			return no_reason(reason, len, "description has a control character "
					 "U+%04lX (at byte %zu)", cp, i);
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
