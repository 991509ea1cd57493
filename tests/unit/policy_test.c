// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../policy/policy.h"

/* Ed25519 public keys (crypto_sign_keypair), and 32 bytes that are not one. */
#define K1 "tnjKwtqNn/rf8qagrfAegRNZELd3HKjfeUm8gFghzmU="
#define K2 "QVOm/LyXISk2oGXphQHK3B9pFh1+5mAwfWPejfC00X8="
#define K3 "fJUNDun3t+XfFQzusKKoh0rlPgwjqnNRfKO5ECA+GzA="
#define NOT_POINT "18fM60Bbeds/otuXMCazHHQJpafEJOD7UwxOmXdq1/g="

/* Lines 1-4, 5-6 and 7-8. */
#define PROVIDER "[provider]\nlisten = 127.0.0.1:7360\nkey = /etc/omerta/provider.key\n" \
	"audit_log = /var/log/omerta/audit.jsonl\n"
#define NETDEF "[network \"default\"]\npriority = 0\n"
#define CONS1 "[consumer \"" K1 "\"]\nallow = yes\n"
#define GOOD PROVIDER NETDEF CONS1

static const uint8_t k1[32] = {
	0xb6, 0x78, 0xca, 0xc2, 0xda, 0x8d, 0x9f, 0xfa, 0xdf, 0xf2, 0xa6, 0xa0, 0xad, 0xf0, 0x1e, 0x81,
	0x13, 0x59, 0x10, 0xb7, 0x77, 0x1c, 0xa8, 0xdf, 0x79, 0x49, 0xbc, 0x80, 0x58, 0x21, 0xce, 0x65,
};
static const uint8_t k2[32] = {
	0x41, 0x53, 0xa6, 0xfc, 0xbc, 0x97, 0x21, 0x29, 0x36, 0xa0, 0x65, 0xe9, 0x85, 0x01, 0xca, 0xdc,
	0x1f, 0x69, 0x16, 0x1d, 0x7e, 0xe6, 0x60, 0x30, 0x7d, 0x63, 0xde, 0x8d, 0xf0, 0xb4, 0xd1, 0x7f,
};
static const uint8_t k3[32] = {
	0x7c, 0x95, 0x0d, 0x0e, 0xe9, 0xf7, 0xb7, 0xe5, 0xdf, 0x15, 0x0c, 0xee, 0xb0, 0xa2, 0xa8, 0x87,
	0x4a, 0xe5, 0x3e, 0x0c, 0x23, 0xaa, 0x73, 0x51, 0x7c, 0xa3, 0xb9, 0x10, 0x20, 0x3e, 0x1b, 0x30,
};

/* An ask's endpoint and host: a public address, a host with none of its own. */
#define PUBLIC_EP { 203, 0, 113, 5 }
static const struct omt_host_addrs no_host;

static int parse(const char *text, struct omt_policy_cfg *c, char *err, size_t errlen)
{
	return omt_policy_parse(text, strlen(text), "policy.ini", c, err, errlen);
}

static void assert_ip(const uint8_t *ip, uint8_t a, uint8_t b, uint8_t d, uint8_t e)
{
	const uint8_t want[4] = { a, b, d, e };

	assert_memory_equal(ip, want, 4);
}

static void test_minimal(void **state)
{
	struct omt_policy_cfg c;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(GOOD, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_ip(c.listen_ip, 127, 0, 0, 1);
	assert_int_equal(c.listen_port, 7360);
	assert_string_equal(c.key_path, "/etc/omerta/provider.key");
	assert_string_equal(c.audit_log, "/var/log/omerta/audit.jsonl");
	assert_int_equal(c.has_metrics, 0);
	assert_int_equal(c.max_vms, 1);
	assert_int_equal(c.warm_vms, 0);
	assert_int_equal(c.tls, 1);
	assert_int_equal(c.max_timeout_s, 3600);
	assert_int_equal(c.max_description, 512);
	assert_int_equal(c.vm_uids.first, 2000000000);
	assert_int_equal(c.vm_uids.last, 2000000999);
	assert_int_equal(c.n_networks, 1);
	assert_string_equal(c.networks[0].name, "default");
	assert_int_equal(c.networks[0].priority, 0);
	assert_int_equal(c.n_consumers, 1);
	assert_memory_equal(c.consumers[0].key, k1, 32);
	assert_string_equal(c.consumers[0].key_b64, K1);
	assert_int_equal(c.consumers[0].allow, 1);
	/* No network given: "default". */
	assert_string_equal(c.consumers[0].network, "default");
	assert_int_equal(c.consumers[0].priority, 0);
	assert_int_equal(c.consumers[0].max_cpus, 1);
	assert_int_equal(c.consumers[0].max_memory_mib, 512);
	assert_int_equal(c.consumers[0].max_jobs, 1);
	/* Storage: the state directory and a budget for all; no consumer's share. */
	assert_string_equal(c.state_dir, "/var/lib/omerta");
	assert_int_equal(c.storage_budget_mib, 4096);
	assert_int_equal(c.consumers[0].storage_budget_mib, 0);
	omt_policy_free(&c);
	assert_null(c.consumers);
	assert_int_equal(c.n_consumers, 0);

	/* Sections in any order; no consumer at all refuses everyone. */
	assert_int_equal(parse(CONS1 NETDEF PROVIDER, &c, err, sizeof(err)), 0);
	omt_policy_free(&c);
	assert_int_equal(parse(PROVIDER, &c, NULL, 0), 0);
	assert_int_equal(c.n_networks, 0);
	assert_int_equal(c.n_consumers, 0);
	omt_policy_free(&c);
}

static void test_full(void **state)
{
	static const char text[] =
		"\xef\xbb\xbf# Omerta provider policy\r\n"
		"; written on Windows\r\n"
		"\r\n"
		"[Provider]   # comment after the header\r\n"
		"  listen = 10.1.2.3:7360\r\n"
		"\tkey = /etc/omerta/provider key with spaces\r\n"
		"MAX_VMS = 256 ; inline comment\r\n"
		"audit_log=/var/log/omerta/audit.jsonl   # inline comment\r\n"
		"metrics_listen = 127.0.0.1:9100\r\n"
		"max_timeout_s = 604800\r\n"
		"max_description: 65536\r\n"
		"vm_uids = 3000000-3000255\r\n"
		"warm_vms = 256\r\n"
		"TLS = Off\r\n"
		"\r\n"
		"[ network \"default\" ]\r\n"
		"[network \"fast-lane_2.0\"] ; fast\r\n"
		"  priority = 1000\r\n"
		"[network \"slow\"]\r\n"
		"  priority = -1000\r\n"
		"\r\n"
		"[consumer \"" K1 "\"]\r\n"
		"  allow = yes\r\n"
		"  network = fast-lane_2.0\r\n"
		"  priority = 10\r\n"
		"  max_cpus = 64\r\n"
		"  max_memory_mib = 65536\r\n"
		"  max_jobs = 1000\r\n"
		"[CONSUMER \"" K2 "\"]\r\n"
		"  allow = NO\r\n"
		"[consumer \"" K3 "\"]\r\n"
		"  allow = yes\r\n"
		"  priority = -1000\r\n"
		"  max_cpus = 1\r\n"
		"  max_memory_mib = 64\r\n"
		"  max_jobs = 1\r\n"
		"  network = slow";
	struct omt_policy_cfg c;
	char err[256] = "", *bad;

	(void)state;
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_ip(c.listen_ip, 10, 1, 2, 3);
	assert_string_equal(c.key_path, "/etc/omerta/provider key with spaces");
	assert_string_equal(c.audit_log, "/var/log/omerta/audit.jsonl");
	assert_int_equal(c.max_vms, 256);
	assert_int_equal(c.warm_vms, 256);
	assert_int_equal(c.vm_uids.first, 3000000);
	assert_int_equal(c.vm_uids.last, 3000255);
	assert_int_equal(c.tls, 0);
	assert_int_equal(c.has_metrics, 1);
	assert_ip(c.metrics_ip, 127, 0, 0, 1);
	assert_int_equal(c.metrics_port, 9100);
	assert_int_equal(c.max_timeout_s, 604800);
	assert_int_equal(c.max_description, 65536);
	assert_int_equal(c.n_networks, 3);
	assert_string_equal(c.networks[0].name, "default");
	assert_int_equal(c.networks[0].priority, 0);
	assert_string_equal(c.networks[1].name, "fast-lane_2.0");
	assert_int_equal(c.networks[1].priority, 1000);
	assert_string_equal(c.networks[2].name, "slow");
	assert_int_equal(c.networks[2].priority, -1000);
	assert_int_equal(c.n_consumers, 3);
	assert_memory_equal(c.consumers[0].key, k1, 32);
	assert_int_equal(c.consumers[0].allow, 1);
	assert_string_equal(c.consumers[0].network, "fast-lane_2.0");
	assert_int_equal(c.consumers[0].priority, 10);
	assert_int_equal(c.consumers[0].max_cpus, 64);
	assert_int_equal(c.consumers[0].max_memory_mib, 65536);
	assert_int_equal(c.consumers[0].max_jobs, 1000);
	assert_memory_equal(c.consumers[1].key, k2, 32);
	assert_int_equal(c.consumers[1].allow, 0);
	/* Denied: no network needed, none given. */
	assert_string_equal(c.consumers[1].network, "");
	assert_memory_equal(c.consumers[2].key, k3, 32);
	assert_string_equal(c.consumers[2].key_b64, K3);
	assert_string_equal(c.consumers[2].network, "slow");
	assert_int_equal(c.consumers[2].priority, -1000);
	assert_int_equal(c.consumers[2].max_cpus, 1);
	assert_int_equal(c.consumers[2].max_memory_mib, 64);
	assert_int_equal(c.consumers[2].max_jobs, 1);
	omt_policy_free(&c);

	/* Line numbers count the BOM line, CRLF lines and comments. */
	bad = malloc(sizeof(text) + 32);
	assert_non_null(bad);
	snprintf(bad, sizeof(text) + 32, "%s\r\nmax_jobs = 0\r\n", text);
	assert_int_equal(parse(bad, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "policy.ini:38: max_jobs is given twice in this section "
			    "(first on line 36)");
	free(bad);
}

/* Only len bytes are read: what follows (here a bad line) is not. */
static void test_not_nul_terminated(void **state)
{
	static const char text[] = GOOD "max_jobs = lots\n";
	struct omt_policy_cfg c;
	char *copy;

	(void)state;
	copy = malloc(strlen(GOOD));
	assert_non_null(copy);
	memcpy(copy, text, strlen(GOOD));
	assert_int_equal(omt_policy_parse(copy, strlen(GOOD), NULL, &c, NULL, 0), 0);
	omt_policy_free(&c);
	assert_int_equal(omt_policy_parse(text, strlen(text), NULL, &c, NULL, 0), -EINVAL);
	free(copy);
}

static void test_limits(void **state)
{
	char text[1024], err[256];
	struct omt_policy_cfg c;
	size_t n;

	(void)state;
	/* A line of OMT_POLICY_MAX_LINE bytes is fine (before its CRLF), one more is not. */
	n = snprintf(text, sizeof(text), "%s#", GOOD);
	memset(text + n, 'x', OMT_POLICY_MAX_LINE - 1);
	strcpy(text + n + OMT_POLICY_MAX_LINE - 1, "\r\n");
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	omt_policy_free(&c);
	strcpy(text + n + OMT_POLICY_MAX_LINE - 1, "x\n");
	assert_int_equal(parse(text, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "policy.ini:9: line longer than 197 bytes");

	/* A long value is refused whole, not split into lines by inih. */
	n = snprintf(text, sizeof(text), "%saudit_log = /", PROVIDER);
	memset(text + n, 'a', 190);
	strcpy(text + n + 190, "\nmax_vms = 2\n");
	assert_int_equal(parse(text, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "policy.ini:5: line longer than 197 bytes");
}

static void test_nul_byte(void **state)
{
	static const char text[] = GOOD "max_\0jobs = 5\n";
	struct omt_policy_cfg c;
	char err[256];

	(void)state;
	assert_int_equal(omt_policy_parse(text, sizeof(text) - 1, "p", &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "p:9: control character in line: 'max_\\x00jobs = 5'");
}

static const struct {
	const char *text;
	const char *err;
} bad[] = {
	{ "", "policy.ini: no [provider] section" },
	{ "# nothing\n\n", "policy.ini: no [provider] section" },
	{ NETDEF CONS1, "policy.ini: no [provider] section" },
	/* Required keys */
	{ "[provider]\nkey = /k\naudit_log = /a\n", "policy.ini:1: [provider] has no listen" },
	{ "[provider]\nlisten = 127.0.0.1:1\naudit_log = /a\n", "policy.ini:1: [provider] has no key" },
	{ "[provider]\nlisten = 127.0.0.1:1\nkey = /k\n" NETDEF,
	  "policy.ini:1: [provider] has no audit_log" },
	{ PROVIDER NETDEF "[consumer \"" K1 "\"]\nnetwork = default\n" "[network \"a\"]\n",
	  "policy.ini:7: [consumer] has no allow" },
	{ GOOD "[consumer \"" K2 "\"]\n", "policy.ini:9: [consumer] has no allow" },
	/* Sections */
	{ GOOD "[provider]\n", "policy.ini:9: [provider] is given twice (first on line 1)" },
	{ GOOD "[network \"default\"]\n",
	  "policy.ini:9: network 'default' is declared twice (first on line 5)" },
	{ GOOD "[consumer \"" K1 "\"]\nallow = no\n",
	  "policy.ini:9: consumer '" K1 "' is listed twice (first on line 7)" },
	{ GOOD "[foo]\n", "policy.ini:9: unknown section '[foo]'" },
	{ GOOD "[consumers \"" K2 "\"]\n", "policy.ini:9: unknown section '[consumers \"" K2 "\"]'" },
	{ GOOD "[network]\n", "policy.ini:9: a section is [provider], [network \"NAME\"] or "
	  "[consumer \"KEY\"]: '[network]'" },
	{ GOOD "[provider \"x\"]\n", "policy.ini:9: a section is [provider], [network \"NAME\"] or "
	  "[consumer \"KEY\"]: '[provider \"x\"]'" },
	{ GOOD "[network \"a\"\n", "policy.ini:9: a section is [provider], [network \"NAME\"] or "
	  "[consumer \"KEY\"]: '[network \"a\"'" },
	{ GOOD "[network \"a]\n", "policy.ini:9: a section is [provider], [network \"NAME\"] or "
	  "[consumer \"KEY\"]: '[network \"a]'" },
	{ GOOD "[network a]\n", "policy.ini:9: a section is [provider], [network \"NAME\"] or "
	  "[consumer \"KEY\"]: '[network a]'" },
	{ GOOD "[network \"a\"] x\n", "policy.ini:9: text after the section header: '[network \"a\"] x'" },
	{ GOOD "[network \"a b\"]\n",
	  "policy.ini:9: a network name is 1 to 63 letters, digits, '_', '-' or '.': 'a b'" },
	{ GOOD "[network \"\"]\n",
	  "policy.ini:9: a network name is 1 to 63 letters, digits, '_', '-' or '.': ''" },
	{ GOOD "[network \"n234567890123456789012345678901234567890123456789012345678901234\"]\n",
	  "policy.ini:9: a network name is 1 to 63 letters, digits, '_', '-' or '.': "
	  "'n234567890123456789012345678901234567890123456789012345678901234'" },
	{ GOOD "[consumer \"AAAA\"]\n",
	  "policy.ini:9: a consumer is named by its base64 32-byte Ed25519 public key: 'AAAA'" },
	{ GOOD "[consumer \"tnjKwtqNn/rf8qagrfAegRNZELd3HKjfeUm8gFghzmU\"]\n",
	  "policy.ini:9: a consumer is named by its base64 32-byte Ed25519 public key: "
	  "'tnjKwtqNn/rf8qagrfAegRNZELd3HKjfeUm8gFghzmU'" },
	{ GOOD "[consumer \"tnjKwtqNn_rf8qagrfAegRNZELd3HKjfeUm8gFghzmU=\"]\n",
	  "policy.ini:9: a consumer is named by its base64 32-byte Ed25519 public key: "
	  "'tnjKwtqNn_rf8qagrfAegRNZELd3HKjfeUm8gFghzmU='" },
	{ GOOD "[consumer \" " K2 "\"]\n",
	  "policy.ini:9: a consumer is named by its base64 32-byte Ed25519 public key: ' " K2 "'" },
	{ GOOD "[consumer \"" NOT_POINT "\"]\n",
	  "policy.ini:9: not an Ed25519 public key: '" NOT_POINT "'" },
	/* Lines and keys */
	{ "listen = 127.0.0.1:1\n" GOOD, "policy.ini:1: 'listen' comes before any section" },
	{ GOOD "foo = 1\n", "policy.ini:9: unknown key 'foo' in [consumer]" },
	{ GOOD "listen = 127.0.0.1:1\n", "policy.ini:9: unknown key 'listen' in [consumer]" },
	{ PROVIDER "priority = 1\n" NETDEF CONS1, "policy.ini:5: unknown key 'priority' in [provider]" },
	{ PROVIDER NETDEF "allow = yes\n" CONS1, "policy.ini:7: unknown key 'allow' in [network]" },
	{ GOOD "f\xc3\xa9\\e = 1\n", "policy.ini:9: unknown key 'f\\xc3\\xa9\\x5ce' in [consumer]" },
	{ GOOD "allow = yes\n", "policy.ini:9: allow is given twice in this section (first on line 8)" },
	{ GOOD "ALLOW = no\n", "policy.ini:9: allow is given twice in this section (first on line 8)" },
	{ PROVIDER "listen = 127.0.0.1:2\n", "policy.ini:5: listen is given twice in this section "
	  "(first on line 2)" },
	{ GOOD "max_jobs\n", "policy.ini:9: expected 'key = value' or a [section]: 'max_jobs'" },
	{ GOOD "max_jobs ; = 3\n",
	  "policy.ini:9: expected 'key = value' or a [section]: 'max_jobs ; = 3'" },
	{ GOOD "max_jobs # = 3\n", "policy.ini:9: expected 'key = value' or a [section]: 'max_jobs '" },
	{ GOOD " = 5\n", "policy.ini:9: no key before '='" },
	{ GOOD "max_jobs = 2\x1b[0m\n",
	  "policy.ini:9: control character in line: 'max_jobs = 2\\x1b[0m'" },
	{ GOOD "max_jobs = 2\x7f\n", "policy.ini:9: control character in line: 'max_jobs = 2\\x7f'" },
	{ GOOD "max_jobs = 2\rmax_cpus = 3\n",
	  "policy.ini:9: control character in line: 'max_jobs = 2\\x0dmax_cpus = 3'" },
	/* Indented lines are never a continuation of the line before. */
	{ GOOD "  max_jobs = 2\n  max_cpus = x\n",
	  "policy.ini:10: max_cpus must be a number from 1 to 64: 'x'" },
	{ PROVIDER "tls = yes\n" NETDEF CONS1, "policy.ini:5: tls must be on or off: 'yes'" },
	/* allow and network */
	{ PROVIDER NETDEF "[consumer \"" K1 "\"]\nallow = maybe\n",
	  "policy.ini:8: allow must be yes or no: 'maybe'" },
	{ PROVIDER NETDEF "[consumer \"" K1 "\"]\nallow = true\n",
	  "policy.ini:8: allow must be yes or no: 'true'" },
	{ PROVIDER NETDEF "[consumer \"" K1 "\"]\nallow =\n", "policy.ini:8: allow must be yes or no: ''" },
	{ GOOD "network = lan\n", "policy.ini:9: network 'lan' is not declared" },
	{ GOOD "network = Default\n", "policy.ini:9: network 'Default' is not declared" },
	{ PROVIDER NETDEF "[consumer \"" K2 "\"]\nallow = no\nnetwork = lan\n",
	  "policy.ini:9: network 'lan' is not declared" },
	{ PROVIDER "[network \"lan\"]\n" CONS1,
	  "policy.ini:6: consumer '" K1 "' has no network, and there is no [network \"default\"]" },
	{ GOOD "network = a b\n",
	  "policy.ini:9: a network name is 1 to 63 letters, digits, '_', '-' or '.': 'a b'" },
	{ GOOD "network =\n",
	  "policy.ini:9: a network name is 1 to 63 letters, digits, '_', '-' or '.': ''" },
	/* Numbers */
	{ PROVIDER "max_vms = lots\n", "policy.ini:5: max_vms must be a number from 1 to 256: 'lots'" },
	/* vm_uids */
	{ PROVIDER "vm_uids = 5000\n", "policy.ini:5: vm_uids must be FIRST-LAST, 1000 <= FIRST <= "
	  "LAST <= 4294967293, without 65534: '5000'" },
	{ PROVIDER "vm_uids = 5000-4999\n", "policy.ini:5: vm_uids must be FIRST-LAST, 1000 <= FIRST <= "
	  "LAST <= 4294967293, without 65534: '5000-4999'" },
	{ PROVIDER "vm_uids = 999-5000\n", "policy.ini:5: vm_uids must be FIRST-LAST, 1000 <= FIRST <= "
	  "LAST <= 4294967293, without 65534: '999-5000'" },
	{ PROVIDER "vm_uids = 60000-70000\n", "policy.ini:5: vm_uids must be FIRST-LAST, 1000 <= FIRST <= "
	  "LAST <= 4294967293, without 65534: '60000-70000'" },
	{ PROVIDER "vm_uids = 5000-4294967295\n", "policy.ini:5: vm_uids must be FIRST-LAST, 1000 <= "
	  "FIRST <= LAST <= 4294967293, without 65534: '5000-4294967295'" },
	{ PROVIDER "vm_uids = 5000 - 5001\n", "policy.ini:5: vm_uids must be FIRST-LAST, 1000 <= FIRST <= "
	  "LAST <= 4294967293, without 65534: '5000 - 5001'" },
	{ PROVIDER "max_vms = 3\nvm_uids = 5000-5001\n" NETDEF CONS1,
	  "policy.ini:1: vm_uids 5000-5001 has 2 uids, fewer than max_vms 3" },
	{ PROVIDER "max_vms = 0\n", "policy.ini:5: max_vms must be a number from 1 to 256: '0'" },
	{ PROVIDER "max_vms = 2\nwarm_vms = 3\n" NETDEF CONS1,
	  "policy.ini:1: warm_vms 3 is more than max_vms 2" },
	{ PROVIDER "warm_vms = some\n", "policy.ini:5: warm_vms must be a number from 0 to 256: 'some'" },
	{ PROVIDER "max_vms = 257\n", "policy.ini:5: max_vms must be a number from 1 to 256: '257'" },
	{ PROVIDER "max_vms = -1\n", "policy.ini:5: max_vms must be a number from 1 to 256: '-1'" },
	{ PROVIDER "max_vms = +2\n", "policy.ini:5: max_vms must be a number from 1 to 256: '+2'" },
	{ PROVIDER "max_vms = 0x10\n", "policy.ini:5: max_vms must be a number from 1 to 256: '0x10'" },
	{ PROVIDER "max_vms = 2 vms\n", "policy.ini:5: max_vms must be a number from 1 to 256: '2 vms'" },
	{ PROVIDER "max_vms = 2#x\n", "policy.ini:5: max_vms must be a number from 1 to 256: '2#x'" },
	{ PROVIDER "max_vms =\n", "policy.ini:5: max_vms must be a number from 1 to 256: ''" },
	{ PROVIDER "max_vms = 4294967298\n",
	  "policy.ini:5: max_vms must be a number from 1 to 256: '4294967298'" },
	{ PROVIDER "max_timeout_s = 0\n",
	  "policy.ini:5: max_timeout_s must be a number from 1 to 604800: '0'" },
	{ PROVIDER "max_timeout_s = 604801\n",
	  "policy.ini:5: max_timeout_s must be a number from 1 to 604800: '604801'" },
	{ PROVIDER "max_description = 65537\n",
	  "policy.ini:5: max_description must be a number from 1 to 65536: '65537'" },
	{ PROVIDER "[network \"lan\"]\npriority = high\n",
	  "policy.ini:6: priority must be a number from -1000 to 1000: 'high'" },
	{ GOOD "priority = 1001\n", "policy.ini:9: priority must be a number from -1000 to 1000: '1001'" },
	{ GOOD "priority = -1001\n",
	  "policy.ini:9: priority must be a number from -1000 to 1000: '-1001'" },
	{ GOOD "priority = --1\n", "policy.ini:9: priority must be a number from -1000 to 1000: '--1'" },
	{ GOOD "priority = -\n", "policy.ini:9: priority must be a number from -1000 to 1000: '-'" },
	{ GOOD "priority = 1-\n", "policy.ini:9: priority must be a number from -1000 to 1000: '1-'" },
	{ GOOD "max_cpus = 0\n", "policy.ini:9: max_cpus must be a number from 1 to 64: '0'" },
	{ GOOD "max_cpus = 65\n", "policy.ini:9: max_cpus must be a number from 1 to 64: '65'" },
	{ GOOD "max_memory_mib = 63\n",
	  "policy.ini:9: max_memory_mib must be a number from 64 to 65536: '63'" },
	{ GOOD "max_memory_mib = 65537\n",
	  "policy.ini:9: max_memory_mib must be a number from 64 to 65536: '65537'" },
	{ GOOD "max_memory_mib = 512M\n",
	  "policy.ini:9: max_memory_mib must be a number from 64 to 65536: '512M'" },
	{ GOOD "max_jobs = 0\n", "policy.ini:9: max_jobs must be a number from 1 to 1000: '0'" },
	{ GOOD "max_jobs = 1001\n", "policy.ini:9: max_jobs must be a number from 1 to 1000: '1001'" },
	/* Addresses and paths */
	{ "[provider]\nlisten = localhost:7360\n",
	  "policy.ini:2: listen must be IPv4:PORT, as in 127.0.0.1:7360: 'localhost:7360'" },
	{ "[provider]\nlisten = 127.0.0.1\n",
	  "policy.ini:2: listen must be IPv4:PORT, as in 127.0.0.1:7360: '127.0.0.1'" },
	{ "[provider]\nlisten = 127.0.0.1:0\n",
	  "policy.ini:2: listen must be IPv4:PORT, as in 127.0.0.1:7360: '127.0.0.1:0'" },
	{ "[provider]\nlisten = [::1]:7360\n",
	  "policy.ini:2: listen must be IPv4:PORT, as in 127.0.0.1:7360: '[::1]:7360'" },
	{ "[provider]\nlisten = :7360\n",
	  "policy.ini:2: listen must be IPv4:PORT, as in 127.0.0.1:7360: ':7360'" },
	{ PROVIDER "metrics_listen = 0.0.0.0:99999\n",
	  "policy.ini:5: metrics_listen must be IPv4:PORT, as in 127.0.0.1:7360: '0.0.0.0:99999'" },
	{ "[provider]\nlisten = 127.0.0.1:1\nkey = provider.key\n",
	  "policy.ini:3: key must be an absolute path: 'provider.key'" },
	{ "[provider]\nlisten = 127.0.0.1:1\nkey = /k\naudit_log =\n",
	  "policy.ini:4: audit_log must be an absolute path: ''" },
	{ "[provider]\nlisten = 127.0.0.1:1\nkey = /k\naudit_log = ~/audit.jsonl\n",
	  "policy.ini:4: audit_log must be an absolute path: '~/audit.jsonl'" },
	/* Storage */
	{ PROVIDER "state_dir = var/lib/omerta\n",
	  "policy.ini:5: state_dir must be an absolute path other than /, without empty, '.' or "
	  "'..' parts: 'var/lib/omerta'" },
	{ PROVIDER "state_dir = /\n",
	  "policy.ini:5: state_dir must be an absolute path other than /, without empty, '.' or "
	  "'..' parts: '/'" },
	{ PROVIDER "state_dir = /var/lib/../tmp\n",
	  "policy.ini:5: state_dir must be an absolute path other than /, without empty, '.' or "
	  "'..' parts: '/var/lib/../tmp'" },
	{ PROVIDER "state_dir = /var/lib/omerta/\n",
	  "policy.ini:5: state_dir must be an absolute path other than /, without empty, '.' or "
	  "'..' parts: '/var/lib/omerta/'" },
	{ PROVIDER "state_dir = /var//omerta\n",
	  "policy.ini:5: state_dir must be an absolute path other than /, without empty, '.' or "
	  "'..' parts: '/var//omerta'" },
	{ PROVIDER "state_dir = /var/./omerta\n",
	  "policy.ini:5: state_dir must be an absolute path other than /, without empty, '.' or "
	  "'..' parts: '/var/./omerta'" },
	{ PROVIDER "state_dir = /a\nstate_dir = /b\n",
	  "policy.ini:6: state_dir is given twice in this section (first on line 5)" },
	{ PROVIDER "storage_budget_mib = 0\n",
	  "policy.ini:5: storage_budget_mib must be a number from 1 to 16777216: '0'" },
	{ PROVIDER "storage_budget_mib = 16777217\n",
	  "policy.ini:5: storage_budget_mib must be a number from 1 to 16777216: '16777217'" },
	{ PROVIDER "storage_budget_mib = 4 GiB\n",
	  "policy.ini:5: storage_budget_mib must be a number from 1 to 16777216: '4 GiB'" },
	{ GOOD "storage_budget_mib = -1\n",
	  "policy.ini:9: storage_budget_mib must be a number from 1 to 16777216: '-1'" },
	{ GOOD "storage_budget_mib = 0\n",
	  "policy.ini:9: storage_budget_mib must be a number from 1 to 16777216: '0'" },
	{ PROVIDER NETDEF "storage_budget_mib = 100\n",
	  "policy.ini:7: unknown key 'storage_budget_mib' in [network]" },
	/* endpoints */
	{ PROVIDER "[network \"lan\"]\nendpoints = 10.0.0.0/33\n",
	  "policy.ini:6: endpoints must be CIDR[,CIDR...], as in 192.168.1.0/24: '10.0.0.0/33'" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 10.0.0.0/8, lan\n",
	  "policy.ini:6: endpoints must be CIDR[,CIDR...], as in 192.168.1.0/24: 'lan'" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 10.0.0.0\n",
	  "policy.ini:6: endpoints must be CIDR[,CIDR...], as in 192.168.1.0/24: '10.0.0.0'" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 10.0.0.0/08\n",
	  "policy.ini:6: endpoints must be CIDR[,CIDR...], as in 192.168.1.0/24: '10.0.0.0/08'" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 10.0.0.0/8 192.168.0.0/16\n",
	  "policy.ini:6: endpoints must be CIDR[,CIDR...], as in 192.168.1.0/24: "
	  "'10.0.0.0/8 192.168.0.0/16'" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 10.0.0.0/8,\n",
	  "policy.ini:6: endpoints must be CIDR[,CIDR...], as in 192.168.1.0/24: ''" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 10.0.0.0/8,,192.168.0.0/16\n",
	  "policy.ini:6: endpoints must be CIDR[,CIDR...], as in 192.168.1.0/24: ''" },
	{ PROVIDER "[network \"lan\"]\nendpoints =\n",
	  "policy.ini:6: endpoints must be CIDR[,CIDR...], as in 192.168.1.0/24: ''" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 192.168.1.5/16\n",
	  "policy.ini:6: endpoints: '192.168.1.5/16' has host bits set (its network is "
	  "192.168.0.0/16)" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 10.201.0.0/16, 172.16.0.1/12\n",
	  "policy.ini:6: endpoints: '172.16.0.1/12' has host bits set (its network is "
	  "172.16.0.0/12)" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,"
	  "5.0.0.0/8,6.0.0.0/8,7.0.0.0/8,8.0.0.0/8,9.0.0.0/8,10.0.0.0/8,11.0.0.0/8,12.0.0.0/8,"
	  "13.0.0.0/8,14.0.0.0/8,15.0.0.0/8,16.0.0.0/8,17.0.0.0/8\n",
	  "policy.ini:6: endpoints has more than 16 CIDRs: '1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,"
	  "4.0.0.0/8,5.0.0.0/8,6.0.0.0/8,7.0....'" },
	{ PROVIDER "[network \"lan\"]\nendpoints = 10.0.0.0/8\nENDPOINTS = 10.0.0.0/8\n",
	  "policy.ini:7: endpoints is given twice in this section (first on line 6)" },
	{ PROVIDER "endpoints = 10.0.0.0/8\n",
	  "policy.ini:5: unknown key 'endpoints' in [provider]" },
	{ GOOD "endpoints = 10.0.0.0/8\n", "policy.ini:9: unknown key 'endpoints' in [consumer]" },
	/* What is shown is cut. */
	{ "[provider]\nlisten = 127.0.0.1:11111111111111111111111111111111111111111111111111111111111\n",
	  "policy.ini:2: listen must be IPv4:PORT, as in 127.0.0.1:7360: "
	  "'127.0.0.1:111111111111111111111111111111111111111111111111111111...'" },
};

static void test_errors(void **state)
{
	struct omt_policy_cfg c;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(err, 0, sizeof(err));
		memset(&c, 0x5a, sizeof(c));
		if (parse(bad[i].text, &c, err, sizeof(err)) != -EINVAL)
			fail_msg("#%zu accepted, expected \"%s\"", i, bad[i].err);
		if (strcmp(err, bad[i].err))
			fail_msg("#%zu: \"%s\", expected \"%s\"", i, err, bad[i].err);
		if (c.networks || c.consumers || c.n_networks || c.n_consumers)
			fail_msg("#%zu: not emptied", i);
	}
}

static void test_storage(void **state)
{
	struct omt_policy_cfg c;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(PROVIDER "state_dir = /srv/omerta-state\nstorage_budget_mib = 16777216\n"
			       NETDEF CONS1 "storage_budget_mib = 32\n"
			       "[consumer \"" K2 "\"]\nallow = yes\nSTORAGE_BUDGET_MIB = 1\n",
			       &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.state_dir, "/srv/omerta-state");
	assert_int_equal(c.storage_budget_mib, 16777216);
	assert_int_equal(c.consumers[0].storage_budget_mib, 32);
	assert_int_equal(c.consumers[1].storage_budget_mib, 1);
	omt_policy_free(&c);
}

static void test_no_name(void **state)
{
	struct omt_policy_cfg c;
	char err[256];

	(void)state;
	assert_int_equal(omt_policy_parse(GOOD "x = 1\n", strlen(GOOD) + 6, NULL, &c, err,
					  sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 9: unknown key 'x' in [consumer]");
	assert_int_equal(omt_policy_parse("", 0, NULL, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no [provider] section");
}

static void test_short_err_buffer(void **state)
{
	struct omt_policy_cfg c;
	char err[14];

	(void)state;
	assert_int_equal(parse(GOOD "x = 1\n", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "policy.ini:9:");
	err[0] = 'x';
	assert_int_equal(parse(GOOD "x = 1\n", &c, err, 0), -EINVAL);
	assert_int_equal(err[0], 'x');
	assert_int_equal(parse(GOOD "x = 1\n", &c, NULL, 0), -EINVAL);
}

/* Many sections: the arrays grow. */
static void test_many(void **state)
{
	struct omt_policy_cfg c;
	size_t n = 0, cap = 64 * 1024, i;
	char *text = malloc(cap), err[256];

	(void)state;
	assert_non_null(text);
	n += snprintf(text + n, cap - n, "%s", PROVIDER);
	for (i = 0; i < 100; i++)
		n += snprintf(text + n, cap - n, "[network \"n%zu\"]\npriority = %zu\n", i, i);
	n += snprintf(text + n, cap - n, CONS1 "network = n99\n[consumer \"" K2 "\"]\n"
		      "allow = yes\nnetwork = n7\n");
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_networks, 100);
	assert_string_equal(c.networks[42].name, "n42");
	assert_int_equal(c.networks[42].priority, 42);
	assert_int_equal(c.n_consumers, 2);
	assert_string_equal(c.consumers[1].network, "n7");
	omt_policy_free(&c);
	free(text);
}

static char *write_tmp(const char *text, size_t len)
{
	char *path = strdup("/tmp/policy_test.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_load(void **state)
{
	char err[512], want[512], *path, *big;
	struct omt_policy_cfg c;

	(void)state;
	path = write_tmp(GOOD, strlen(GOOD));
	assert_int_equal(omt_policy_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.listen_port, 7360);
	assert_int_equal(c.n_consumers, 1);
	omt_policy_free(&c);
	unlink(path);
	free(path);

	path = write_tmp(PROVIDER "max_vms = lots\n", strlen(PROVIDER "max_vms = lots\n"));
	assert_int_equal(omt_policy_load(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:5: max_vms must be a number from 1 to 256: 'lots'", path);
	assert_string_equal(err, want);
	unlink(path);

	assert_int_equal(omt_policy_load(path, &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	free(path);

	assert_int_equal(omt_policy_load("/tmp", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/tmp: not a regular file");

	/* Exactly 1 MiB is read, one byte more is refused. */
	big = malloc(OMT_POLICY_MAX_FILE + 1);
	assert_non_null(big);
	memset(big, '\n', OMT_POLICY_MAX_FILE + 1);
	memcpy(big, GOOD, strlen(GOOD));
	path = write_tmp(big, OMT_POLICY_MAX_FILE);
	assert_int_equal(omt_policy_load(path, &c, err, sizeof(err)), 0);
	omt_policy_free(&c);
	unlink(path);
	free(path);
	path = write_tmp(big, OMT_POLICY_MAX_FILE + 1);
	assert_int_equal(omt_policy_load(path, &c, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1024 KiB", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);
	free(big);
}

/* Limits: max_timeout_s 600, max_description 32; K1 on "fast", K2 denied, K3 on "default". */
static const char decide_policy[] =
	"[provider]\nlisten = 127.0.0.1:7360\nkey = /k\naudit_log = /a\n"
	"max_timeout_s = 600\nmax_description = 32\n"
	"[network \"default\"]\n"
	"[network \"fast\"]\npriority = 5\n"
	"[consumer \"" K1 "\"]\nallow = yes\nnetwork = fast\npriority = 10\n"
	"max_cpus = 2\nmax_memory_mib = 512\nmax_jobs = 4\n"
	"[consumer \"" K2 "\"]\nallow = no\npriority = 7\n"
	"[consumer \"" K3 "\"]\nallow = yes\npriority = -3\n";

static void test_decide(void **state)
{
	static const uint8_t stranger[32] = { 1, 2, 3 };
	struct omt_job_ask ok = { k1, "render frames 1-100", 2, 512, 600, PUBLIC_EP, &no_host };
	struct omt_job_ask ask;
	struct omt_policy_cfg c;
	struct omt_decision d;
	char err[256];
	size_t i;
	static const struct {
		const uint8_t *key;
		const char *description;
		unsigned cpus, memory_mib, timeout_s, running;
		const char *reason;
	} refused[] = {
		{ stranger, "x", 1, 64, 1, 0, "unknown consumer key" },
		{ NULL, "x", 1, 64, 1, 0, "unknown consumer key" },
		{ k2, "x", 1, 64, 1, 0, "consumer denied by policy" },
		{ k1, "", 1, 64, 1, 0, "description is empty" },
		{ k1, NULL, 1, 64, 1, 0, "description is empty" },
		{ k1, "123456789012345678901234567890123", 1, 64, 1, 0,
		  "description is 33 bytes, over 32" },
		{ k1, "two\nlines", 1, 64, 1, 0, "description has a control character U+000A (at byte 3)" },
		{ k1, "x", 0, 64, 1, 0, "cpus must be at least 1" },
		{ k1, "x", 3, 64, 1, 0, "cpus 3 over this consumer's max_cpus 2" },
		{ k3, "x", 2, 64, 1, 0, "cpus 2 over this consumer's max_cpus 1" },
		{ k1, "x", 1, 0, 1, 0, "memory_mib must be at least 1" },
		{ k1, "x", 1, 513, 1, 0, "memory_mib 513 over this consumer's max_memory_mib 512" },
		{ k1, "x", 1, 64, 0, 0, "timeout_s must be at least 1" },
		{ k1, "x", 1, 64, 601, 0, "timeout_s 601 over this provider's max_timeout_s 600" },
		{ k1, "x", 1, 64, 1, 4, "consumer has 4 jobs queued or running, its max_jobs is 4" },
		{ k3, "x", 1, 64, 1, 1, "consumer has 1 jobs queued or running, its max_jobs is 1" },
	};

	(void)state;
	assert_int_equal(parse(decide_policy, &c, err, sizeof(err)), 0);

	assert_int_equal(omt_policy_decide(&c, &ok, 3, &d), 0);
	assert_int_equal(d.admit, 1);
	assert_string_equal(d.reason, "");
	assert_ptr_equal(d.consumer, &c.consumers[0]);
	assert_string_equal(d.network, "fast");
	assert_int_equal(d.network_priority, 5);
	assert_int_equal(d.consumer_priority, 10);

	/* Exactly the description limit, in UTF-8. */
	ask = (struct omt_job_ask){ k3, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				    "\xc3\xa9\xc3\xa9", 1, 512, 1, PUBLIC_EP, &no_host };
	assert_int_equal(omt_policy_decide(&c, &ask, 0, &d), 0);
	assert_int_equal(d.admit, 1);
	assert_ptr_equal(d.consumer, &c.consumers[2]);
	assert_string_equal(d.network, "default");
	assert_int_equal(d.network_priority, 0);
	assert_int_equal(d.consumer_priority, -3);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ask = (struct omt_job_ask){ refused[i].key, refused[i].description, refused[i].cpus,
					    refused[i].memory_mib, refused[i].timeout_s, PUBLIC_EP,
					    &no_host };
		memset(&d, 0x5a, sizeof(d));
		assert_int_equal(omt_policy_decide(&c, &ask, refused[i].running, &d), 0);
		if (d.admit)
			fail_msg("#%zu admitted, expected \"%s\"", i, refused[i].reason);
		if (strcmp(d.reason, refused[i].reason))
			fail_msg("#%zu: \"%s\", expected \"%s\"", i, d.reason, refused[i].reason);
		if (refused[i].key == stranger || !refused[i].key)
			assert_null(d.consumer);
		else
			assert_non_null(d.consumer);
	}
	ask = (struct omt_job_ask){ k2, "x", 1, 64, 1, PUBLIC_EP, &no_host };
	assert_int_equal(omt_policy_decide(&c, &ask, 0, &d), 0);
	assert_ptr_equal(d.consumer, &c.consumers[1]);
	assert_int_equal(d.consumer_priority, 7);
	assert_string_equal(d.network, "");

	assert_int_equal(omt_policy_decide(NULL, &ok, 0, &d), -EINVAL);
	assert_int_equal(omt_policy_decide(&c, NULL, 0, &d), -EINVAL);
	assert_int_equal(omt_policy_decide(&c, &ok, 0, NULL), -EINVAL);
	ask = ok;
	ask.host = NULL;
	assert_int_equal(omt_policy_decide(&c, &ask, 0, &d), -EINVAL);
	omt_policy_free(&c);
}

static const char endpoints_policy[] = PROVIDER
	"[network \"lan\"]\nendpoints = 10.201.0.0/16 ,\t192.168.5.0/24\n"
	"[network \"default\"]\n"
	"[network \"any\"]\nendpoints = 0.0.0.0/0\n"
	"[consumer \"" K1 "\"]\nallow = yes\nnetwork = lan\n"
	"[consumer \"" K2 "\"]\nallow = yes\nnetwork = any\n"
	"[consumer \"" K3 "\"]\nallow = yes\n";

/* `endpoints`: read, and what it opens at admission; the host's addresses it can't. */
static void test_endpoints(void **state)
{
	uint8_t local[][4] = { { 10, 201, 1, 1 }, { 192, 0, 2, 5 } };
	const struct omt_host_addrs host = { local, 2, NULL, 0 };
	static const struct {
		const uint8_t *key;
		uint8_t ip[4];
		const char *reason;	/* NULL: admitted */
	} cases[] = {
		{ k1, { 10, 201, 1, 2 }, NULL },
		{ k1, { 192, 168, 5, 255 }, NULL },
		{ k1, { 203, 0, 113, 5 }, NULL },
		{ k1, { 10, 1, 2, 3 }, "endpoint 10.1.2.3 is in a private range (10.0.0.0/8): "
		  "network \"lan\" does not allow it (endpoints = ...)" },
		{ k1, { 192, 168, 6, 1 }, "endpoint 192.168.6.1 is in a private range "
		  "(192.168.0.0/16): network \"lan\" does not allow it (endpoints = ...)" },
		{ k1, { 10, 201, 1, 1 }, "endpoint 10.201.1.1 is one of this host's addresses" },
		{ k3, { 10, 201, 1, 2 }, "endpoint 10.201.1.2 is in a private range (10.0.0.0/8): "
		  "network \"default\" does not allow it (endpoints = ...)" },
		{ k3, { 100, 64, 0, 1 }, "endpoint 100.64.0.1 is in the shared address space "
		  "(100.64.0.0/10): network \"default\" does not allow it (endpoints = ...)" },
		{ k3, { 192, 0, 2, 5 }, "endpoint 192.0.2.5 is one of this host's addresses" },
		{ k3, { 192, 0, 2, 6 }, NULL },
		{ k2, { 172, 20, 0, 1 }, NULL },
		{ k2, { 198, 19, 0, 1 }, NULL },
		{ k2, { 192, 0, 2, 5 }, "endpoint 192.0.2.5 is one of this host's addresses" },
		{ k2, { 127, 0, 0, 1 }, "endpoint 127.0.0.1 is a loopback address (127.0.0.0/8)" },
		{ k2, { 10, 213, 0, 2 }, "endpoint 10.213.0.2 is in the VMs' network "
		  "(10.213.0.0/16)" },
		{ k2, { 169, 254, 169, 254 }, "endpoint 169.254.169.254 is a link-local address "
		  "(169.254.0.0/16)" },
		{ k2, { 0, 0, 0, 0 }, "endpoint 0.0.0.0 is a \"this network\" address "
		  "(0.0.0.0/8)" },
		{ k2, { 255, 255, 255, 255 }, "endpoint 255.255.255.255 is the broadcast address "
		  "(255.255.255.255/32)" },
	};
	struct omt_job_ask ask = { NULL, "x", 1, 64, 1, PUBLIC_EP, &host };
	struct omt_policy_cfg c;
	struct omt_decision d;
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(parse(endpoints_policy, &c, err, sizeof(err)), 0);
	assert_int_equal(c.networks[0].n_endpoints, 2);
	assert_ip(c.networks[0].endpoints[0].ip, 10, 201, 0, 0);
	assert_int_equal(c.networks[0].endpoints[0].prefix, 16);
	assert_ip(c.networks[0].endpoints[1].ip, 192, 168, 5, 0);
	assert_int_equal(c.networks[0].endpoints[1].prefix, 24);
	assert_int_equal(c.networks[1].n_endpoints, 0);
	assert_int_equal(c.networks[2].n_endpoints, 1);
	assert_int_equal(c.networks[2].endpoints[0].prefix, 0);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ask.consumer_key = cases[i].key;
		memcpy(ask.endpoint_ip, cases[i].ip, 4);
		memset(&d, 0x5a, sizeof(d));
		assert_int_equal(omt_policy_decide(&c, &ask, 0, &d), 0);
		if (d.admit != !cases[i].reason)
			fail_msg("#%zu: admit %d: \"%s\"", i, d.admit, d.reason);
		if (strcmp(d.reason, cases[i].reason ? cases[i].reason : ""))
			fail_msg("#%zu: \"%s\", expected \"%s\"", i, d.reason, cases[i].reason);
		/* Refused with its network known, for the audit line. */
		assert_memory_equal(d.consumer->key, cases[i].key, 32);
		assert_string_equal(d.network, cases[i].key == k1 ? "lan" :
					       cases[i].key == k2 ? "any" : "default");
	}
	/* The description is judged first; the endpoint before the resources. */
	ask = (struct omt_job_ask){ k3, "", 1, 64, 1, { 10, 0, 0, 1 }, &host };
	assert_int_equal(omt_policy_decide(&c, &ask, 0, &d), 0);
	assert_string_equal(d.reason, "description is empty");
	ask = (struct omt_job_ask){ k3, "x", 9, 64, 1, { 127, 0, 0, 1 }, &host };
	assert_int_equal(omt_policy_decide(&c, &ask, 0, &d), 0);
	assert_string_equal(d.reason, "endpoint 127.0.0.1 is a loopback address (127.0.0.0/8)");
	/* An ask without an endpoint has 0.0.0.0: refused. */
	ask = (struct omt_job_ask){ k2, "x", 1, 64, 1, .host = &host };
	assert_int_equal(omt_policy_decide(&c, &ask, 0, &d), 0);
	assert_false(d.admit);
	omt_policy_free(&c);

	/* Sixteen CIDRs fit. */
	assert_int_equal(parse(PROVIDER "[network \"lan\"]\nendpoints = 1.0.0.0/8,2.0.0.0/8,"
			       "3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8,7.0.0.0/8,8.0.0.0/8,"
			       "9.0.0.0/8,10.0.0.0/8,11.0.0.0/8,12.0.0.0/8,13.0.0.0/8,"
			       "14.0.0.0/8,15.0.0.0/8,16.0.0.0/8\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.networks[0].n_endpoints, OMT_POLICY_MAX_ENDPOINTS);
	assert_ip(c.networks[0].endpoints[15].ip, 16, 0, 0, 0);
	omt_policy_free(&c);
}

static void test_description(void **state)
{
	static const struct {
		const char *s;
		const char *reason;	/* NULL: accepted */
	} cases[] = {
		{ "", "description is empty" },
		{ "a", NULL },
		{ "Render frames 1-100 of scene.blend, 4K; ~2h", NULL },
		{ "caf\xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", NULL },
		{ "\xef\xbf\xbd \xf4\x8f\xbf\xbf \xc2\xa0 \xe2\x80\x8b", NULL },
		{ "a\tb", "description has a control character U+0009 (at byte 1)" },
		{ "a\nb", "description has a control character U+000A (at byte 1)" },
		{ "ab\r", "description has a control character U+000D (at byte 2)" },
		{ "\x1b[31mred", "description has a control character U+001B (at byte 0)" },
		{ "del\x7f", "description has a control character U+007F (at byte 3)" },
		{ "c1 \xc2\x85", "description has a control character U+0085 (at byte 3)" },
		{ "c1 \xc2\x9f", "description has a control character U+009F (at byte 3)" },
		{ "ls \xe2\x80\xa8", "description has a control character U+2028 (at byte 3)" },
		{ "gpj.\xe2\x80\xae" "exe", "description has a control character U+202E (at byte 4)" },
		{ "\xe2\x81\xa6x", "description has a control character U+2066 (at byte 0)" },
		{ "ok \xff", "description is not valid UTF-8 (at byte 3)" },
		{ "\x80", "description is not valid UTF-8 (at byte 0)" },
		{ "caf\xc3", "description is not valid UTF-8 (at byte 3)" },
		{ "caf\xc3x", "description is not valid UTF-8 (at byte 3)" },
		{ "\xe2\x82", "description is not valid UTF-8 (at byte 0)" },
		{ "\xc0\xaf", "description is not valid UTF-8 (at byte 0)" },
		{ "\xc1\xbf", "description is not valid UTF-8 (at byte 0)" },
		{ "\xe0\x80\xaf", "description is not valid UTF-8 (at byte 0)" },
		{ "\xf0\x80\x80\xaf", "description is not valid UTF-8 (at byte 0)" },
		{ "\xed\xa0\x80", "description is not valid UTF-8 (at byte 0)" },
		{ "\xf4\x90\x80\x80", "description is not valid UTF-8 (at byte 0)" },
		{ "\xf8\x88\x80\x80\x80", "description is not valid UTF-8 (at byte 0)" },
	};
	char reason[160], s[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		strcpy(reason, "junk");
		ret = omt_description_check(cases[i].s, 512, reason, sizeof(reason));
		if (!cases[i].reason && (ret || reason[0]))
			fail_msg("#%zu refused: %d \"%s\"", i, ret, reason);
		if (cases[i].reason && ret != -EINVAL)
			fail_msg("#%zu accepted, expected \"%s\"", i, cases[i].reason);
		if (cases[i].reason && strcmp(reason, cases[i].reason))
			fail_msg("#%zu: \"%s\", expected \"%s\"", i, reason, cases[i].reason);
	}

	memset(s, 'a', 512);
	s[512] = '\0';
	assert_int_equal(omt_description_check(s, 512, reason, sizeof(reason)), 0);
	s[512] = 'a';
	s[513] = '\0';
	assert_int_equal(omt_description_check(s, 512, reason, sizeof(reason)), -EINVAL);
	assert_string_equal(reason, "description is 513 bytes, over 512");
	memset(s, 'a', 600);
	s[599] = '\0';
	assert_int_equal(omt_description_check(s, 1, reason, sizeof(reason)), -EINVAL);
	assert_string_equal(reason, "description is 599 bytes, over 1");
	/* The length counts bytes, not characters. */
	assert_int_equal(omt_description_check("\xc3\xa9", 1, reason, sizeof(reason)), -EINVAL);
	assert_string_equal(reason, "description is 2 bytes, over 1");
	assert_int_equal(omt_description_check("", 512, NULL, 0), -EINVAL);
	assert_int_equal(omt_description_check("ok", 512, NULL, 0), 0);
}

static int cmp(const void *a, const void *b)
{
	return omt_queue_cmp(a, b);
}

static void test_owner(void **state)
{
	static const char text[] = "[provider]\nlisten = 127.0.0.1:7360\nkey = /k\naudit_log = /a\n"
		"owner_priority = Pause\nowner_idle_s = 5\nowner_source = cpu\n"
		"power_cap_vm_w = 20\npower_cap_total_w = 65\n"
		"[network \"default\"]\n[network \"batch\"]\nowner_priority = checkpoint\n"
		"[consumer \"" K1 "\"]\nallow = yes\n"
		"[consumer \"" K2 "\"]\nallow = yes\nnetwork = batch\n";
	struct omt_job_ask ask = { k1, "x", 1, 64, 1, PUBLIC_EP, &no_host };
	struct omt_policy_cfg c;
	struct omt_decision d;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(GOOD, &c, err, sizeof(err)), 0);
	assert_int_equal(c.owner_priority, OMT_OWNER_IDLE);
	assert_int_equal(c.owner_idle_s, 60);
	assert_string_equal(c.owner_source, "auto");
	assert_int_equal(c.power_cap_vm_w + c.power_cap_total_w, 0);
	omt_policy_free(&c);

	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.owner_idle_s, 5);
	assert_string_equal(c.owner_source, "cpu");
	assert_int_equal(c.power_cap_vm_w, 20);
	assert_int_equal(c.power_cap_total_w, 65);
	/* The network's own, else the provider's. */
	assert_int_equal(omt_policy_decide(&c, &ask, 0, &d), 0);
	assert_true(d.admit);
	assert_string_equal(omt_owner_priority_word(d.owner_priority), "pause");
	ask.consumer_key = k2;
	assert_int_equal(omt_policy_decide(&c, &ask, 0, &d), 0);
	assert_string_equal(omt_owner_priority_word(d.owner_priority), "checkpoint");
	omt_policy_free(&c);

	assert_int_equal(parse(PROVIDER "owner_priority = nap\n" NETDEF CONS1, &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "policy.ini:5: owner_priority must be idle, pause, checkpoint or "
				 "kill: 'nap'");
	assert_int_equal(parse(PROVIDER "owner_source = mouse\n" NETDEF CONS1, &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "policy.ini:5: owner_source must be auto, logind, input or cpu: "
				 "'mouse'");
	assert_int_equal(parse(PROVIDER "owner_idle_s = 0\n" NETDEF CONS1, &c, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(parse(GOOD "[network \"x\"]\nowner_priority = kill\nowner_idle_s = 1\n", &c,
			       err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "policy.ini:11: unknown key 'owner_idle_s' in [network]");
}

static void test_queue_order(void **state)
{
	struct omt_queue_key q[] = {
		{ 0, 0, 1 }, { 0, 10, 2 }, { 5, -3, 3 }, { -2, 100, 4 }, { 5, -3, 5 },
		{ 0, 10, 6 }, { 5, 0, 7 }, { 0, 0, 8 }, { -2, 100, 0 }, { 1000, -1000, 9 },
		{ 0, 0, UINT64_MAX }, { 0, 0, 10 },
	};
	static const uint64_t want[] = { 9, 7, 3, 5, 2, 6, 1, 8, 10, UINT64_MAX, 0, 4 };
	struct omt_queue_key a = { 1, 1, 1 }, b = a;
	size_t i;

	(void)state;
	qsort(q, sizeof(q) / sizeof(q[0]), sizeof(q[0]), cmp);
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (q[i].seq != want[i])
			fail_msg("position %zu: seq %llu, expected %llu", i,
				 (unsigned long long)q[i].seq, (unsigned long long)want[i]);
	assert_int_equal(omt_queue_cmp(&a, &b), 0);
	/* Extremes do not overflow a subtraction. */
	a = (struct omt_queue_key){ INT32_MIN, 0, 0 };
	b = (struct omt_queue_key){ INT32_MAX, 0, 0 };
	assert_true(omt_queue_cmp(&a, &b) > 0);
	assert_true(omt_queue_cmp(&b, &a) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_storage),
		cmocka_unit_test(test_no_name),
		cmocka_unit_test(test_short_err_buffer),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_description),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_queue_order),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
