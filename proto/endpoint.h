/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which addresses a job's VPN endpoint may be: the one place that says so,
 * read by the daemon's policy when it admits a job (policy/decide.c) and by
 * exec before the VM starts (exec is also run by hand). Pure: the host's
 * addresses are read by the caller (host/vmnet.h).
 *
 * Never, whatever the policy says:
 *   the host's own addresses, and its networks' broadcast addresses (the
 *     host takes what is sent there as its own);
 *   0.0.0.0/8, loopback 127.0.0.0/8, the VMs' network (OMT_VM_NET_*),
 *   link-local 169.254.0.0/16, multicast 224.0.0.0/4, 240.0.0.0/4 and
 *   255.255.255.255.
 * Only inside a CIDR that the job's network lists (`endpoints` in the
 * policy's [network "NAME"]): the private and shared ranges 10.0.0.0/8,
 * 172.16.0.0/12, 192.168.0.0/16 (RFC 1918), 100.64.0.0/10 (RFC 6598) and
 * 198.18.0.0/15 (RFC 2544).
 * Any other address: yes.
 */
#ifndef OMERTA_ENDPOINT_H
#define OMERTA_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/parse.h"	/* struct omt_cidr4 */

/* The VMs' network, 10.213.0.0/16: each VM has a /24 of it (host/vmnet.h). */
#define OMT_VM_NET_A 10
#define OMT_VM_NET_B 213
#define OMT_VM_NET_PREFIX 16

struct omt_endpoint_range {
	struct omt_cidr4 cidr;
	const char *is;		/* "a loopback address": "endpoint IP is <is> (CIDR)" */
	int private;		/* 1: open where `endpoints` lists it; 0: never */
};

/* The range of the rules above that holds ip, the never-ones first; NULL: none does. */
const struct omt_endpoint_range *omt_endpoint_range_of(const uint8_t ip[4]);

/* This host's addresses, as the caller read them. */
struct omt_host_addrs {
	uint8_t (*local)[4];	/* every interface's own */
	size_t n_local;
	uint8_t (*brd)[4];	/* its networks' broadcast addresses */
	size_t n_brd;
};

void omt_host_addrs_free(struct omt_host_addrs *h);

/*
 * The rules no policy opens: ip is not one of host's addresses, nor in a
 * range refused always. 0, or -EPERM with the reason in reason (NULL: not
 * wanted), e.g. "endpoint 192.0.2.5 is one of this host's addresses" or
 * "endpoint 127.0.0.1 is a loopback address (127.0.0.0/8)".
 */
int omt_endpoint_check_host(const uint8_t ip[4], const struct omt_host_addrs *host,
			    char *reason, size_t len);

/*
 * All the rules: omt_endpoint_check_host, then a private or shared range
 * only inside one of the n_allowed CIDRs of network's `endpoints`. 0, or
 * -EPERM with the reason, e.g. "endpoint 10.1.2.3 is in a private range
 * (10.0.0.0/8): network \"lan\" does not allow it (endpoints = ...)".
 */
int omt_endpoint_check(const uint8_t ip[4], const struct omt_host_addrs *host,
		       const char *network, const struct omt_cidr4 *allowed, size_t n_allowed,
		       char *reason, size_t len);

#endif
