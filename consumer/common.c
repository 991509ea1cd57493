// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What 'omerta submit' and 'omerta swarm' both do: options, keys, the tunnel's addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

#include "../api/keys.h"
#include "../lib/text.h"
#include "../vpn/wg.h"
#include "cli.h"
#include "http.h"

#define REFUSAL_SHOWN_MAX 300	/* characters of a provider's reason */

int cli_parse_uint(const char *verb, const char *opt, const char *s, unsigned int lo,
		   unsigned int hi, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "%s: %s must be a number from %u to %u: '%s'\n", verb, opt, lo, hi,
			s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int cli_local_ip_towards(const uint8_t ip[4], uint16_t port, uint8_t out[4])
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) }, me;
	socklen_t len = sizeof(me);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), e = 0;

	memcpy(&to.sin_addr, ip, 4);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&to, sizeof(to)) < 0 ||
	    getsockname(s, (struct sockaddr *)&me, &len) < 0)
		e = -errno;
	else
		memcpy(out, &me.sin_addr, 4);
	close(s);
	return e;
}

int cli_pick_subnet(uint8_t *x)
{
	struct ifaddrs *ifa, *i;
	int tries, used;
	uint8_t r;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (tries = 0; tries < 64; tries++) {
		if (getrandom(&r, 1, 0) != 1)
			break;
		used = 0;
		for (i = ifa; i && !used; i = i->ifa_next) {
			const uint8_t *a;

			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			a = (const uint8_t *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			used = a[0] == 10 && a[1] == 77 && a[2] == r;
		}
		if (!used) {
			freeifaddrs(ifa);
			*x = r;
			return 0;
		}
	}
	freeifaddrs(ifa);
	return -EADDRINUSE;
}

void cli_refusal_text(const struct cli_resp *r, char *buf, size_t size)
{
	json_object *o = r->body ? json_tokener_parse(r->body) : NULL, *e = NULL;
	const char *how = r->unverified ? " (unsigned: refused without verifying it)" : "";
	char shown[OMT_QUOTE_SIZE(REFUSAL_SHOWN_MAX)];

	/* The provider's words, escaped: they go to a terminal. */
	if (o && json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string))
		snprintf(buf, size, "HTTP %ld%s: %s", r->status, how,
			 omt_quote_mem(shown, json_object_get_string(e), json_object_get_string_len(e),
				       REFUSAL_SHOWN_MAX, 0));
	else
		snprintf(buf, size, "HTTP %ld%s", r->status, how);
	json_object_put(o);
}

int cli_load_identity(const char *verb, const char *identity, struct cli_http *h)
{
	char err[600], idpath[600];
	int e;

	if (sodium_init() < 0 || cli_http_init())
		return OMT_EXIT_FAIL;
	if (!h->have_provider &&
	    (e = cli_config_path("known_providers", h->known_file, sizeof(h->known_file)))) {
		fprintf(stderr, "%s: no config directory: %s\n", verb, strerror(-e));
		return OMT_EXIT_FAIL;
	}
	if (!identity) {
		if ((e = cli_config_path("identity", idpath, sizeof(idpath)))) {
			fprintf(stderr, "%s: no config directory: %s\n", verb, strerror(-e));
			return OMT_EXIT_FAIL;
		}
		identity = idpath;
	}
	if (omt_key_load(identity, h->sk, h->pk, err, sizeof(err))) {
		fprintf(stderr, "%s: %s (create one with 'omerta keygen')\n", verb, err);
		return OMT_EXIT_FAIL;
	}
	return 0;
}

void cli_catch_signals(void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int cli_tunnel_create(const char *verb, const char *prefix, char ifname[16], struct omt_wg_dev *d)
{
	uint8_t r4[4];
	int e;

	if (getrandom(r4, 4, 0) != 4)
		return -1;
	snprintf(ifname, 16, "%s%02x%02x%02x%02x", prefix, r4[0], r4[1], r4[2], r4[3]);
	if ((e = omt_wg_up(ifname, d))) {
		fprintf(stderr, "%s: WireGuard interface %s: %s\n", verb, ifname, strerror(-e));
		return -1;
	}
	return 0;
}
