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

#include "../../vpn/wgconf.h"

#define PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define PSK "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="
/* Lines 1-3 and 4-7. */
#define IFACE "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.202.0.2/24\n"
#define PEER "[Peer]\nPublicKey = " PUB "\nEndpoint = 10.201.1.2:51820\n" \
	"AllowedIPs = 10.202.0.0/24\n"
#define GOOD IFACE PEER

static const uint8_t pub[32] = {
	0xc5, 0x32, 0x01, 0x03, 0x9a, 0xdb, 0xa1, 0x4b, 0xe7, 0x1f, 0x88, 0x6d, 0xa1, 0xd8, 0xdb, 0xe9,
	0xee, 0xbd, 0xed, 0x08, 0xcb, 0x11, 0x1b, 0x75, 0x34, 0x00, 0x78, 0x99, 0x9a, 0xa9, 0xf0, 0x38,
};

static int parse(const char *conf, struct omt_wgconf *c, char *err, size_t errlen)
{
	return omt_wgconf_parse(conf, strlen(conf), c, err, errlen);
}

static void assert_cidr(const struct omt_wg_cidr *c, uint8_t a, uint8_t b, uint8_t d,
			uint8_t e, uint8_t prefix)
{
	const uint8_t want[4] = { a, b, d, e };

	assert_memory_equal(c->ip, want, 4);
	assert_int_equal(c->prefix, prefix);
}

static void test_minimal(void **state)
{
	struct omt_wgconf c;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(GOOD, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.private_key[0], 0xc8);
	assert_int_equal(c.private_key[31], 0x69);
	assert_memory_equal(c.peer_public_key, pub, 32);
	assert_cidr(&c.address, 10, 202, 0, 2, 24);
	assert_int_equal(c.listen_port, 0);
	assert_int_equal(c.mtu, 0);
	assert_int_equal(c.has_preshared_key, 0);
	assert_int_equal(c.endpoint_ip[0], 10);
	assert_int_equal(c.endpoint_ip[1], 201);
	assert_int_equal(c.endpoint_ip[2], 1);
	assert_int_equal(c.endpoint_ip[3], 2);
	assert_int_equal(c.endpoint_port, 51820);
	assert_int_equal(c.n_allowed_ips, 1);
	assert_cidr(&c.allowed_ips[0], 10, 202, 0, 0, 24);
	assert_int_equal(c.persistent_keepalive, 0);
	/* Sections in the other order. */
	assert_int_equal(parse(PEER IFACE, &c, err, sizeof(err)), 0);
	/* err may be NULL. */
	assert_int_equal(parse(GOOD, &c, NULL, 0), 0);
}

static void test_full(void **state)
{
	static const char conf[] =
		"\xef\xbb\xbf# A config saved on Windows\r\n"
		"\r\n"
		"[interface]   # inline comment\r\n"
		"  privatekey\t=\t" PRIV "  \r\n"
		"ADDRESS = 10.202.0.2\r\n"
		"ListenPort = 51821\r\n"
		"mtu = 1380\r\n"
		"DNS = 10.202.0.1, 1.1.1.1\r\n"
		"DNS = 9.9.9.9\r\n"
		"Table = off\r\n"
		"SaveConfig = true\r\n"
		"FwMark = 0x1234\r\n"
		"#PostUp = rm -rf /\r\n"
		"[PEER]\r\n"
		"PublicKey=" PUB "\r\n"
		"PresharedKey = " PSK "\r\n"
		"endpoint = 10.201.1.2:51820\r\n"
		"AllowedIPs = 10.202.0.0/24,10.202.1.1/32 , 192.168.7.200/20\r\n"
		"allowedips = 0.0.0.0/0 # default route\r\n"
		"AllowedIPs = 172.16.0.9\r\n"
		"PersistentKeepalive = 25";
	struct omt_wgconf c;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(conf, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_cidr(&c.address, 10, 202, 0, 2, 32);
	assert_int_equal(c.listen_port, 51821);
	assert_int_equal(c.mtu, 1380);
	assert_memory_equal(c.peer_public_key, pub, 32);
	assert_int_equal(c.has_preshared_key, 1);
	assert_int_equal(c.preshared_key[0], 0x16);
	assert_int_equal(c.endpoint_port, 51820);
	assert_int_equal(c.n_allowed_ips, 5);
	assert_cidr(&c.allowed_ips[0], 10, 202, 0, 0, 24);
	assert_cidr(&c.allowed_ips[1], 10, 202, 1, 1, 32);
	/* Host bits cleared, as wg does. */
	assert_cidr(&c.allowed_ips[2], 192, 168, 0, 0, 20);
	assert_cidr(&c.allowed_ips[3], 0, 0, 0, 0, 0);
	assert_cidr(&c.allowed_ips[4], 172, 16, 0, 9, 32);
	assert_int_equal(c.persistent_keepalive, 25);

	assert_int_equal(parse(GOOD "PersistentKeepalive = OFF\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.persistent_keepalive, 0);
	assert_int_equal(parse(IFACE "ListenPort = 0\nMTU = 68\n" PEER, &c, err, sizeof(err)), 0);
	assert_int_equal(c.mtu, 68);
}

/* Only len bytes are read: what follows (here the rest of a bad config) is not. */
static void test_not_nul_terminated(void **state)
{
	static const char conf[] = GOOD "PostUp = reboot\n";
	struct omt_wgconf c;
	char *copy;

	(void)state;
	copy = malloc(strlen(GOOD));
	assert_non_null(copy);
	memcpy(copy, conf, strlen(GOOD));
	assert_int_equal(omt_wgconf_parse(copy, strlen(GOOD), &c, NULL, 0), 0);
	assert_int_equal(omt_wgconf_parse(conf, strlen(conf), &c, NULL, 0), -EINVAL);
	free(copy);
}

static void test_limits(void **state)
{
	char conf[8192], err[256];
	struct omt_wgconf c;
	int i;

	(void)state;
	/* 16 AllowedIPs fit, the 17th does not. */
	snprintf(conf, sizeof(conf), "%sAllowedIPs = 10.1.0.0/16", GOOD);
	for (i = 1; i < 15; i++)
		snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), ", 10.1.%d.0/24", i);
	strcat(conf, "\n");
	assert_int_equal(parse(conf, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_allowed_ips, 16);
	strcat(conf, "AllowedIPs = 10.9.9.9/32\n");
	assert_int_equal(parse(conf, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 9: AllowedIPs: more than 16, at '10.9.9.9/32'");

	/* A line of OMT_WGCONF_MAX_LINE bytes is fine, one more is not. */
	strcpy(conf, GOOD "#");
	memset(conf + strlen(conf), 'x', OMT_WGCONF_MAX_LINE - 1);
	conf[strlen(GOOD) + OMT_WGCONF_MAX_LINE] = '\0';
	assert_int_equal(parse(conf, &c, err, sizeof(err)), 0);
	strcat(conf, "x\n");
	assert_int_equal(parse(conf, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 8: line longer than 4096 bytes");
}

static void test_nul_byte(void **state)
{
	static const char conf[] = GOOD "Persistent\0Keepalive = 5\n";
	struct omt_wgconf c;
	char err[256];

	(void)state;
	assert_int_equal(omt_wgconf_parse(conf, sizeof(conf) - 1, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 8: line contains a NUL byte");
}

static const struct {
	const char *conf;
	const char *err;
} bad[] = {
	{ "", "no [Interface] section" },
	{ "# nothing\n\n", "no [Interface] section" },
	{ IFACE, "no [Peer] section" },
	{ PEER, "no [Interface] section" },
	{ "[Interface]\nAddress = 10.0.0.2/24\n" PEER, "line 1: [Interface] has no PrivateKey" },
	{ "[Interface]\nPrivateKey = " PRIV "\n" PEER, "line 1: [Interface] has no Address" },
	{ IFACE "[Peer]\nEndpoint = 10.201.1.2:51820\nAllowedIPs = 10.202.0.0/24\n",
	  "line 4: [Peer] has no PublicKey" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nAllowedIPs = 10.202.0.0/24\n",
	  "line 4: [Peer] has no Endpoint" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = 10.201.1.2:51820\n",
	  "line 4: [Peer] has no AllowedIPs" },
	/* Sections */
	{ GOOD "[Peer]\n", "line 8: a second [Peer] (the first is on line 4): the VM talks to exactly one peer" },
	{ GOOD "[interface]\n", "line 8: a second [Interface] (the first is on line 1)" },
	{ GOOD "[Peers]\n", "line 8: unknown section '[Peers]'" },
	{ GOOD "[ Peer ]\n", "line 8: unknown section '[ Peer ]'" },
	{ GOOD "[Peer\n", "line 8: unknown section '[Peer'" },
	{ "PrivateKey = " PRIV "\n" GOOD,
	  "line 1: PrivateKey comes before any section; it belongs in [Interface]" },
	{ IFACE "Endpoint = 10.0.0.1:1\n" PEER, "line 4: Endpoint belongs in [Peer], not in [Interface]" },
	{ GOOD "Address = 10.0.0.1/24\n", "line 8: Address belongs in [Interface], not in [Peer]" },
	/* Lines and keys */
	{ GOOD "Foo = bar\n", "line 8: unknown key 'Foo' in [Peer]" },
	{ "Foo = bar\n" GOOD, "line 1: unknown key 'Foo'" },
	{ GOOD "Keepalive\n", "line 8: expected 'Key = Value' or a [Section]: 'Keepalive'" },
	{ GOOD " = 5\n", "line 8: no key before '='" },
	{ GOOD "PublicKey = " PUB "\n", "line 8: PublicKey is given twice (first on line 5)" },
	{ IFACE "PRIVATEKEY = " PRIV "\n" PEER, "line 4: PrivateKey is given twice (first on line 2)" },
	{ IFACE "PrivateKey = " PRIV "\n" PEER, "line 4: PrivateKey is given twice (first on line 2)" },
	{ GOOD "Endpoint = 10.0.0.1:1\n", "line 8: Endpoint is given twice (first on line 6)" },
	{ IFACE "ListenPort = 1\nlistenport = 2\n" PEER, "line 5: ListenPort is given twice (first on line 4)" },
	{ GOOD "PersistentKeepalive = 1\nPersistentKeepalive = 2\n",
	  "line 9: PersistentKeepalive is given twice (first on line 8)" },
	{ GOOD "PresharedKey = " PSK "\nPresharedKey = " PSK "\n",
	  "line 9: PresharedKey is given twice (first on line 8)" },
	/* Shell commands */
	{ IFACE "PreUp = true\n" PEER, "line 4: PreUp is a shell command, which Omerta never runs: remove it" },
	{ IFACE "postup = iptables -F\n" PEER, "line 4: PostUp is a shell command" },
	{ IFACE "PreDown = x\n" PEER, "line 4: PreDown is a shell command" },
	{ IFACE "PostDown = x\n" PEER, "line 4: PostDown is a shell command" },
	/* Keys */
	{ "[Interface]\nPrivateKey = AAAA\nAddress = 10.0.0.2/24\n" PEER,
	  "line 2: PrivateKey is not a base64 32-byte key" },
	{ "[Interface]\nPrivateKey =\nAddress = 10.0.0.2/24\n" PEER,
	  "line 2: PrivateKey is not a base64 32-byte key" },
	{ "[Interface]\nPrivateKey = " PRIV "AAAA\nAddress = 10.0.0.2/24\n" PEER,
	  "line 2: PrivateKey is not a base64 32-byte key" },
	{ "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk\nAddress = 10.0.0.2/24\n" PEER,
	  "line 2: PrivateKey is not a base64 32-byte key" },
	{ "[Interface]\nPrivateKey = yAnz5TF-lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nAddress = 10.0.0.2/24\n" PEER,
	  "line 2: PrivateKey is not a base64 32-byte key" },
	{ "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmn=\nAddress = 10.0.0.2/24\n" PEER,
	  "line 2: PrivateKey is not a base64 32-byte key" },
	{ IFACE "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D=\n",
	  "line 5: PublicKey is not a base64 32-byte key: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D='" },
	{ IFACE "[Peer]\nPublicKey = secret\n", "line 5: PublicKey is not a base64 32-byte key: 'secret'" },
	{ GOOD "PresharedKey = " PSK "x\n", "line 8: PresharedKey is not a base64 32-byte key" },
	/* Address */
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = fd00::2/64\n" PEER,
	  "line 3: Address: IPv6 is not supported: 'fd00::2/64'" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2/24, fd00::2/64\n" PEER,
	  "line 3: Address: IPv6 is not supported: 'fd00::2/64'" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2/24,10.0.0.3/24\n" PEER,
	  "line 3: Address: one IPv4 address only, this is a second one: '10.0.0.3/24'" },
	{ IFACE "Address = 10.0.0.3/24\n" PEER,
	  "line 4: Address: one IPv4 address only, this is a second one: '10.0.0.3/24'" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2/24,\n" PEER,
	  "line 3: Address has an empty entry" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress =\n" PEER, "line 3: Address has an empty entry" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.256/24\n" PEER,
	  "line 3: Address is not an IPv4 address/prefix: '10.0.0.256/24'" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2/33\n" PEER,
	  "line 3: Address is not an IPv4 address/prefix: '10.0.0.2/33'" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2/\n" PEER,
	  "line 3: Address is not an IPv4 address/prefix: '10.0.0.2/'" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2/+8\n" PEER,
	  "line 3: Address is not an IPv4 address/prefix: '10.0.0.2/+8'" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2/24/24\n" PEER,
	  "line 3: Address is not an IPv4 address/prefix: '10.0.0.2/24/24'" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2 /24\n" PEER,
	  "line 3: Address is not an IPv4 address/prefix: '10.0.0.2 /24'" },
	{ "[Interface]\nPrivateKey = " PRIV "\nAddress = vpn.example.com\n" PEER,
	  "line 3: Address is not an IPv4 address/prefix: 'vpn.example.com'" },
	/* AllowedIPs */
	{ GOOD "AllowedIPs = ::/0\n", "line 8: AllowedIPs: IPv6 is not supported: '::/0'" },
	{ GOOD "AllowedIPs = 0.0.0.0/0, ::/0\n", "line 8: AllowedIPs: IPv6 is not supported: '::/0'" },
	{ GOOD "AllowedIPs =\n", "line 8: AllowedIPs has an empty entry" },
	{ GOOD "AllowedIPs = 10.0.0.0/8,,10.1.0.0/16\n", "line 8: AllowedIPs has an empty entry" },
	{ GOOD "AllowedIPs = 10.0.0/8\n", "line 8: AllowedIPs is not an IPv4 address/prefix: '10.0.0/8'" },
	{ GOOD "AllowedIPs = 10.0.0.0/-8\n", "line 8: AllowedIPs is not an IPv4 address/prefix: '10.0.0.0/-8'" },
	{ GOOD "AllowedIPs = 10.0.0.0/99999999999999999999\n",
	  "line 8: AllowedIPs is not an IPv4 address/prefix: '10.0.0.0/99999999999999999999'" },
	/* Endpoint */
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = example.com:51820\n",
	  "line 6: Endpoint must be a literal IPv4:PORT, not a host name (no DNS): 'example.com:51820'" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = vpn1:51820\n",
	  "line 6: Endpoint must be a literal IPv4:PORT, not a host name (no DNS): 'vpn1:51820'" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = [fd00::1]:51820\n",
	  "line 6: Endpoint: IPv6 is not supported: '[fd00::1]:51820'" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = fd00::1:51820\n",
	  "line 6: Endpoint: IPv6 is not supported: 'fd00::1:51820'" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = 10.201.1.2\n",
	  "line 6: Endpoint is not IPv4:PORT: '10.201.1.2'" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = 10.201.1.2:0\n",
	  "line 6: Endpoint is not IPv4:PORT: '10.201.1.2:0'" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = 10.201.1.2:65536\n",
	  "line 6: Endpoint is not IPv4:PORT: '10.201.1.2:65536'" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = 10.201.1:51820\n",
	  "line 6: Endpoint is not IPv4:PORT: '10.201.1:51820'" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint =\n", "line 6: Endpoint is not IPv4:PORT: ''" },
	/* Numbers */
	{ IFACE "ListenPort = 65536\n" PEER, "line 4: ListenPort is not a number from 0 to 65535: '65536'" },
	{ IFACE "ListenPort = -1\n" PEER, "line 4: ListenPort is not a number from 0 to 65535: '-1'" },
	{ IFACE "ListenPort = 0x50\n" PEER, "line 4: ListenPort is not a number from 0 to 65535: '0x50'" },
	{ IFACE "ListenPort =\n" PEER, "line 4: ListenPort is not a number from 0 to 65535: ''" },
	{ IFACE "MTU = 0\n" PEER, "line 4: MTU is not a number from 68 to 65535: '0'" },
	{ IFACE "MTU = 67\n" PEER, "line 4: MTU is not a number from 68 to 65535: '67'" },
	{ IFACE "MTU = 1420 bytes\n" PEER, "line 4: MTU is not a number from 68 to 65535: '1420 bytes'" },
	{ GOOD "PersistentKeepalive = 65536\n",
	  "line 8: PersistentKeepalive is not a number from 0 to 65535: '65536'" },
	{ GOOD "PersistentKeepalive = on\n",
	  "line 8: PersistentKeepalive is not a number from 0 to 65535: 'on'" },
	{ GOOD "PersistentKeepalive = 4294967321\n",
	  "line 8: PersistentKeepalive is not a number from 0 to 65535: '4294967321'" },
	/* What is shown: escaped, cut, and never a key */
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = \x1b[31mred:1\n",
	  "line 6: Endpoint must be a literal IPv4:PORT, not a host name (no DNS): '\\x1b[31mred:1'" },
	{ GOOD "Persistent\\Keepalive\xff = 1\n", "line 8: unknown key 'Persistent\\x5cKeepalive\\xff'" },
	{ IFACE "[Peer]\nPublicKey = " PUB "\nEndpoint = "
	  "10.0.0.1:1111111111111111111111111111111111111111111111111111111111111111111\n",
	  "line 6: Endpoint is not IPv4:PORT: "
	  "'10.0.0.1:1111111111111111111111111111111111111111111111111111111...'" },
	{ IFACE PRIV "\n" PEER, "line 4: unknown key (43 characters, not shown)" },
	{ IFACE "PrivateKey: " PRIV "\n" PEER, "line 4: unknown key (55 characters, not shown)" },
	{ IFACE "[" PRIV "]\n" PEER, "line 4: unknown section (46 characters, not shown)" },
	{ IFACE "Private Key: yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk\n" PEER,
	  "line 4: expected 'Key = Value' or a [Section]: (56 characters, not shown)" },
};

static void test_errors(void **state)
{
	struct omt_wgconf c;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(err, 0, sizeof(err));
		if (parse(bad[i].conf, &c, err, sizeof(err)) != -EINVAL)
			fail_msg("#%zu accepted, expected \"%s\"", i, bad[i].err);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)))
			fail_msg("#%zu: \"%s\", expected \"%s\"", i, err, bad[i].err);
		if (strchr(err, '\n') || strchr(err, '\x1b'))
			fail_msg("#%zu: not one clean line: \"%s\"", i, err);
		if (strstr(err, "yAnz5TF") || strstr(err, "FpCyhws9"))
			fail_msg("#%zu: a secret key in \"%s\"", i, err);
	}
}

static void test_wiped_on_error(void **state)
{
	static const uint8_t zero[sizeof(struct omt_wgconf)];
	struct omt_wgconf c;

	(void)state;
	assert_int_equal(parse(GOOD "Foo = 1\n", &c, NULL, 0), -EINVAL);
	assert_memory_equal(&c, zero, sizeof(c));
}

static void test_short_err_buffer(void **state)
{
	struct omt_wgconf c;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(parse(GOOD "Foo = 1\n", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 8:");
	err[0] = 'x';
	assert_int_equal(parse(GOOD "Foo = 1\n", &c, err, 0), -EINVAL);
	assert_int_equal(err[0], 'x');
}

static char *write_tmp(const char *text, size_t len)
{
	char *path = strdup("/tmp/wgconf_test.XXXXXX");
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
	struct omt_wgconf c;

	(void)state;
	path = write_tmp(GOOD, strlen(GOOD));
	assert_int_equal(omt_wgconf_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.endpoint_port, 51820);
	unlink(path);
	free(path);

	path = write_tmp(IFACE "PostUp = reboot\n" PEER, strlen(IFACE "PostUp = reboot\n" PEER));
	assert_int_equal(omt_wgconf_load(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: PostUp is a shell command, which Omerta never runs: "
		 "remove it", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	path = write_tmp(IFACE, strlen(IFACE));
	assert_int_equal(omt_wgconf_load(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: no [Peer] section", path);
	assert_string_equal(err, want);

	/* The same name, now missing. */
	unlink(path);
	assert_int_equal(omt_wgconf_load(path, &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	free(path);

	assert_int_equal(omt_wgconf_load("/tmp", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/tmp: not a regular file");

	/* Exactly 64 KiB is read, one byte more is refused. */
	big = malloc(OMT_WGCONF_MAX_FILE + 1);
	assert_non_null(big);
	memset(big, '\n', OMT_WGCONF_MAX_FILE + 1);
	memcpy(big, GOOD, strlen(GOOD));
	path = write_tmp(big, OMT_WGCONF_MAX_FILE);
	assert_int_equal(omt_wgconf_load(path, &c, err, sizeof(err)), 0);
	unlink(path);
	free(path);
	path = write_tmp(big, OMT_WGCONF_MAX_FILE + 1);
	assert_int_equal(omt_wgconf_load(path, &c, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 64 KiB", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);
	free(big);
}

static void test_clear(void **state)
{
	static const uint8_t zero[sizeof(struct omt_wgconf)];
	struct omt_wgconf c;

	(void)state;
	assert_int_equal(parse(GOOD, &c, NULL, 0), 0);
	omt_wgconf_clear(&c);
	assert_memory_equal(&c, zero, sizeof(c));
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
		cmocka_unit_test(test_wiped_on_error),
		cmocka_unit_test(test_short_err_buffer),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_clear),
	};

	return cmocka_run_group_tests_name("wgconf", tests, NULL, NULL);
}
