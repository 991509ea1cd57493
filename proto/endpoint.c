// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/text.h"
#include "endpoint.h"

/* Searched in order: the broadcast address before the 240.0.0.0/4 it is in,
 * the VMs' network before the 10.0.0.0/8 it is in. */
static const struct omt_endpoint_range ranges[] = {
	{ { { 0, 0, 0, 0 }, 8 }, "a \"this network\" address", 0 },
	{ { { 127, 0, 0, 0 }, 8 }, "a loopback address", 0 },
	{ { { OMT_VM_NET_A, OMT_VM_NET_B, 0, 0 }, OMT_VM_NET_PREFIX }, "in the VMs' network", 0 },
	{ { { 169, 254, 0, 0 }, 16 }, "a link-local address", 0 },
	{ { { 224, 0, 0, 0 }, 4 }, "a multicast address", 0 },
	{ { { 255, 255, 255, 255 }, 32 }, "the broadcast address", 0 },
	{ { { 240, 0, 0, 0 }, 4 }, "a reserved address", 0 },
	{ { { 10, 0, 0, 0 }, 8 }, "in a private range", 1 },
	{ { { 172, 16, 0, 0 }, 12 }, "in a private range", 1 },
	{ { { 192, 168, 0, 0 }, 16 }, "in a private range", 1 },
	{ { { 100, 64, 0, 0 }, 10 }, "in the shared address space", 1 },
	{ { { 198, 18, 0, 0 }, 15 }, "in the benchmarking range", 1 },
};

const struct omt_endpoint_range *omt_endpoint_range_of(const uint8_t ip[4])
{
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (omt_cidr4_has(&ranges[i].cidr, ip))
			return &ranges[i];
	return NULL;
}

void omt_host_addrs_free(struct omt_host_addrs *h)
{
	free(h->local);
	free(h->brd);
	memset(h, 0, sizeof(*h));
}

static int listed(const uint8_t (*list)[4], size_t n, const uint8_t ip[4])
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!memcmp(list[i], ip, 4))
			return 1;
	return 0;
}

/* "endpoint IP is RANGE (CIDR)" */
static int refuse_range(const uint8_t ip[4], const struct omt_endpoint_range *r, char *reason,
			size_t len)
{
	const uint8_t *c = r->cidr.ip;

	omt_errf(reason, len, "endpoint %u.%u.%u.%u is %s (%u.%u.%u.%u/%u)", ip[0], ip[1], ip[2],
		 ip[3], r->is, c[0], c[1], c[2], c[3], r->cidr.prefix);
	return -EPERM;
}

int omt_endpoint_check_host(const uint8_t ip[4], const struct omt_host_addrs *host,
			    char *reason, size_t len)
{
	const struct omt_endpoint_range *r = omt_endpoint_range_of(ip);
	const char *mine = NULL;

	if (r && !r->private)
		return refuse_range(ip, r, reason, len);
	if (listed((const uint8_t (*)[4])host->local, host->n_local, ip))
		mine = "one of this host's addresses";
	else if (listed((const uint8_t (*)[4])host->brd, host->n_brd, ip))
		mine = "the broadcast address of one of this host's networks";
	if (mine) {
		omt_errf(reason, len, "endpoint %u.%u.%u.%u is %s", ip[0], ip[1], ip[2], ip[3],
			 mine);
		return -EPERM;
	}
	omt_errf(reason, len, "%s", "");
	return 0;
}

int omt_endpoint_check(const uint8_t ip[4], const struct omt_host_addrs *host,
		       const char *network, const struct omt_cidr4 *allowed, size_t n_allowed,
		       char *reason, size_t len)
{
	const struct omt_endpoint_range *r;
	char is[80];
	size_t i;
	int e;

	if ((e = omt_endpoint_check_host(ip, host, reason, len)))
		return e;
	r = omt_endpoint_range_of(ip);
	if (!r)
		return 0;
	for (i = 0; i < n_allowed; i++)
		if (omt_cidr4_has(&allowed[i], ip))
			return 0;
	refuse_range(ip, r, is, sizeof(is));
	omt_errf(reason, len, "%s: network \"%s\" does not allow it (endpoints = ...)", is,
		 network);
	return -EPERM;
}
