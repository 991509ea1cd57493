// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reading the policy file: its lines (handed to inih one at a time),
 * sections, and keys passed to their parsers (values.c); then what only the
 * whole file tells.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <sodium.h>

#include "../lib/b64.h"
#include "../lib/file.h"
#include "../lib/text.h"
#include "parser.h"

_Static_assert(OMT_POLICY_MAX_LINE + 3 <= INI_MAX_LINE, "a line must fit inih's buffer");
_Static_assert(OMT_POLICY_KEY_LEN == crypto_sign_PUBLICKEYBYTES, "consumers are Ed25519 keys");

static const char *const section_names[] = { "", "[provider]", "[network]", "[consumer]" };

int policy_fail_at(struct parser *p, size_t line, const char *fmt, ...)
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

static int fail_nomem(struct parser *p)
{
	if (!p->failed) {
		snprintf(p->msg, sizeof(p->msg), "out of memory");
		p->err_line = 0;
		p->failed = -ENOMEM;
	}
	return -ENOMEM;
}

const char *policy_show_mem(struct parser *p, const char *s, size_t n)
{
	return omt_quote_mem(p->shown, s, n, POLICY_VALUE_SHOWN_MAX, 1);
}

const char *policy_show(struct parser *p, const char *v)
{
	return omt_quote(p->shown, v, POLICY_VALUE_SHOWN_MAX);
}

static const char *show_name(struct parser *p, const char *v)
{
	return omt_quote(p->shown, v, POLICY_NAME_SHOWN_MAX);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
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
		return !policy_fail(p, "no key before '='");
	for (i = 0; i < POLICY_N_KEYS && !k; i++)
		if (policy_keys[i].sect == p->sect && !strcasecmp(name, policy_keys[i].name))
			k = &policy_keys[i];
	if (!k && p->sect == SEC_NONE)
		return !policy_fail(p, "%s comes before any section", show_name(p, name));
	if (!k)
		return !policy_fail(p, "unknown key %s in %s", show_name(p, name),
				    section_names[p->sect]);
	i = k - policy_keys;
	if (p->key_line[i])
		return !policy_fail(p, "%s is given twice in this section (first on line %zu)",
				    k->name, p->key_line[i]);
	p->key_line[i] = p->line;
	return !k->parse(p, k, value);
}

/* Checks what only the end of a section tells: its required keys. */
static int end_section(struct parser *p)
{
	size_t i;

	for (i = 0; i < POLICY_N_KEYS; i++)
		if (policy_keys[i].sect == p->sect && (policy_keys[i].flags & POLICY_REQUIRED) &&
		    !p->key_line[i])
			return policy_fail_at(p, p->sect_line, "%s has no %s",
					      section_names[p->sect], policy_keys[i].name);
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

	if (!policy_valid_name(name, n))
		return policy_fail_name(p, name, n);
	for (i = 0; i < c->n_networks; i++)
		if (strlen(c->networks[i].name) == n && !memcmp(c->networks[i].name, name, n))
			return policy_fail(p, "network '%s' is declared twice (first on line %zu)",
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
	size_t i;

	if (omt_b64_decode_exact(b64, n, key, sizeof(key)))
		return policy_fail(p, "a consumer is named by its base64 32-byte Ed25519 public "
				   "key: %s", policy_show_mem(p, b64, n));
	/* Another kind of key pasted here (a WireGuard key) is likely not a point. */
	if (!crypto_core_ed25519_is_valid_point(key))
		return policy_fail(p, "not an Ed25519 public key: %s", policy_show_mem(p, b64, n));
	for (i = 0; i < c->n_consumers; i++)
		if (!memcmp(c->consumers[i].key, key, sizeof(key)))
			return policy_fail(p, "consumer '%s' is listed twice (first on line %zu)",
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
			return policy_fail(p, "%s: %s", usage, policy_show(p, s));
		name_len = q++ - name;
		while (is_blank(*q))
			q++;
	}
	if (*q != ']')
		return policy_fail(p, "%s: %s", usage, policy_show(p, s));
	q++;
	while (is_blank(*q))
		q++;
	if (*q && *q != '#' && *q != ';')
		return policy_fail(p, "text after the section header: %s", policy_show(p, s));

	if (word_len == 8 && !strncasecmp(word, "provider", 8))
		sect = SEC_PROVIDER;
	else if (word_len == 7 && !strncasecmp(word, "network", 7))
		sect = SEC_NETWORK;
	else if (word_len == 8 && !strncasecmp(word, "consumer", 8))
		sect = SEC_CONSUMER;
	else
		return policy_fail(p, "unknown section %s", policy_show(p, s));
	if ((sect == SEC_PROVIDER) != !name)
		return policy_fail(p, "%s: %s", usage, policy_show(p, s));

	err = end_section(p);
	if (err)
		return err;
	if (sect == SEC_PROVIDER && p->provider_line)
		return policy_fail(p, "[provider] is given twice (first on line %zu)",
				   p->provider_line);
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
		policy_fail(p, "expected 'key = value' or a [section]: %s", policy_show(p, p->cur));
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
		policy_fail(p, "line longer than %d bytes", OMT_POLICY_MAX_LINE);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
			policy_fail(p, "control character in line: %s", policy_show_mem(p, s, n));
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
		policy_fail(p, "expected 'key = value' or a [section]: %s", policy_show(p, p->cur));
	if (ret == -2)
		fail_nomem(p);
	else if (ret)
		policy_fail_at(p, ret, "inih could not read this line");
	if (p->failed)
		return p->failed;

	p->line = 0;
	if (end_section(p))
		return p->failed;
	if (!p->provider_line)
		return policy_fail(p, "no [provider] section");
	/* Each running VM has a uid of its own. */
	if (omt_uid_range_size(&c->vm_uids) < c->max_vms)
		return policy_fail_at(p, p->provider_line,
				      "vm_uids %u-%u has %llu uids, fewer than max_vms %u",
				      c->vm_uids.first, c->vm_uids.last,
				      (unsigned long long)omt_uid_range_size(&c->vm_uids),
				      c->max_vms);
	/* Warm VMs are VMs: they count against max_vms. */
	if (c->warm_vms > c->max_vms)
		return policy_fail_at(p, p->provider_line, "warm_vms %u is more than max_vms %u",
				      c->warm_vms, c->max_vms);
	for (i = 0; i < c->n_consumers; i++) {
		struct omt_consumer *con = &c->consumers[i];

		if (con->network[0]) {
			if (!policy_find_network(c, con->network))
				return policy_fail_at(p, p->consumer_lines[i].network,
						      "network '%s' is not declared", con->network);
		} else if (con->allow) {
			if (!policy_find_network(c, "default"))
				return policy_fail_at(p, p->consumer_lines[i].sect,
						      "consumer '%s' has no network, and there "
						      "is no [network \"default\"]", con->key_b64);
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
	out->tls = 1;
	out->max_timeout_s = 3600;
	out->max_description = 512;
	out->owner_idle_s = 60;
	strcpy(out->owner_source, "auto");
	out->vm_uids = (struct omt_uid_range){ OMT_VM_UIDS_DEFAULT_FIRST, OMT_VM_UIDS_DEFAULT_LAST };
	strcpy(out->state_dir, OMT_POLICY_STATE_DIR);
	out->storage_budget_mib = OMT_POLICY_STORAGE_BUDGET_MIB;
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
